/**
 * Every way a file can change that bpfink catches live on this kernel: each
 * row is a real tool or syscall run against its own watched file, and must
 * give the expected event naming the process.
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { sha256File } from "../src/watch/file_state.ts";

interface Row {
  name: string;
  /** Command; an argument `F` (or `{F}` inside one) is replaced by the watched file. */
  cmd: string[];
  action: string;
  /** Process name (comm) expected on the event. */
  comm: string;
  /** Path the event is about, relative to D (default the row's file). */
  target?: string;
  /** Also require an event carrying the file's final content hash (the last write was seen). */
  finalHash?: boolean;
}

const py = (code: string): string[] => ["python3", "-c", code, "F"];

const ROWS: Row[] = [
  {
    name: "write (shell append)",
    cmd: ["sh", "-c", 'echo x >> "$1"', "sh", "F"],
    action: "modified",
    comm: "sh",
  },
  {
    name: "pwrite64",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY);os.pwrite(fd,b'zz',1)"),
    action: "modified",
    comm: "python3",
  },
  {
    name: "writev",
    cmd: py(
      "import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY|os.O_APPEND);os.writev(fd,[b'a',b'b'])",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    name: "pwritev",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY);os.pwritev(fd,[b'q'],0)"),
    action: "modified",
    comm: "python3",
  },
  {
    name: "pwritev2 (RWF_SYNC)",
    cmd: py(
      "import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY);os.pwritev(fd,[b'w'],0,os.RWF_SYNC)",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    name: "truncate(path)",
    cmd: py("import os,sys;os.truncate(sys.argv[1],1)"),
    action: "modified",
    comm: "python3",
  },
  {
    name: "ftruncate",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY);os.ftruncate(fd,2)"),
    action: "modified",
    comm: "python3",
  },
  {
    name: "open O_TRUNC (shell >)",
    cmd: ["sh", "-c", ': > "$1"', "sh", "F"],
    action: "modified",
    comm: "sh",
  },
  {
    name: "fallocate (grow)",
    cmd: ["fallocate", "-l", "65536", "F"],
    action: "modified",
    comm: "fallocate",
  },
  {
    name: "fallocate punch-hole",
    cmd: ["fallocate", "-p", "-o", "0", "-l", "4096", "F"],
    action: "modified",
    comm: "fallocate",
  },
  {
    name: "sendfile",
    cmd: py(
      "import os,sys;s=os.open('/etc/hostname',os.O_RDONLY);d=os.open(sys.argv[1],os.O_WRONLY);os.lseek(d,0,2);os.sendfile(d,s,0,2)",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    name: "splice",
    cmd: py(
      "import os,sys;r,w=os.pipe();os.write(w,b'spl');d=os.open(sys.argv[1],os.O_WRONLY);os.lseek(d,0,2);os.splice(r,d,3)",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    name: "copy_file_range",
    cmd: py(
      "import os,sys;s=os.open('/etc/hostname',os.O_RDONLY);d=os.open(sys.argv[1],os.O_WRONLY);os.lseek(d,0,2);os.copy_file_range(s,d,2)",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    // Spaced writes (thinktime) so only io_uring completions, not the open, can show the last one.
    name: "io_uring writes (fio), no write syscall at all",
    cmd: [
      "fio",
      "--name=cov",
      "--filename={F}",
      "--ioengine=io_uring",
      "--rw=write",
      "--bs=4k",
      "--size=16k",
      "--fallocate=none",
      "--thread",
      "--thinktime=150000",
      "--output=/dev/null",
    ],
    action: "modified",
    comm: "fio",
    finalHash: true,
  },
  {
    name: "dd conv=notrunc",
    cmd: ["dd", "if=/etc/hostname", "of={F}", "bs=1", "count=2", "conv=notrunc", "status=none"],
    action: "modified",
    comm: "dd",
  },
  { name: "cp over the file", cmd: ["cp", "/etc/hostname", "F"], action: "modified", comm: "cp" },
  { name: "chmod", cmd: ["chmod", "600", "F"], action: "attributes_changed", comm: "chmod" },
  { name: "chown", cmd: ["chown", "1:1", "F"], action: "attributes_changed", comm: "chown" },
  {
    name: "fchmod",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_RDONLY);os.fchmod(fd,0o640)"),
    action: "attributes_changed",
    comm: "python3",
  },
  {
    name: "setxattr",
    cmd: py("import os,sys;os.setxattr(sys.argv[1],'user.bpfink',b'1')"),
    action: "attributes_changed",
    comm: "python3",
  },
  {
    name: "fsetxattr",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_RDONLY);os.setxattr(fd,'user.bpfink',b'2')"),
    action: "attributes_changed",
    comm: "python3",
  },
  {
    name: "utimes: faked timestamp (touch -d)",
    cmd: ["touch", "-d", "2001-01-01 00:00:00", "F"],
    action: "attributes_changed",
    comm: "touch",
  },
  {
    name: "hardlink, written through the new name",
    cmd: ["sh", "-c", 'ln "$1" "$1.lnk" && echo y >> "$1.lnk"', "sh", "F"],
    action: "modified",
    comm: "sh",
  },
  {
    name: "rename over (mv)",
    cmd: ["sh", "-c", 'echo new > "$1.tmp" && mv "$1.tmp" "$1"', "sh", "F"],
    action: "replaced",
    comm: "mv",
  },
  { name: "sed -i", cmd: ["sed", "-i", "s/^/#/", "F"], action: "replaced", comm: "sed" },
  { name: "unlink", cmd: ["rm", "F"], action: "deleted", comm: "rm" },
  {
    name: "create in a watched directory",
    cmd: ["sh", "-c", 'echo new > "$1.created"', "sh", "F"],
    action: "created",
    comm: "sh",
    target: "F.created",
  },
];

