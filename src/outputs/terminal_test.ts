/**
 * Every field of a terminal line is escaped: control characters, ANSI
 * escapes, Unicode line separators and bidi overrides, and what is left of
 * invalid UTF-8 (lone surrogates, U+FFFD), so one event is one line.
 */
import { assert, assertEquals } from "../../test/assert.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { escapeTerminal, formatLine } from "./terminal.ts";

Deno.test("escapeTerminal writes control characters, escapes and lone surrogates visibly", () => {
  assertEquals(
    escapeTerminal("a\nb\r\t\x1b[31m\x00\x7f\x85"),
    "a\\nb\\r\\t\\x1b[31m\\x00\\x7f\\x85",
  );
  assertEquals(escapeTerminal("\u202eexe.txt\u2028"), "\\u202eexe.txt\\u2028");
  assertEquals(escapeTerminal("bad\ud800name\udfff"), "bad\\ud800name\\udfff");
  assertEquals(
    escapeTerminal("back\\slash"),
    "back\\\\slash",
    "a backslash cannot forge an escape",
  );
  // What stays: printable text, any script, emoji (a valid surrogate pair), U+FFFD.
  assertEquals(escapeTerminal("é ü 日本 😀 \ufffd"), "é ü 日本 😀 \ufffd");
});

Deno.test("formatLine keeps every event on one line, whatever its fields hold", () => {
  const hostile = "x\n12:00:00.000  deleted    /etc/shadow sshd[1]\x1b[2K\r\ud800";
  const e: ChangeEvent = {
    "@timestamp": "2026-12-02T12:00:00.000Z",
    event: {
      id: "1",
      action: "user_added",
      category: ["iam"],
      type: ["user"],
      kind: "event",
      reason: "live\nforged",
      module: "bpfink",
    },
    file: { path: `/etc/${hostile}` },
    process: { pid: 7, name: hostile },
    user: { id: hostile },
    message: `user ${hostile} added`,
  };
  for (const color of [false, true]) {
    const line = formatLine(e, color);
    assert(!/[\n\r\u2028\ud800]/.test(line), JSON.stringify(line));
    // The only escape sequences left are the output's own colors.
    // deno-lint-ignore no-control-regex
    const withoutColors = line.replace(/\x1b\[[0-9;]*m/g, "");
    assert(!withoutColors.includes("\x1b"), JSON.stringify(line));
  }
});

Deno.test("formatLine names the program when the process name does not say it", () => {
  const at = (process: ChangeEvent["process"], bpfink?: ChangeEvent["bpfink"]) =>
    formatLine({
      "@timestamp": "2026-12-02T12:00:00.000Z",
      event: { id: "1", action: "modified", category: ["file"], type: ["change"], kind: "event" },
      file: { path: "/etc/passwd" },
      process,
      ...(bpfink ? { bpfink } : {}),
    } as ChangeEvent, false);
  // A shell that named itself dpkg.
  const forged = at({ pid: 7, name: "dpkg", executable: "/usr/bin/dash" });
  assert(forged.includes(" dpkg[7] exe=/usr/bin/dash"), forged);
  // The name is the program's: nothing more, also where the kernel cut it to 15 characters.
  assert(!at({ pid: 7, name: "dpkg", executable: "/usr/bin/dpkg" }).includes("exe="));
  // A command linked to it: sh runs dash on Debian.
  assert(!at({ pid: 7, name: "sh", executable: "/usr/bin/dash" }).includes("exe="));
  assert(
    !at({ pid: 7, name: "systemd-tmpfile", executable: "/usr/bin/systemd-tmpfiles" })
      .includes("exe="),
  );
  // Only the kernel's file name of it, or a path /proc showed that bpfink could not verify.
  assert(
    at({ pid: 7, name: "dpkg" }, { process: { executable_name: "dash" } }).includes(
      " dpkg[7] exe=dash",
    ),
  );
  assert(
    at({ pid: 7, name: "dpkg" }, { process: { executable_unverified: "/tmp/x/dpkg2" } })
      .includes(" exe=/tmp/x/dpkg2 (unverified)"),
  );
  // Other writers too; and a hostile path stays on one line.
  const others = at({ pid: 7, name: "dash", executable: "/usr/bin/dash" }, {
    other_writers: [{ pid: 8, name: "vim", exe: "evil\nx" }],
  });
  assert(others.includes(" dash[7] (with vim[8] exe=evil\\nx)"), JSON.stringify(others));
});
