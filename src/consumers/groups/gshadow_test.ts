import { assert, assertEquals } from "../../../test/assert.ts";
import { parseGshadow } from "./gshadow.ts";

const fp = (s: string) => `fp${s.length}`;

Deno.test("gshadow: password state, admins and members", () => {
  const r = parseGshadow("sudo:!::alice,bob\nadm:$6$salt$hashhashhash:carol:dave,erin\n", fp);
  assertEquals(r.errors, []);
  assertEquals(r.entries, [
    {
      name: "sudo",
      password: { state: "disabled" },
      admins: [],
      members: ["alice", "bob"],
      line: 1,
    },
    {
      name: "adm",
      password: { state: "set", fingerprint: "fp20" },
      admins: ["carol"],
      members: ["dave", "erin"],
      line: 2,
    },
  ]);
  assert(!JSON.stringify(r).includes("hashhash"));
});

Deno.test("gshadow: every line is an entry (missing fields are empty), the hash never kept", () => {
  const r = parseGshadow("g:$6$s$SECRETSECRET:a\nh\ni:!:x:y:z\n", fp);
  assertEquals(r.entries.map((e) => [e.name, e.password?.state, e.admins, e.members]), [
    ["g", "set", ["a"], []],
    ["h", "empty", [], []],
    ["i", "disabled", ["x"], ["y:z"]],
  ]);
  assert(!JSON.stringify(r).includes("SECRET"));
});
