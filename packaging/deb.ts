/**
 * Builds bpfink's Debian package with dpkg-deb from dist/bpfink: the binary, the systemd unit
 * (deploy/systemd/bpfink.service with Debian's paths), the example config as a conffile, a
 * man page made from --help, shell completions, the README, the copyright file with every
 * license, and maintainer scripts that make the per-host key, enable the unit where systemd
 * runs, and remove bpfink's state on purge. Maintainer scripts honour DPKG_ROOT.
 *
 * @module
 */
import { type LicensePart, licensesText } from "./licenses.ts";

/** Inputs of the package. */
export interface DebInputs {
  /** Repository root, ending in "/". */
  root: string;
  /** dist/bpfink (any build way). */
  binary: string;
  /** Version of the agent (deno.json). */
  version: string;
  /** Every license part (packaging/licenses.ts). */
  licenses: LicensePart[];
  /** Staging directory (emptied first). */
  work: string;
  /** Directory to write the .deb into. */
  outDir: string;
  /** Changelog date (RFC 2822), e.g. from the last commit: reproducible builds. */
  date: string;
}

/** Override with BPFINK_DEB_MAINTAINER="Name <address>" for a published package. */
const MAINTAINER = Deno.env.get("BPFINK_DEB_MAINTAINER") ??
  "bpfink maintainers <bpfink-maintainers@users.noreply.example.org>";

async function output(cmd: string[]): Promise<string> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  if (!r.success) {
    throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(r.stderr).trim()}`);
  }
  return new TextDecoder().decode(r.stdout);
}

async function gzip(text: string | Uint8Array): Promise<Uint8Array> {
  // gzip -9n: no name or time stamp in the header (Debian policy 12.3, reproducible).
  const child = new Deno.Command("gzip", { args: ["-9n"], stdin: "piped", stdout: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(typeof text === "string" ? new TextEncoder().encode(text) : text);
  await w.close();
  const r = await child.output();
  if (!r.success) throw new Error("gzip failed");
  return r.stdout;
}

/** Escapes text for roff: backslashes, and lines that would start a request. */
function roff(text: string): string {
  return text.split("\n").map((l) => {
    const esc = l.replaceAll("\\", "\\e").replaceAll("-", "\\-");
    return /^[.']/.test(esc) ? `\\&${esc}` : esc;
  }).join("\n");
}

/** A minimal bpfink(8) from `bpfink --help`: name, synopsis, then the help verbatim. */
export function manPage(help: string, version: string, date: string): string {
  const summary =
    "file\\-integrity monitoring with BPF: reports what changed in watched files, and who changed it";
  return [
    `.TH BPFINK 8 "${date}" "bpfink ${version}" "System Administration"`,
    ".SH NAME",
    `bpfink \\- ${summary}`,
    ".SH SYNOPSIS",
    ".B bpfink",
    "[\\fIoptions\\fR] [\\fIcommand\\fR]",
    ".SH DESCRIPTION",
    "The text below is the output of",
    '.BR "bpfink \\-\\-help" .',
    ".PP",
    ".nf",
    roff(help.trimEnd()),
    ".fi",
    ".SH FILES",
    "/etc/bpfink/config.yaml, /etc/bpfink/hmac.key, /var/lib/bpfink/bpfink.db",
    ".SH SEE ALSO",
    ".BR systemctl (1)",
    "",
  ].join("\n");
}

/** The Debian unit: ExecStart at /usr/bin, documentation in the man page. */
export function debianUnit(unit: string): string {
  const swaps: [string, string][] = [
    ["ExecStart=/usr/local/bin/bpfink ", "ExecStart=/usr/bin/bpfink "],
    ["Documentation=file:///usr/share/doc/bpfink/README.md", "Documentation=man:bpfink(8)"],
  ];
  for (const [from, to] of swaps) {
    if (unit.split(from).length !== 2) {
      throw new Error(`deploy/systemd/bpfink.service should hold "${from}" exactly once`);
    }
    unit = unit.replace(from, to);
  }
  return unit;
}

/**
 * A bundled license as the copyright file carries it: full GPL, LGPL and Apache-2.0 texts are
 * replaced by their place in /usr/share/common-licenses (lintian: copyright-file-contains-full-*);
 * every text stays in full in /usr/share/doc/bpfink/LICENSES.txt.gz.
 */
function forCopyright(text: string): string {
  const APACHE = /Apache License\s+Version 2\.0, January 2004/;
  const sections = text.split(/^(?===== )/m);
  const kept = sections.filter((sec) => !/^==== \S*L?GPL/i.test(sec) && !APACHE.test(sec));
  const notes: string[] = [];
  if (kept.length < sections.length && sections.some((x) => /^==== \S*L?GPL/i.test(x))) {
    notes.push(
      "The GNU license texts named above: /usr/share/common-licenses/ (LGPL-2.1, LGPL-3, GPL-2).",
    );
  }
  if (sections.some((x) => APACHE.test(x))) {
    notes.push("Licensed under the Apache License 2.0: /usr/share/common-licenses/Apache-2.0.");
  }
  const body = kept.join("").trim();
  return [body, ...notes, "In full: /usr/share/doc/bpfink/LICENSES.txt.gz."].filter((x) => x)
    .join("\n\n");
}

/** debian/copyright in the machine-readable format, with each bundled license's text. */
function copyright(licenses: LicensePart[]): string {
  const indent = (t: string) =>
    t.trim().split("\n").map((l) => (l.trim() === "" ? " ." : ` ${l}`)).join("\n");
  const bundled = licenses.slice(1).map((p) =>
    `License: ${p.name.replace(/[^A-Za-z0-9.+@/ -]/g, "")}\n${indent(forCopyright(p.text))}`
  );
  return [
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
    "Upstream-Name: bpfink",
    "",
    "Files: *",
    "Copyright: bpfink authors",
    "License: Apache-2.0",
    "Comment: usr/bin/bpfink also embeds the components listed in the License paragraphs",
    " below (libbpf is used under BSD-2-Clause, one of its LGPL-2.1 OR BSD-2-Clause choices).",
    " Every license text, in full: /usr/share/doc/bpfink/LICENSES.txt.gz.",
    "",
    "License: Apache-2.0",
    " On Debian systems the full text of the Apache License 2.0 is in",
    " /usr/share/common-licenses/Apache-2.0.",
    "",
    ...bundled.map((b) => `${b}\n`),
  ].join("\n");
}

const POSTINST = `#!/bin/sh
# bpfink postinst: the per-host key (made once, never replaced), the state directories,
# and the unit enabled (and started where systemd runs this root).
set -e
if [ "$1" = configure ]; then
  umask 077
  mkdir -p "$DPKG_ROOT/var/lib/bpfink" "$DPKG_ROOT/var/log/bpfink"
  if [ ! -e "$DPKG_ROOT/etc/bpfink/hmac.key" ]; then
    head -c 32 /dev/urandom > "$DPKG_ROOT/etc/bpfink/hmac.key.new"
    mv "$DPKG_ROOT/etc/bpfink/hmac.key.new" "$DPKG_ROOT/etc/bpfink/hmac.key"
  fi
  if [ -z "$DPKG_ROOT" ]; then
    deb-systemd-helper unmask bpfink.service >/dev/null || true
    if deb-systemd-helper --quiet was-enabled bpfink.service; then
      deb-systemd-helper enable bpfink.service >/dev/null || true
    else
      deb-systemd-helper update-state bpfink.service >/dev/null || true
    fi
    if [ -d /run/systemd/system ]; then
      systemctl --system daemon-reload >/dev/null || true
      deb-systemd-invoke restart bpfink.service >/dev/null || true
    fi
  fi
