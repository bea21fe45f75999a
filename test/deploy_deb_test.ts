/**
 * The .deb that `build.ts deb` makes from dist/bpfink: lintian finds nothing (beyond the
 * overrides it ships, each with its reason); dpkg installs it into a temp root (DPKG_ROOT,
 * maintainer scripts run chrootless), the installed binary runs, the key is made 0600;
 * `dpkg -r` keeps only the conffile, the key and the state, and `dpkg --purge` leaves the
 * root exactly as it was.
 */
import { assert, assertEquals, assertIncludes } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import { hasCommand } from "./services/service.ts";
import denoJson from "../deno.json" with { type: "json" };

const DEB = `${Deno.cwd()}/dist/bpfink_${denoJson.version}-1_amd64.deb`;

let building: Promise<void> | undefined;

/** Builds the .deb once for this file's tests. */
function buildDeb(): Promise<void> {
  building ??= run(["node_modules/.bin/deno", "run", "-A", "build.ts", "deb"], {
    env: { BPFINK_BUILD_WAY: "bundle" },
  }).then((r) => assertEquals(r.code, 0, r.stderr));
  return building;
}

/** Every path under root, relative, sorted. */
function tree(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${root}/${rel}`)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory) out.push(...tree(root, p));
  }
  return out.sort();
}

/**
 * A root with the usual top directories, owned (as on a real system) by base-files, and a
 * dpkg database that knows base-files, libc6 and libgcc-s1 as the host does.
 */
async function dpkgRoot(root: string): Promise<void> {
  const shared = ["etc", "lib", "run", "usr", "usr/bin", "usr/share", "var", "var/lib", "var/log"];
  for (const d of shared) await Deno.mkdir(`${root}/${d}`, { recursive: true });
  for (const d of ["info", "updates", "triggers"]) {
    await Deno.mkdir(`${root}/var/lib/dpkg/${d}`, { recursive: true });
  }
  await Deno.writeTextFile(`${root}/var/lib/dpkg/available`, "");
  const known = ["base-files", "libc6:amd64", "libgcc-s1:amd64"];
  const q = await run(["dpkg-query", "-s", ...known]);
  assertEquals(q.code, 0, q.stderr);
  await Deno.writeTextFile(`${root}/var/lib/dpkg/status`, q.stdout.trim() + "\n\n");
  for (const p of known) {
    const list = p === "base-files" ? ["/.", ...shared.map((d) => `/${d}`)].join("\n") + "\n" : "";
    await Deno.writeTextFile(`${root}/var/lib/dpkg/info/${p}.list`, list);
  }
}

function dpkg(root: string, ...args: string[]) {
  return run([
    "dpkg",
    `--root=${root}`,
    "--force-script-chrootless",
    "--log=/dev/null",
    ...args,
  ]);
}

Deno.test({
  name: "deb: lintian --pedantic reports nothing beyond the shipped, explained overrides",
  ignore: !hasCommand("lintian") || !hasCommand("dpkg-deb"),
  fn: async () => {
    await buildDeb();
    // lintian leaves a cache file (mldbm-elf-*) in its TMPDIR: give it one that goes away.
    await using tmp = await tempDir();
    const r = await run(["lintian", "--pedantic", "-I", "--fail-on", "error,warning,info", DEB], {
      env: { TMPDIR: tmp.path },
    });
    const hints = r.stdout.split("\n").filter((l) => /^[EWIPX]: /.test(l));
    assertEquals(hints, [], r.stdout + r.stderr);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    // Every override carries its reason on the line(s) above it.
    const overrides = await run([
      "sh",
      "-c",
      `dpkg-deb --fsys-tarfile "$0" | tar -xO ./usr/share/lintian/overrides/bpfink`,
      DEB,
    ]);
    assertEquals(overrides.code, 0, overrides.stderr);
    const lines = overrides.stdout.trim().split("\n");
    lines.forEach((l, i) => {
      if (!l.startsWith("bpfink:")) return;
      let j = i - 1;
      while (lines[j]?.startsWith("bpfink:")) j--;
      assert(lines[j]?.startsWith("#"), `no reason above: ${l}`);
    });
  },
});

Deno.test({
  name:
    "deb: dpkg -i runs the binary and makes the key; -r keeps config and state; --purge leaves nothing",
  ignore: !hasCommand("dpkg-deb"),
  fn: async () => {
    await buildDeb();
    await using dir = await tempDir();
    const root = `${dir.path}/root`;
    await dpkgRoot(root);
    await Deno.mkdir(`${root}/var/cache`, { recursive: true }); // as on every Debian system
    const before = tree(root).filter((p) => !p.startsWith("var/lib/dpkg/"));

    const inst = await dpkg(root, "-i", DEB);
    assertEquals(inst.code, 0, inst.stdout + inst.stderr);
    const files = tree(root);
    for (
      const f of [
        "usr/bin/bpfink",
        "lib/systemd/system/bpfink.service",
        "etc/bpfink/config.yaml",
        "usr/share/man/man8/bpfink.8.gz",
        "usr/share/bash-completion/completions/bpfink",
        "usr/share/zsh/vendor-completions/_bpfink",
        "usr/share/fish/vendor_completions.d/bpfink.fish",
        "usr/share/doc/bpfink/README.md.gz",
        "usr/share/doc/bpfink/copyright",
        "usr/share/doc/bpfink/LICENSES.txt.gz",
        "usr/share/doc/bpfink/changelog.Debian.gz",
      ]
    ) assert(files.includes(f), `${f} is not installed`);
    const version = await run([`${root}/usr/bin/bpfink`, "--version"]);
    assertEquals(version.code, 0, version.stderr);
    assertIncludes(version.stdout, `bpfink ${denoJson.version} (`);
    const check = await run([
      `${root}/usr/bin/bpfink`,
      "config",
      "check",
      `${root}/etc/bpfink/config.yaml`,
    ]);
    assertEquals(check.code, 0, check.stdout + check.stderr);
    const unit = await Deno.readTextFile(`${root}/lib/systemd/system/bpfink.service`);
    assertIncludes(unit, "ExecStart=/usr/bin/bpfink run --config /etc/bpfink/config.yaml\n");
    if (hasCommand("systemd-analyze")) {
      // Verified with ExecStart pointed at the installed copy (the root is not booted).
      await Deno.writeTextFile(
        `${dir.path}/bpfink.service`,
        unit.replace("ExecStart=/usr/bin/bpfink", `ExecStart=${root}/usr/bin/bpfink`),
      );
      // Documentation=man:bpfink(8) is looked up in the installed man page.
      const v = await run(["systemd-analyze", "verify", `${dir.path}/bpfink.service`], {
        env: { MANPATH: `${root}/usr/share/man` },
      });
      assertEquals(v.code, 0, v.stderr);
    }
    const copyright = await Deno.readTextFile(`${root}/usr/share/doc/bpfink/copyright`);
    assertIncludes(copyright, "License: Apache-2.0");
    assertIncludes(copyright, "LGPL-2.1 OR BSD-2-Clause");
    const key = await Deno.stat(`${root}/etc/bpfink/hmac.key`);
    assertEquals([key.size, key.mode! & 0o777], [32, 0o600]);
    assertEquals((await Deno.stat(`${root}/etc/bpfink`)).mode! & 0o777, 0o700);

    // What the running agent makes: the database, a log output, the unpacked libbpf.
    await Deno.writeTextFile(`${root}/var/lib/bpfink/bpfink.db`, "db");
    await Deno.writeTextFile(`${root}/var/log/bpfink/events.json`, "{}\n");
    await Deno.mkdir(`${root}/run/bpfink`);
    await Deno.writeTextFile(`${root}/run/bpfink/libbpf-0123456789abcdef.so`, "so");
    await Deno.mkdir(`${root}/var/cache/bpfink/0123456789abcdef`, { recursive: true });
    await Deno.writeTextFile(`${root}/var/cache/bpfink/0123456789abcdef/bpfink`, "runtime");

    const rm = await dpkg(root, "-r", "bpfink");
    assertEquals(rm.code, 0, rm.stdout + rm.stderr);
    const kept = tree(root).filter((p) => !p.startsWith("var/lib/dpkg/") && !before.includes(p));
    assertEquals(kept, [
      "etc/bpfink",
      "etc/bpfink/config.yaml",
      "etc/bpfink/hmac.key",
      "run/bpfink",
      "run/bpfink/libbpf-0123456789abcdef.so",
      "var/lib/bpfink",
      "var/lib/bpfink/bpfink.db",
      "var/log/bpfink",
      "var/log/bpfink/events.json",
    ]);

    const purge = await dpkg(root, "--purge", "bpfink");
    assertEquals(purge.code, 0, purge.stdout + purge.stderr);
    assertEquals(tree(root).filter((p) => !p.startsWith("var/lib/dpkg/")), before);
    const status = await run(["dpkg-query", `--admindir=${root}/var/lib/dpkg`, "-W", "bpfink"]);
    assert(status.code !== 0, `bpfink still known to dpkg: ${status.stdout}`);
  },
});
