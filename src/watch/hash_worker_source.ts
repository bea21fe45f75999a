/**
 * The hash worker (hash_worker.ts) as one script, for a single-file build:
 * there no module file sits beside the bundle for a worker to start from,
 * so build.ts bundles hash_worker.ts and writes it here (the one
 * `HASH_WORKER_SOURCE = "";` of the bundle). Empty from source,
 * where the worker starts from hash_worker.ts itself.
 *
 * @module
 */

/** The bundled hash worker's JavaScript; empty when running from source. */
export const HASH_WORKER_SOURCE: string = "";
