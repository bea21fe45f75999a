/**
 * The guest's `/init` and the marker lines it prints on the serial console,
 * with the parser for them: the one place that knows this format.
 *
 * The init mounts the pseudo file systems BPF work needs, prints
 * `<marker> start <uname -r>`, runs `/job.sh` (the caller's command) in
 * `/root` with stdin from /dev/null, prints `<marker> exit <status>` on a line
 * of its own, and powers off.
 *
 * @module
 */

/** The pseudo file systems the init mounts: type and mount point. */
export const GUEST_MOUNTS: readonly (readonly [string, string])[] = [
  ["proc", "/proc"],
  ["sysfs", "/sys"],
  ["devtmpfs", "/dev"],
  ["tmpfs", "/tmp"],
  ["tracefs", "/sys/kernel/tracing"],
  ["debugfs", "/sys/kernel/debug"],
  ["bpf", "/sys/fs/bpf"],
  ["securityfs", "/sys/kernel/security"],
];

/** Where the caller's command is written in the image. */
export const JOB_PATH = "/job.sh";

/** A marker unique to one image, so no guest output can fake it. */
export function newMarker(): string {
  const hex = [...crypto.getRandomValues(new Uint8Array(6))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `BPFINK-GUEST-${hex}`;
}

/** The `/init` script for an image whose marker is `marker`. */
export function initScript(marker: string): string {
  const mounts = GUEST_MOUNTS.map(([type, at]) => `mount -t ${type} ${type} ${at}`);
  return [
    "#!/bin/sh",
    "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb",
    ...mounts,
    "hostname guest",
    `echo "${marker} start $(uname -r)"`,
    "cd /root",
    `/bin/sh ${JOB_PATH} </dev/null`,
    "status=$?",
    "echo",
    `echo "${marker} exit $status"`,
    "poweroff -f",
    "",
  ].join("\n");
}

/** What the console says about one guest run. */
export interface GuestConsole {
  /** `uname -r` in the guest, when the init got that far. */
  release?: string;
  /** The command's exit status, when its end was seen. */
  exitCode?: number;
  /** What the command printed (between the start and exit markers), with `\r` removed. */
  output: string;
}

/** Reads the marker lines of `marker` out of a serial console capture. */
export function parseConsole(text: string, marker: string): GuestConsole {
  const lines = text.replace(/\r/g, "").split("\n");
  const start = lines.findIndex((l) => l.startsWith(`${marker} start `));
  const end = lines.findIndex((l) => l.startsWith(`${marker} exit `));
  const result: GuestConsole = { output: "" };
  if (start >= 0) result.release = lines[start].slice(`${marker} start `.length).trim();
  if (end >= 0) {
    const code = Number(lines[end].slice(`${marker} exit `.length).trim());
    if (Number.isInteger(code)) result.exitCode = code;
  }
  if (start >= 0) {
    // The init echoes an empty line before the exit marker; it is not the command's.
    const body = lines.slice(start + 1, end > start ? end - 1 : undefined);
    result.output = body.join("\n");
  }
  return result;
}
