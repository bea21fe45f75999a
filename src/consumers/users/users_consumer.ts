/**
 * The users consumer: passwd and shadow. Hashes become keyed fingerprints at
 * parse time; events say "user alice added with uid 0", "password changed
 * for root".
 *
 * @module
 */
import { parsePasswd } from "./passwd.ts";
import { parseShadow } from "./shadow.ts";
import { diffPasswd, diffShadow } from "./users_diff.ts";
import { pairedConsumer } from "../paired_consumer.ts";

/** passwd and shadow. */
export const usersConsumer = pairedConsumer(
  "users",
  { kind: "passwd", parse: parsePasswd, diff: diffPasswd },
  { kind: "shadow", parse: parseShadow, diff: diffShadow },
);
