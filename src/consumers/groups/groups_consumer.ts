/**
 * The groups consumer: group and gshadow.
 *
 * @module
 */
import { parseGroupFile } from "./group_file.ts";
import { parseGshadow } from "./gshadow.ts";
import { diffGroup, diffGshadow } from "./groups_diff.ts";
import { pairedConsumer } from "../paired_consumer.ts";

/** group and gshadow. */
export const groupsConsumer = pairedConsumer(
  "groups",
  { kind: "group", parse: (text) => parseGroupFile(text), diff: diffGroup },
  { kind: "gshadow", parse: parseGshadow, diff: diffGshadow },
);
