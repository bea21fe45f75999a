/**
 * A consumer whose snapshot is a list of settings: the file parsed, two
 * lists diffed, and the files a list names watched with it (environment,
 * nsswitch.conf, sudo.conf, sysctl).
 *
 * @module
 */
import type { ConsumerName } from "../config/config_types.ts";
import type { Consumer, ConsumerContext, IncludedPath } from "./consumer.ts";
import type { SemanticChange } from "./semantic_change.ts";

/** What a list consumer is made of. */
export interface ListReader<T> {
  /** The settings of the file at `path`. */
  parse(path: string, text: string, ctx: ConsumerContext): T[];
  /** What changed from `before` to `after` in `file`. */
  diff(before: readonly T[], after: readonly T[], file: string): SemanticChange[];
  /** The files the settings make root load or run, watched with the file. */
  files(settings: readonly T[]): IncludedPath[];
}

/** The consumer `name` of `reader`; a snapshot that is not a list reads as none. */
export function listConsumer<T>(name: ConsumerName, reader: ListReader<T>): Consumer {
  const list = (s: unknown) => Array.isArray(s) ? s as T[] : [];
  return {
    name,
    snapshot: (path, text, ctx) => reader.parse(path, text, ctx),
    diff: (path, before, after) => reader.diff(list(before), list(after), path),
    watchAlso: (snapshot) => reader.files(list(snapshot)),
  };
}
