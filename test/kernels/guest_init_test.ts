/** The guest init's marker lines and their parser. */
import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { GUEST_MOUNTS, initScript, newMarker, parseConsole } from "./guest_init.ts";

Deno.test("markers are unique per image", () => {
  assert(newMarker() !== newMarker());
  assert(/^BPFINK-GUEST-[0-9a-f]{12}$/.test(newMarker()));
});

Deno.test("the init mounts every pseudo file system, reports the status and powers off", () => {
  const init = initScript("M");
  for (const [type, at] of GUEST_MOUNTS) assertIncludes(init, `mount -t ${type} ${type} ${at}`);
  assertIncludes(init, 'echo "M exit $status"');
  assert(init.trimEnd().endsWith("poweroff -f"));
});

Deno.test("parses release, exit status and the command's output from a serial console", () => {
  const text =
    "[    0.1] noise\r\nM start 6.1.0-56-cloud-amd64\r\nhello\r\nworld\r\n\r\nM exit 3\r\n";
  assertEquals(parseConsole(text, "M"), {
    release: "6.1.0-56-cloud-amd64",
    exitCode: 3,
    output: "hello\nworld",
  });
});

Deno.test("a console without the exit marker has no exit status", () => {
  const c = parseConsole("M start 5.10.0-46-cloud-amd64\nstill running", "M");
  assertEquals(c.exitCode, undefined);
  assertEquals(c.output, "still running");
});

Deno.test("another image's marker is not ours", () => {
  assertEquals(parseConsole("OTHER start x\nOTHER exit 0\n", "M"), { output: "" });
});
