/**
 * A directory listing that fails because the agent may open no file (a
 * root `prlimit --pid AGENT --nofile=0:`) is listed again until a listing
 * succeeds, so what was made meanwhile is reported, with its maker. The
 * scenario runs in a child process (listing_emfile_child.ts): the limit is
 * a process's, and set in the test's own it failed the opens of the tests
 * running beside it (`Too many open files` in parallel_reader_test).
 */
import { assert, assertEquals } from "../assert.ts";

Deno.test("a directory listing that fails (no file descriptor left) is listed again: what was made meanwhile is reported, with its maker", async () => {
  const child = new URL("./listing_emfile_child.ts", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", child],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assertEquals(r.code, 0, err);
  const got = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").pop()!);
  assert(got.warnings.length > 0, "the listing did not fail");
  assertEquals(
    got.changes,
    [["created", got.path, got.maker]],
    `what was made while the listing failed: ${got.warnings.join(" | ")}`,
  );
});
