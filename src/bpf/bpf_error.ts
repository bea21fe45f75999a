/**
 * The one error type for libbpf failures. Its message names the object, the
 * program or map, the libbpf call, and the errno text, e.g.
 * `load fim-fentry: program exit_write: bpf_object__load: EPERM (Operation not permitted)`.
 *
 * @module
 */

/** A failed libbpf call, with everything needed to act on it. */
export class BpfError extends Error {
  constructor(
    /** The BPF object, e.g. `fim-kprobe`. */
    readonly object: string,
    /** The libbpf function that failed. */
    readonly call: string,
    /** Positive errno. */
    readonly errno: number,
    /** errno name and text. */
    readonly errnoText: string,
    /** `program NAME` or `map NAME`, when the failure is about one. */
    readonly target?: string,
    /** The tail of libbpf's log (verifier output), when there is one. */
    readonly log: string[] = [],
  ) {
    const useful = log.filter((l) => !/relo #|CO-RE relocating|sec '|found data sec|elf: /.test(l));
    super(
      `${object}: ${target ? target + ": " : ""}${call}: ${errnoText}` +
        (useful.length ? `\n  ${useful.slice(-6).join("\n  ")}` : ""),
    );
    this.name = "BpfError";
  }
}
