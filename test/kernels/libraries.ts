/**
 * Which shared libraries a dynamic ELF needs on this host: its ELF loader
 * (`PT_INTERP`) and what `ldd` resolves, transitively.
 *
 * @module
 */
import { readElf } from "./elf.ts";

/** The host files one ELF needs to run elsewhere, and what could not be found. */
export interface Needed {
  /** Absolute host paths as the loader looks them up (not symlink-resolved). */
  libraries: string[];
  /** `ldd` lines for libraries it could not find, or why ldd failed. */
  missing: string[];
}

/** Parses `ldd` output into library paths and unresolved names. */
export function parseLdd(text: string): Needed {
  const libraries: string[] = [];
  const missing: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (/=>\s*not found/.test(line)) missing.push(line);
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^(\/\S+)\s+\(0x/.exec(line);
    if (m) libraries.push(m[1]);
  }
  return { libraries, missing };
}

/** The loader and libraries `path` needs; empty for a static or non-ELF file. */
export async function librariesOf(path: string): Promise<Needed> {
  const elf = await readElf(path).catch(() => undefined);
  if (!elf || (!elf.dynamic && !elf.interpreter)) return { libraries: [], missing: [] };
  const r = await new Deno.Command("ldd", { args: [path], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(r.stdout);
  if (
    /statically linked|not a dynamic executable/.test(text + new TextDecoder().decode(r.stderr))
  ) {
    return { libraries: [], missing: [] };
  }
  const needed = parseLdd(text);
  if (!r.success) needed.missing.push(`ldd ${path} exited ${r.code}`);
  if (elf.interpreter && !needed.libraries.includes(elf.interpreter)) {
    needed.libraries.push(elf.interpreter);
  }
  return needed;
}