Deno.test("coverage: each change method is reported live with the process that did it", async () => {
  await using dir = await tempDir();
  const files = ROWS.map((_, i) => `${dir.path}/row${i}`);
  for (const f of files) await Deno.writeTextFile(f, "original content\n".padEnd(16384, "."));
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([dir.path]), outputs: [out] });
  const missed: string[] = [];
  try {
    for (const [i, row] of ROWS.entries()) {
      const f = files[i];
      const target = row.target ? row.target.replace("F", f) : f;
      const cmd = row.cmd.map((a) => a === "F" ? f : a.replace("{F}", f));
      const r = await run(cmd);
      assert(r.code === 0, `${row.name}: ${cmd.join(" ")} failed: ${r.stderr}`);
      const finalHash = row.finalHash ? (await sha256File(target)).sha256 : undefined;
      const hit = await waitFor(
        () =>
          out.changes(target).some((e) =>
            e.event.action === row.action && e.process?.name === row.comm &&
            (!finalHash || e.file?.hash?.sha256 === finalHash)
          ),
        2000,
      );
      if (!hit) {
        missed.push(
          `${row.name}: got ${
            JSON.stringify(out.changes(target).map((e) => [e.event.action, e.process?.name]))
          }`,
        );
      }
    }
  } finally {
    await agent.stop();
  }
  assert(missed.length === 0, `missed:\n  ${missed.join("\n  ")}`);
});

Deno.test("coverage: a write through a bind mount of a watched directory is caught by inode", async () => {
  await using dir = await tempDir();
  await using mnt = await tempDir("bpfink-bind-");
  const f = `${dir.path}/secret.conf`;
  await Deno.writeTextFile(f, "a\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  const mounted = await run(["mount", "--bind", dir.path, mnt.path]);
  try {
    assert(mounted.code === 0, mounted.stderr);
    const w = await run(["sh", "-c", 'echo b >> "$1"', "sh", `${mnt.path}/secret.conf`]);
    assert(w.code === 0);
    assert(
      await waitFor(() =>
        out.changes(f).some((e) => e.event.action === "modified" && e.process?.pid === w.pid)
      ),
      "write through the bind mount missed",
    );
  } finally {
    await agent.stop();
    if (mounted.code === 0) await run(["umount", mnt.path]);
  }
});
