/**
 * Kernel function names from /proc/kallsyms: an fentry or kprobe program whose
 * target function does not exist on this kernel is left out before load (its
 * coverage reported as lost) instead of failing the object.
 *
 * Only the names asked about are remembered: the whole symbol table (over
 * 100,000 names) would cost the agent tens of MiB for its whole life.
 *
 * @module
 */

const known = new Map<string, boolean>();
let unreadable = false;

/**
 * Which of `names` are text symbols (`T`/`t`, modules included) of the
 * running kernel; undefined when /proc/kallsyms cannot be read.
 */
export function kernelFunctionsPresent(names: Iterable<string>): Set<string> | undefined {
  const asked = [...new Set(names)];
  const unknown = new Set(asked.filter((n) => !known.has(n)));
  if (unknown.size > 0 && !unreadable) {
    let text: string;
    try {
      text = Deno.readTextFileSync("/proc/kallsyms");
    } catch {
      // Unreadable: nothing is left out up front; load reports what fails.
      unreadable = true;
      return undefined;
    }
    for (const n of unknown) known.set(n, false);
    scanKallsyms(text, (name) => {
      if (unknown.has(name)) known.set(name, true);
    });
  }
  if (unreadable) return undefined;
  return new Set(asked.filter((n) => known.get(n)));
}

/**
 * Calls `onFunction` with each text symbol of a kallsyms listing
 * (`address type name[\t[module]]` per line).
 */
export function scanKallsyms(text: string, onFunction: (name: string) => void): void {
  for (let i = 0; i < text.length;) {
    let eol = text.indexOf("\n", i);
    if (eol < 0) eol = text.length;
    const sp = text.indexOf(" ", i);
    // The type is one letter between two spaces; the name follows.
    if (sp > i && sp + 3 < eol && text[sp + 2] === " ") {
      const type = text[sp + 1];
      if (type === "T" || type === "t") {
        // Search the line only: most lines have no tab, and a search past the line end
        // would scan on to the module symbols at the end, once per line (minutes, not ms).
        const line = text.slice(sp + 3, eol);
        const tab = line.indexOf("\t");
        onFunction(tab >= 0 ? line.slice(0, tab) : line);
      }
    }
    i = eol + 1;
  }
}

/** The kernel function a program section attaches to (`kprobe/X`, `fexit/X`, ...), if it names one. */
export function sectionTarget(section: string): string | undefined {
  const m = /^\??(kprobe|kretprobe|fentry|fexit)\/(.+)$/.exec(section);
  return m?.[2];
}
