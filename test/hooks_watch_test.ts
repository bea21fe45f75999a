/**
 * Commands other daemons run as root, as persistence puts them there: a
 * udev rule's RUN+= program rewritten by the user who owns it (nobody,
 * through setpriv), and a rule added that runs a program on each device
 * event; an apt hook added beside the host's.
 */
import { assert, assertEquals } from "./assert.ts";
import { asNobody, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a udev rule's program is watched with it, and a rule or apt hook added that runs one is critical", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  const rules = `${x}/etc/udev/rules.d`;
  const apt = `${x}/etc/apt/apt.conf.d`;
  await Deno.mkdir(rules, { recursive: true });
  await Deno.mkdir(apt, { recursive: true });
  await Deno.mkdir(`${x}/opt`);
  await Deno.writeTextFile(`${x}/opt/usb-hook.sh`, "#!/bin/sh\nlogger usb $1\n");
  await Deno.chown(`${x}/opt/usb-hook.sh`, 65534, 65534);
  await Deno.writeTextFile(
    `${rules}/70-usb.rules`,
    `ACTION=="add", SUBSYSTEM=="usb", RUN+="${x}/opt/usb-hook.sh %k"\n`,
  );
  await Deno.writeTextFile(`${apt}/20packagekit`, 'DPkg::Post-Invoke { "/bin/echo"; };\n');
  const d = new Daemon(await daemonConfig(x, [`- path: ${rules}`, `- path: ${apt}`]));
  try {
    await d.started();
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/opt/usb-hook.sh as generic`), 5_000),
      d.stderr,
    );
    const sh = await run(
      asNobody(["sh", "-c", `echo 'cp /bin/sh /tmp/.r' >> ${x}/opt/usb-hook.sh`]),
    );
    assertEquals(sh.code, 0, sh.stderr);
    const changed = await d.expect(
      (e) => e.file?.path === `${x}/opt/usb-hook.sh` && e.event.action === "modified",
      "the change of the program the rule runs",
    );
    assertEquals(changed.bpfink?.severity, "critical");
    // The sedexp way: a rule that runs a shell on the event of a device always there.
    await Deno.writeTextFile(
      `${rules}/10-mem.rules`,
      'ACTION=="add", ENV{MAJOR}=="1", ENV{MINOR}=="8", RUN+="/bin/sh -c \'/tmp/.x &\'"\n',
    );
    const added = await d.expect(
      (e) => e.event.action === "udev_command_added",
      "the command the new rule runs",
    );
    assertEquals(
      added.message,
      `udev runs as root at each device event the rule matches: RUN+="/bin/sh -c '/tmp/.x &'"`,
    );
    assertEquals(added.bpfink?.severity, "critical");
    // An apt hook, as `echo 'DPkg::Pre-Invoke {"…"};' > /etc/apt/apt.conf.d/01x` adds one.
    await Deno.writeTextFile(`${apt}/01x`, 'DPkg::Pre-Invoke {"/tmp/.y";};\n');
    const hook = await d.expect((e) => e.event.action === "apt_command_added", "the apt hook");
    assertEquals(
      hook.message,
      'apt runs as root around each package operation: DPkg::Pre-Invoke:: "/tmp/.y"',
    );
    assertEquals(hook.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});
