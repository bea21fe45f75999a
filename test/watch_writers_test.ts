/**
 * Who changed a file that several processes wrote before the agent read it
 * (an agent behind on a loaded machine folds their writes into one re-read):
 * the process whose write the file holds, by the kernel's order of events,
 * never the one whose event happened to come first; the others are named
 * beside it (real agent, real cp and sh; the agent's event loop is held while
 * they write, as a loaded machine holds it).
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, changesShown, tempDir, waitFor, whileHeld } from "./helpers.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";

const ROOT = "root:x:0:0::/root:/bin/sh\n";

const added = (e: ChangeEvent, name: string) =>
  e.event.action === "user_added" && e.user?.target?.name === name;

for (const fanotify of [true, false]) {
  Deno.test(`a file cp wrote and a shell then rewrote, read as one change, is credited to the shell, cp beside it (fanotify ${fanotify ? "on" : "off"})`, async () => {
    await using dir = await tempDir();
    const passwd = `${dir.path}/passwd`;
    await Deno.writeTextFile(passwd, ROOT);
    await Deno.writeTextFile(`${dir.path}/staged`, `${ROOT}x:x:0:0::/:/bin/sh\n`);
    const out = new CaptureOutput();
    const agent = await Agent.start({
      watches: watchesForPaths([passwd]),
      outputs: [out],
      fanotify,
    });
    try {
      await agent.idle();
      // cp's truncate and write come first in the kernel's order, the shell's last: the file
      // holds only what the shell wrote (its uid-0 user d, not cp's x).
      const shell = await whileHeld(
        `cp staged passwd && printf '${ROOT.trimEnd()}\\nd:x:0:0::/:/bin/sh\\n' > passwd`,
        dir.path,
      );
      assert(
        await waitFor(() => out.changes().some((e) => added(e, "d")), 5000),
        `the uid-0 user the shell wrote was not reported: ${changesShown(out)}`,
      );
      await agent.idle();
      assertEquals(out.changes().some((e) => added(e, "x")), false, changesShown(out));
      const user = out.changes().find((e) => added(e, "d"))!;
      const others = ((user.bpfink?.other_writers ?? []) as { name: string }[]).map((w) => w.name);
      assertEquals(
        [user.process?.pid, user.process?.name],
        [shell, "sh"],
        `credited to another process than the shell that wrote it (others: ${others})`,
      );
      // Read as one change (the agent was held): cp, which wrote too, is named beside it.
      const modified = out.changes(passwd).filter((e) => e.event.action === "modified");
      assertEquals(modified.length, 1, changesShown(out));
      assertEquals(others, ["cp"]);
    } finally {
      await agent.stop();
    }
  });
}