fi
exit 0
`;

const PRERM = `#!/bin/sh
# bpfink prerm: stop the service before its binary goes.
set -e
if [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  deb-systemd-invoke stop bpfink.service >/dev/null || true
fi
exit 0
`;

const POSTRM = `#!/bin/sh
# bpfink postrm: on purge, the key, the baseline database, bpfink's logs and runtime files
# go too (they were made by bpfink or its postinst, not shipped).
set -e
if [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
# The unpacked runtime (packaging/runtime_cache.h) is a cache of the removed binary.
if [ "$1" = remove ] || [ "$1" = purge ]; then
  rm -rf "$DPKG_ROOT/var/cache/bpfink"
fi
if [ "$1" = purge ]; then
  rm -f "$DPKG_ROOT/etc/bpfink/hmac.key" "$DPKG_ROOT/etc/bpfink/hmac.key.new"
  rmdir "$DPKG_ROOT/etc/bpfink" 2>/dev/null || true
  rm -rf "$DPKG_ROOT/var/lib/bpfink" "$DPKG_ROOT/var/log/bpfink" "$DPKG_ROOT/run/bpfink"
  if [ -z "$DPKG_ROOT" ]; then
    deb-systemd-helper purge bpfink.service >/dev/null || true
    deb-systemd-helper unmask bpfink.service >/dev/null || true
  fi
fi
exit 0
`;

const LINTIAN_OVERRIDES =
  `# Built by build.ts for direct installation, not uploaded to Debian: no bug to close.
bpfink: initial-upload-closes-no-bugs [usr/share/doc/bpfink/changelog.Debian.gz:1]
# The config may hold output credentials (HTTP tokens): root only, like the key beside it.
bpfink: non-standard-dir-perm 0700 != 0755 [etc/bpfink/]
bpfink: non-standard-file-perm 0600 != 0644 [etc/bpfink/config.yaml]
# The "words" are bytes of the zstd-compressed payload appended to the launcher.
bpfink: spelling-error-in-binary * [usr/bin/bpfink]
# The embedded libbpf bundle (uncompressed after the payload, read by the agent at start) has
# zlib linked in statically, so it needs only glibc; its licence is in the copyright file.
bpfink: embedded-library zlib [usr/bin/bpfink]
# A systemd service only: bpfink needs BPF, and ships no sysvinit script.
bpfink: package-supports-alternative-init-but-no-init.d-script [lib/systemd/system/bpfink.service]
`;

/** Builds the .deb; returns its path. */
export async function buildDeb(i: DebInputs): Promise<string> {
  const arch = "amd64";
  const debVersion = `${i.version}-1`;
  const stage = `${i.work}/bpfink_${debVersion}_${arch}`;
  await Deno.remove(stage, { recursive: true }).catch(() => {});
  const put = async (path: string, data: string | Uint8Array, mode = 0o644) => {
    const full = `${stage}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof data === "string") await Deno.writeTextFile(full, data);
    else await Deno.writeFile(full, data);
    await Deno.chmod(full, mode);
  };
  const help = await output([i.binary, "--help"]);
  const day = new Date(i.date);
  const manDate = day.toISOString().slice(0, 10);

  await put("usr/bin/bpfink", await Deno.readFile(i.binary), 0o755);
  await put(
    "lib/systemd/system/bpfink.service",
    debianUnit(await Deno.readTextFile(`${i.root}deploy/systemd/bpfink.service`)),
  );
  await put(
    "etc/bpfink/config.yaml",
    await Deno.readTextFile(`${i.root}examples/config.yaml`),
    0o600,
  );
  await Deno.chmod(`${stage}/etc/bpfink`, 0o700);
  await put("usr/share/man/man8/bpfink.8.gz", await gzip(manPage(help, i.version, manDate)));
  const completions: [string, string][] = [
    ["bash", "usr/share/bash-completion/completions/bpfink"],
    ["zsh", "usr/share/zsh/vendor-completions/_bpfink"],
    ["fish", "usr/share/fish/vendor_completions.d/bpfink.fish"],
  ];
  for (const [shell, path] of completions) {
    await put(path, await output([i.binary, "completions", shell]));
  }
  const doc = "usr/share/doc/bpfink";
  await put(`${doc}/README.md.gz`, await gzip(await Deno.readFile(`${i.root}README.md`)));
  await put(`${doc}/copyright`, copyright(i.licenses));
  await put(`${doc}/LICENSES.txt.gz`, await gzip(licensesText(i.licenses)));
  await put(
    `${doc}/examples/config.yaml`,
    await Deno.readTextFile(`${i.root}examples/config.yaml`),
  );
  await put(
    `${doc}/changelog.Debian.gz`,
    await gzip(
      `bpfink (${debVersion}) unstable; urgency=medium\n\n  * Built by build.ts deb from dist/bpfink.\n\n -- ${MAINTAINER}  ${i.date}\n`,
    ),
  );
  await put("usr/share/lintian/overrides/bpfink", LINTIAN_OVERRIDES);

  const installedKb = Math.ceil(
    Number(await output(["du", "-sk", "--apparent-size", stage]).then((s) => s.split("\t")[0])),
  );
  await put(
    "DEBIAN/control",
    [
      "Package: bpfink",
      `Version: ${debVersion}`,
      `Architecture: ${arch}`,
      `Maintainer: ${MAINTAINER}`,
      `Installed-Size: ${installedKb}`,
      "Depends: libc6 (>= 2.27), libgcc-s1",
      "Section: admin",
      "Priority: optional",
      "Description: file-integrity monitoring with BPF",
      " bpfink filters file events inside the kernel with BPF, by inode, and reports",
      " each change to a watched file with the process and user that made it. Files",
      " it understands (passwd, shadow, group, gshadow, sudoers, access.conf) are",
      " reported by meaning; secrets such as password hashes never reach an output.",
      "",
    ].join("\n"),
  );
  await put("DEBIAN/conffiles", "/etc/bpfink/config.yaml\n");
  await put("DEBIAN/postinst", POSTINST, 0o755);
  await put("DEBIAN/prerm", PRERM, 0o755);
  await put("DEBIAN/postrm", POSTRM, 0o755);
  const sums = await output([
    "sh",
    "-c",
    `cd ${
      JSON.stringify(stage)
    } && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\\./##' | LC_ALL=C sort | xargs md5sum`,
  ]);
  await put("DEBIAN/md5sums", sums);

  await Deno.mkdir(i.outDir, { recursive: true });
  const deb = `${i.outDir}/bpfink_${debVersion}_${arch}.deb`;
  // gzip: the binary's payload is zstd already, so xz would only take longer.
  await output(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", stage, deb]);
  return deb;
}
