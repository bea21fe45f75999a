/**
 * Real workloads for the ground-truth suite and the comparison bench: each is
 * a real tool run against its own directory the way people and attackers use
 * it. Nothing here knows about bpfink, so the bench can run the same
 * workloads under inotifywait, fatrace, auditd and aide.
 *
 * @module
 */

/** One workload: a directory prepared before monitoring starts, then changed by real tools. */
export interface Workload {
  name: string;
  /** Process names (comm) that may make the changes. */
  comms: string[];
  /** Prepares `dir` (empty and existing) before monitoring starts. */
  setup(dir: string): Promise<void>;
  /** Changes `dir` with real tools. */
  act(dir: string): Promise<void>;
}

/** Runs a shell script with `$D` set to the workload's directory; throws with its stderr on failure. */
export async function sh(dir: string, script: string): Promise<void> {
  const out = await new Deno.Command("sh", {
    args: ["-ec", script],
    env: {
      D: dir,
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(
      `${script.split("\n")[0]}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every workload, in the order they run. */
export const WORKLOADS: readonly Workload[] = [
  {
    // The original bpfink end-to-end test: a new directory, then a file made, written and removed in it.
    name: "mkdir, then a file created, written and removed in it",
    comms: ["mkdir", "sh", "rm"],
    setup: (d) => sh(d, `echo keep > "$D/keep"`),
    act: async (d) => {
      await sh(d, `mkdir "$D/dir1"`);
      await pause(100);
      await sh(d, `: > "$D/dir1/sample_file.txt"`);
      await pause(100);
      await sh(d, `echo hello >> "$D/dir1/sample_file.txt"`);
      await pause(100);
      await sh(d, `rm "$D/dir1/sample_file.txt"`);
    },
  },
  {
    name: "mkdir -p a tree, then files written in it",
    comms: ["mkdir", "sh"],
    setup: (d) => sh(d, `mkdir "$D/a"`),
    act: (d) => sh(d, `mkdir -p "$D/a/b/c"; echo x > "$D/a/b/c/deep"; echo y > "$D/a/b/mid"`),
  },
  {
    name: "git checkout of a branch with a new directory",
    comms: ["git"],
    setup: (d) =>
      sh(
        d,
        `cd "$D"; git init -q -b main .; echo one > a.conf; echo keep > b.conf; git add .; git commit -qm one
git checkout -q -b feature; mkdir -p conf.d/sub; echo new > conf.d/sub/n.conf; echo two > a.conf
git rm -q b.conf; git add .; git commit -qm two; git checkout -q main`,
      ),
    act: (d) => sh(d, `cd "$D"; git checkout -q feature`),
  },
  {
    name: "git stash of changes in a new directory",
    comms: ["git"],
    setup: (d) =>
      sh(
        d,
        `cd "$D"; git init -q -b main .; echo one > a.conf; git add .; git commit -qm one
echo changed > a.conf; mkdir new; echo n > new/f; git add new`,
      ),
    act: (d) => sh(d, `cd "$D"; git stash -q`),
  },
  {
    name: "rsync -a --delete from another tree",
    comms: ["rsync"],
    setup: (d) =>
      sh(
        d,
        `mkdir -p "$D/dst/old" "$D/src/new"; echo same > "$D/dst/same"; echo same > "$D/src/same"
echo gone > "$D/dst/old/gone"; echo v1 > "$D/dst/conf"; echo v2-longer > "$D/src/conf"
echo n > "$D/src/new/n"; echo m > "$D/dst/mode"; echo m > "$D/src/mode"; chmod 600 "$D/src/mode"
touch -d 2020-01-01 "$D/dst/same" "$D/src/same"`,
      ),
    act: (d) => sh(d, `rsync -a --delete "$D/src/" "$D/dst/"`),
  },
  {
    name: "tar -x over a tree",
    comms: ["tar"],
    setup: (d) =>
      sh(
        d,
        `mkdir -p "$D/stage/etc/new.d" "$D/etc"; echo old > "$D/etc/app.conf"
echo new > "$D/stage/etc/app.conf"; echo x > "$D/stage/etc/new.d/x.conf"
tar -C "$D/stage" -cf "$D.tar" etc; rm -rf "$D/stage"`,
      ),
    act: (d) => sh(d, `tar -C "$D" -xf "$D.tar"; rm -f "$D.tar"`),
  },
  {
    name: "cp -r of a new tree",
    comms: ["cp"],
    setup: (d) => sh(d, `echo ok > "$D/keep"`),
    act: (d) =>
      sh(
        d,
        `s=$(mktemp -d); mkdir -p "$s/t/u"; echo 1 > "$s/t/one"; echo 2 > "$s/t/u/two"
cp -r "$s/t" "$D/copy"; rm -rf "$s"`,
      ),
  },
  {
    name: "sed -i and patch",
    comms: ["sed", "patch"],
    setup: (d) =>
      sh(
        d,
        `printf 'a\\nb\\nc\\n' > "$D/s.conf"; printf 'x\\ny\\n' > "$D/p.conf"
printf 'x\\nz\\n' > "$D/p.new"; diff -u "$D/p.conf" "$D/p.new" > "$D.diff" || true; rm "$D/p.new"`,
      ),
    act: (d) =>
      sh(
        d,
        `sed -i s/b/B/ "$D/s.conf"; patch -s "$D/p.conf" < "$D.diff"; rm -f "$D.diff"`,
      ),
  },
  {
    name: "mv of a directory, then writes under its new name",
    comms: ["mv", "sh"],
    setup: (d) => sh(d, `mkdir -p "$D/sub"; echo a > "$D/sub/a"`),
    act: async (d) => {
      await sh(d, `mv "$D/sub" "$D/sub2"`);
      await pause(100);
      await sh(d, `echo more >> "$D/sub2/a"; echo b > "$D/sub2/b"`);
    },
  },
  {
    name: "rm -rf of a directory, recreated at once",
    comms: ["rm", "mkdir", "sh"],
    setup: (d) => sh(d, `mkdir -p "$D/sub"; echo old > "$D/sub/a"; echo z > "$D/sub/z"`),
    act: (d) => sh(d, `rm -rf "$D/sub" && mkdir "$D/sub" && echo new > "$D/sub/a"`),
  },
  {
    name: "ln -sfn retargets a link; a file replaced by a symlink",
    comms: ["ln"],
    setup: (d) =>
      sh(
        d,
        `echo 1 > "$D/v1"; echo 2 > "$D/v2"; ln -s v1 "$D/current"; echo real > "$D/conf"`,
      ),
    act: (d) => sh(d, `ln -sfn v2 "$D/current"; ln -sf /etc/hostname "$D/conf"`),
  },
  {
    name: "mkfifo, and chmod and chown of existing files",
    comms: ["mkfifo", "chmod", "chown"],
    setup: (d) => sh(d, `echo a > "$D/m"; echo b > "$D/o"`),
    act: (d) => sh(d, `mkfifo "$D/fifo"; chmod 4755 "$D/m"; chown 65534:65534 "$D/o"`),
  },
  {
    name: "vim edits a file in place",
    comms: ["vim"],
    setup: (d) => sh(d, `printf 'root:x:0:0\\n' > "$D/conf"`),
    act: (d) => sh(d, `vim -u NONE -i NONE -es -c '%s/root/evil/' -c 'wq' "$D/conf" </dev/null`),
  },
];
