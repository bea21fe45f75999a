/**
 * How bpfink's runtime is started: the flags and environment `./bpfink`, the
 * compiled binary (build.ts) and the package's launcher
 * (packaging/launcher.c) give Deno, in one place for the TypeScript that
 * starts it (build.ts, the benches, which must measure what ships).
 * The shell script and the launcher write them out; a test holds
 * them to these (runtime_flags_test.ts).
 *
 * @module
 */

/**
 * V8's flags: no TurboFan (under load it maps ~3 MiB of its own code and
 * keeps it; Maglev is enough for glue around native work), a young
 * generation of at most 4 MiB a semi-space (a first baseline's peak RSS), and
 * V8's gc() exposed for the first baseline's heap ceiling (heap_ceiling.ts).
 */
export const V8_FLAGS = "--max-opt=2,--max-semi-space-size=4,--expose-gc";

/** Deno's options for them, and no V8 code cache (it held 2-3 MiB and did not speed the start). */
export const DENO_RUN_FLAGS = ["--no-code-cache", `--v8-flags=${V8_FLAGS}`] as const;

/** The environment: two malloc arenas (README "Soak"), unless the caller set its own. */
export const RUNTIME_ENV = { MALLOC_ARENA_MAX: "2" } as const;
