/**
 * The typed libbpf FFI layer: libbpf itself, BPF objects, programs, maps and
 * links, the ring buffer, and errors that name the failing object. Nothing
 * here knows what bpfink's programs do (that is `kernel/`).
 *
 * @module
 */
export { BpfError } from "./bpf_error.ts";
export { BpfLink, BpfMap, BpfObject, BpfProgram } from "./bpf_object.ts";
export { type Libbpf, LibbpfUnavailableError, openLibbpf } from "./libbpf.ts";
export { RingBuffer, type SampleHandler } from "./ring_buffer.ts";
export { RunTimeStats, statsSysctlEnabled } from "./prog_stats.ts";
