/**
 * The one error type for libbpf failures. Its message names the object, the
 * program or map, the libbpf call, and the errno text, e.g.
 * `load fim-fentry: program exit_write: bpf_object__load: EPERM (Operation not permitted)`.
 *
 * @module
 */

/** What a failed call was about: a program, a map, or something named in words. */
export interface BpfErrorSubject {
  /** The program's name (from the object, not parsed back from a message). */
  program?: string;
  /** The map's name. */
  map?: string;
  /** Anything else worth saying (an attach point, an fd). */
  detail?: string;
}

/** `program NAME (detail)`, `map NAME`, or the detail alone. */
function describe(s: BpfErrorSubject): string | undefined {
  const named = s.program !== undefined
    ? `program ${s.program}`
    : s.map !== undefined
    ? `map ${s.map}`
    : undefined;
  if (named && s.detail) return `${named} (${s.detail})`;
  return named ?? s.detail;
}

/** A failed libbpf call, with everything needed to act on it. */
export class BpfError extends Error {
  /** The program the failure is about, when it is about one. */
  readonly program?: string;
  /** The map the failure is about, when it is about one. */
  readonly map?: string;
  /** What the failure is about, in words (`program NAME`, `map NAME`...), for messages. */
  readonly target?: string;

  constructor(
    /** The BPF object, e.g. `fim-kprobe`. */
    readonly object: string,
    /** The libbpf function that failed. */
    readonly call: string,
    /** Positive errno. */
    readonly errno: number,
    /** errno name and text. */
    readonly errnoText: string,
    /** The program or map the failure is about, when it is about one. */
    subject: BpfErrorSubject = {},
    /** The tail of libbpf's log (verifier output), when there is one. */
    readonly log: string[] = [],
  ) {
    const target = describe(subject);
    const useful = log.filter((l) => !/relo #|CO-RE relocating|sec '|found data sec|elf: /.test(l));
    super(
      `${object}: ${target ? target + ": " : ""}${call}: ${errnoText}` +
        (useful.length ? `\n  ${useful.slice(-6).join("\n  ")}` : ""),
    );
    this.name = "BpfError";
    this.program = subject.program;
    this.map = subject.map;
    this.target = target;
  }
}
