/**
 * The groups consumer: group and gshadow.
 *
 * @module
 */
import { parseGroup } from "../parsers/group.ts";
import { parseGshadow } from "../parsers/gshadow.ts";
import { diffGroup, diffGshadow } from "../semantics/groups.ts";
import { pairedConsumer } from "./paired_consumer.ts";

/** group and gshadow. */
export const groupsConsumer = pairedConsumer(
  "groups",
  { kind: "group", parse: (text) => parseGroup(text), diff: diffGroup },
  { kind: "gshadow", parse: parseGshadow, diff: diffGshadow },
);
