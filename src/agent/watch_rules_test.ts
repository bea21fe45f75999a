import { assert } from "../../test/assert.ts";
import type { WatchConfig } from "../config/config_types.ts";
import { WatchRules } from "./watch_rules.ts";

const watch = (path: string, consumer?: WatchConfig["consumer"]): WatchConfig => ({
  path,
  consumer,
  recursive: false,
  include: [],
  exclude: [],
  secret: false,
  diffMaxBytes: 65536,
});

Deno.test("WatchRules.readByName: names a program reads, and paths a rule names, matter; others do not", () => {
  const rules = new WatchRules(
    [
      watch("/home/u/.ssh"),
      watch("/home/u/.ssh/rc"),
      watch("/etc/cron.d"),
      watch("/srv/keys", "ssh_keys"),
    ],
    { get: () => undefined },
  );
  assert(rules.readByName("/home/u/.ssh", "/home/u/.ssh/authorized_keys"));
  assert(!rules.readByName("/home/u/.ssh", "/home/u/.ssh/decoy"));
  // A rule of its own, more specific than its directory's.
  assert(rules.readByName("/home/u/.ssh", "/home/u/.ssh/rc"));
  // cron runs cron.d's job names, not a `.dpkg-old`.
  assert(rules.readByName("/etc/cron.d", "/etc/cron.d/job"));
  assert(!rules.readByName("/etc/cron.d", "/etc/cron.d/job.dpkg-old"));
  // A directory configured for a semantic consumer: every name of it.
  assert(rules.readByName("/srv/keys", "/srv/keys/anything"));
});
