/**
 * Opens libbpf (and the bits of libc its API needs) once per process, and
 * turns its error conventions (NULL + errno, or a negative errno) into text.
 *
 * @module
 */
import {
  LIBBPF_SYMBOLS,
  type LibbpfSymbols,
  LIBC_SYMBOLS,
  type LibcSymbols,
} from "./libbpf_symbols.ts";
import { errorMessage } from "../error_message.ts";
import { errnoName } from "../errno.ts";

/** An opened libbpf with helpers for its error conventions. */
export interface Libbpf {
  /** The libbpf C API. */
  readonly sym: LibbpfSymbols;
  /** libc: errno and vsnprintf. */
  readonly libc: LibcSymbols;
  /** Where the library was loaded from. */
  readonly path: string;
  /** `major.minor` as libbpf reports it. */
  readonly version: string;
  /** The calling thread's errno, read right after a failed call. */
  errno(): number;
  /** Text for a (positive or negative) errno or libbpf error code. */
  strerror(code: number): string;
  /** Runs `fn` with libbpf's log captured; returns the result and the log lines. */
  withLog<T>(fn: () => T): { value: T; log: string[] };
}

let opened: Libbpf | undefined;

/** Raised when no usable libbpf can be opened. */
export class LibbpfUnavailableError extends Error {
  constructor(readonly tried: { path: string; error: string }[]) {
    super(
      "cannot load libbpf: " + tried.map((t) => `${t.path}: ${t.error}`).join("; ") +
        ". Install Debian's libbpf1 (apt-get install libbpf1) or point BPFINK_LIBBPF at a libbpf.so.",
    );
    this.name = "LibbpfUnavailableError";
  }
}

/**
 * Opens libbpf from the first candidate path that loads. Candidates are tried in order;
 * the result is cached for the life of the process.
 */
export function openLibbpf(candidates: string[]): Libbpf {
  if (opened) return opened;
  const tried: { path: string; error: string }[] = [];
  for (const path of candidates) {
    try {
      const lib = Deno.dlopen(path, LIBBPF_SYMBOLS);
      opened = wrap(lib.symbols, path);
      return opened;
    } catch (e) {
      tried.push({ path, error: errorMessage(e) });
    }
  }
  throw new LibbpfUnavailableError(tried);
}

/** libbpf's verifier log buffer after a failed load (BPF_LOG_BUF_SIZE, 16 MiB) holds it whole. */
const VERIFIER_LOG_BYTES = 16 << 20;
/** Lines kept of one message: the verifier's reason and the instructions that led to it. */
const LOG_LINES_KEPT = 200;

function wrap(sym: LibbpfSymbols, path: string): Libbpf {
  const libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
  const errnoPtr = libc.__errno_location();
  const buf = new Uint8Array(512);
  const decoder = new TextDecoder();
  let sink: string[] | undefined;
  const printCb = new Deno.UnsafeCallback(
    { parameters: ["i32", "pointer", "pointer"], result: "i32" } as const,
    (_level, fmt, args) => {
      if (!sink || fmt === null) return 0;
      // A program's verifier log comes in one message, and its reason at the end.
      const whole = new Deno.UnsafePointerView(fmt).getCString().includes("LOAD LOG");
      const line = new Uint8Array(whole ? VERIFIER_LOG_BYTES : 2048);
      const n = libc.vsnprintf(line, BigInt(line.length), fmt, args);
      const text = decoder.decode(line.subarray(0, Math.max(0, Math.min(n, line.length - 1))));
      const lines = text.split("\n").filter((l) => l.trim()).map((l) => l.trimEnd());
      sink.push(...lines.slice(-LOG_LINES_KEPT));
      return 0;
    },
  );
  // Unref so an idle agent can exit; the callback lives as long as the library.
  printCb.unref();
  sym.libbpf_set_print(null);
  return {
    sym,
    libc,
    path,
    version: `${sym.libbpf_major_version()}.${sym.libbpf_minor_version()}`,
    errno: () => (errnoPtr ? new Deno.UnsafePointerView(errnoPtr).getInt32() : 0),
    strerror(code: number): string {
      buf.fill(0);
      sym.libbpf_strerror(Math.abs(code), buf, BigInt(buf.length));
      const text = decoder.decode(buf.subarray(0, buf.indexOf(0)));
      return `${errnoName(Math.abs(code))} (${text})`;
    },
    withLog<T>(fn: () => T): { value: T; log: string[] } {
      const log: string[] = [];
      sink = log;
      sym.libbpf_set_print(printCb.pointer);
      try {
        return { value: fn(), log };
      } finally {
        sym.libbpf_set_print(null);
        sink = undefined;
      }
    },
  };
}
