/**
 * What the kernel's verifier says it cost to check one program: its
 * statistics log (level 4), read through libbpf's per-program log buffer.
 * For benchmarks and tests of the objects' verification cost; the agent
 * itself never asks for it.
 *
 * @module
 */
import { BpfObject } from "./bpf_object.ts";
import type { Libbpf } from "./libbpf.ts";

/** The kernel's log level that prints the verifier's statistics alone (BPF_LOG_STATS). */
export const LOG_LEVEL_STATS = 4;

/** The verifier's statistics of one program, as its log reports them. */
export interface VerifierStats {
  /** Instructions the verifier processed (walked, counting every path): deterministic. */
  processed: number;
  /** Microseconds the verifier took, when the kernel reports it. */
  timeUs?: number;
  /** States it stored in all, when reported. */
  totalStates?: number;
  /** States it held at most at once, when reported. */
  peakStates?: number;
}

/** Reads the statistics out of a verifier log; undefined when it has no `processed` line. */
export function parseVerifierStats(log: string): VerifierStats | undefined {
  const processed = /processed (\d+) insns/.exec(log);
  if (!processed) return undefined;
  const num = (re: RegExp) => {
    const m = re.exec(log);
    return m ? Number(m[1]) : undefined;
  };
  return {
    processed: Number(processed[1]),
    timeUs: num(/verification time (\d+) usec/),
    totalStates: num(/total_states (\d+)/),
    peakStates: num(/peak_states (\d+)/),
  };
}

/** A log buffer ample for level 4 (a few lines). */
const STATS_LOG_BYTES = 64 * 1024;

/**
 * Loads program `program` of object `bytes` alone (the object's other
 * programs left out), with the verifier's statistics on, and returns them;
 * the object is closed again before this returns.
 * @throws {BpfError} when the kernel refuses the program; an Error when its log has no statistics.
 */
export function verifyProgram(
  lib: Libbpf,
  objectName: string,
  bytes: Uint8Array,
  program: string,
): VerifierStats {
  const obj = BpfObject.open(lib, objectName, bytes);
  try {
    const buf = new Uint8Array(STATS_LOG_BYTES);
    for (const p of obj.programs()) {
      p.setAutoload(p.name === program);
      if (p.name === program) p.setVerifierLog(LOG_LEVEL_STATS, buf);
    }
    obj.load();
    const end = buf.indexOf(0);
    const log = new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
    const stats = parseVerifierStats(log);
    if (!stats) throw new Error(`${objectName}: ${program}: the verifier's log has no statistics.`);
    return stats;
  } finally {
    obj.close();
  }
}
