/**
 * Which consumer reads which file: by configuration, else by the file's name
 * (passwd, shadow, group, gshadow, sudoers, files under sudoers.d/,
 * access.conf); anything else is generic.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import type { ConsumerName } from "../config/config_types.ts";
import type { Consumer } from "./consumer.ts";

const BY_NAME: Record<string, ConsumerName> = {
  passwd: "users",
  shadow: "users",
  group: "groups",
  gshadow: "groups",
  sudoers: "sudoers",
  "access.conf": "access",
};

/** The consumer name a path gets when none is configured. */
export function consumerNameFor(path: string): ConsumerName {
  const name = basename(path);
  if (BY_NAME[name]) return BY_NAME[name];
  if (basename(dirname(path)) === "sudoers.d") return "sudoers";
  return "generic";
}

const registry = new Map<ConsumerName, Consumer>();

/** Registers a semantic consumer (done once by each consumer module). */
export function registerConsumer(name: ConsumerName, c: Consumer): void {
  registry.set(name, c);
}

/** The semantic consumer for `name`, or undefined for generic files. */
export function semanticConsumer(name: ConsumerName): Consumer | undefined {
  return registry.get(name);
}
