import { assertEquals } from "../../test/assert.ts";
import type { FileChange } from "../pipeline/file_change.ts";
import { genericEvent } from "./generic.ts";

const churn = (readByName: string[]): FileChange => ({
  action: "churned",
  path: "/home/u/.ssh",
  kind: "dir",
  root: "/home/u/.ssh",
  folded: 1,
  reason: "live",
  notRead: "100 names made and gone",
  churn: { names: 100, distinct: 100, readByName, sample: ["a", "b"] },
});

Deno.test("a churn summary is high when it folded a name some program reads by name", () => {
  assertEquals(genericEvent(churn([]), "h").bpfink?.severity, "medium");
  const e = genericEvent(churn(["/home/u/.ssh/authorized_keys"]), "h");
  assertEquals(e.bpfink?.severity, "high");
  assertEquals((e.bpfink?.churn as { read_by_name: string[] }).read_by_name, [
    "/home/u/.ssh/authorized_keys",
  ]);
  // A rule's severity still decides.
  assertEquals(genericEvent(churn(["/x"]), "h", new Date(), "low").bpfink?.severity, "low");
});
