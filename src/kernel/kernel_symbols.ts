/**
 * Kernel function names from /proc/kallsyms, read once: an fentry or kprobe
 * program whose target function does not exist on this kernel is left out
 * before load (its coverage reported as lost) instead of failing the object.
 *
 * @module
 */

let cache: Set<string> | undefined;

/** Names of the kernel's text symbols (empty set when kallsyms is unreadable). */
export function kernelFunctions(): Set<string> {
  if (cache) return cache;
  const names = new Set<string>();
  try {
    for (const line of Deno.readTextFileSync("/proc/kallsyms").split("\n")) {
      const parts = line.split(" ");
      if (parts.length >= 3 && (parts[1] === "T" || parts[1] === "t")) names.add(parts[2]);
    }
  } catch {
    // Unreadable: nothing is left out up front; load reports what fails.
  }
  cache = names;
  return names;
}

/** The kernel function a program section attaches to (`kprobe/X`, `fexit/X`, ...), if it names one. */
export function sectionTarget(section: string): string | undefined {
  const m = /^\??(kprobe|kretprobe|fentry|fexit)\/(.+)$/.exec(section);
  return m?.[2];
}
