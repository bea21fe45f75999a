/**
 * Which consumer reads which file: by configuration, else by the directory
 * it is in when a program reads that directory's files, else by the file's
 * name (passwd, shadow, group, gshadow, sudoers, files under sudoers.d/,
 * access.conf and access.d/*.conf, authorized_keys, sshd_config and sshd_config.d/*.conf,
 * crontab, cron.d/* and crontabs/*, ld.so.preload, pam.d/*, systemd's unit
 * files and drop-ins, shells' startup files and profile.d/*.sh, udev rules,
 * apt.conf and apt.conf.d/*, modprobe.d/*.conf, nsswitch.conf,
 * environment, pam_env.conf, sudo.conf, logrotate.conf and logrotate.d/*,
 * sysctl.conf and sysctl.d/*.conf); anything
 * else is generic.
 *
 * @module
 */
import type { ConsumerName } from "../config/config_types.ts";
import { accessConsumer } from "./access/access_consumer.ts";
import type { Consumer } from "./consumer.ts";
import { groupsConsumer } from "./groups/groups_consumer.ts";
import { sudoersConsumer } from "./sudoers/sudoers_consumer.ts";
import { sudoSkipsInDir } from "./sudoers/sudoers.ts";
import { usersConsumer } from "./users/users_consumer.ts";
import { sshKeysConsumer } from "./ssh_keys/ssh_keys_consumer.ts";
import { sshdConsumer } from "./sshd/sshd_consumer.ts";
import { cronConsumer } from "./cron/cron_consumer.ts";
import { preloadConsumer } from "./preload/preload_consumer.ts";
import { pamConsumer } from "./pam/pam_consumer.ts";
import { systemdConsumer } from "./systemd/systemd_consumer.ts";
import { shellConsumer } from "./shell/shell_consumer.ts";
import { HOME_FILES, PROFILE_DIR, SYSTEM_FILES } from "./shell/shell_files.ts";
import { hookConsumer } from "./hooks/hook_consumer.ts";
import { UDEV } from "./hooks/udev_rules.ts";
import { APT } from "./hooks/apt_hooks.ts";
import { MODPROBE } from "./hooks/modprobe_commands.ts";
import { LOGROTATE } from "./hooks/logrotate_scripts.ts";
import { nssConsumer } from "./nss/nsswitch.ts";
import { environmentConsumer } from "./environment/environment_file.ts";
import { sysctlConsumer } from "./sysctl/sysctl_conf.ts";
import { sudoConfConsumer } from "./sudo_conf/sudo_conf.ts";
import { lastName, parentName } from "../watch/path_names.ts";

/**
 * Consumers by file name. A Map, not an object: a file name is the
 * attacker's, and `constructor` or `__proto__` would find Object's own
 * members in an object literal (and a consumer name that is a function
 * could not be stored).
 */
const BY_NAME = new Map<string, ConsumerName>([
  ["passwd", "users"],
  ["shadow", "users"],
  ["group", "groups"],
  ["gshadow", "groups"],
  ["sudoers", "sudoers"],
  ["access.conf", "access"],
  ["authorized_keys", "ssh_keys"],
  ["authorized_keys2", "ssh_keys"],
  ["sshd_config", "sshd"],
  ["crontab", "cron"],
  ["ld.so.preload", "preload"],
  ...[...SYSTEM_FILES, ...HOME_FILES].map((n): [string, ConsumerName] => [n, "shell"]),
  ["apt.conf", "apt"],
  ["nsswitch.conf", "nss"],
  ["environment", "environment"],
  ["pam_env.conf", "environment"],
  ["sudo.conf", "sudo_conf"],
  ["logrotate.conf", "logrotate"],
  ["sysctl.conf", "sysctl"],
]);

/**
 * Consumers by the name of the directory a file is in, for the files of it
 * that the program reading the directory reads (the others are generic).
 */
const BY_DIR = new Map<string, { consumer: ConsumerName; reads: (name: string) => boolean }>([
  // sudo's includedir skips a name ending in `~` or holding a `.`.
  ["sudoers.d", { consumer: "sudoers", reads: (n) => !sudoSkipsInDir(n) }],
  // cron reads cron.d's files named as run-parts names them (not `x.dpkg-old`).
  ["cron.d", { consumer: "cron", reads: (n) => /^[A-Za-z0-9_-]+$/.test(n) }],
  ["crontabs", { consumer: "cron", reads: () => true }],
  ["pam.d", { consumer: "pam", reads: () => true }],
  // pam_access reads `access.d/*.conf` (glob: not a name led by `.`) when access.conf has no
  // matching rule and the PAM line names no `accessfile=`.
  ["access.d", { consumer: "access", reads: (n) => n.endsWith(".conf") && !n.startsWith(".") }],
  // Debian's sshd_config reads `sshd_config.d/*.conf` (glob: not a name led by `.`).
  ["sshd_config.d", { consumer: "sshd", reads: (n) => n.endsWith(".conf") && !n.startsWith(".") }],
  // /etc/profile sources `profile.d/*.sh`.
  [PROFILE_DIR, { consumer: "shell", reads: (n) => n.endsWith(".sh") && !n.startsWith(".") }],
  // apt reads names of letters, digits, `_`, `-` and `.` with no extension or `.conf`.
  ["apt.conf.d", {
    consumer: "apt",
    reads: (n) => /^[A-Za-z0-9_.-]+$/.test(n) && (!n.includes(".") || n.endsWith(".conf")),
  }],
  ["modprobe.d", { consumer: "modprobe", reads: (n) => n.endsWith(".conf") }],
  // systemd-sysctl reads `sysctl.d/*.conf`.
  ["sysctl.d", { consumer: "sysctl", reads: (n) => n.endsWith(".conf") }],
  // logrotate skips names ending as a package manager's or an editor's leftovers.
  ["logrotate.d", {
    consumer: "logrotate",
    reads: (n) =>
      !n.startsWith(".") &&
      !/(\.dpkg-(old|dist|new|bak|del|tmp)|\.ucf-(old|dist|new)|\.rpm(orig|save|new)|,v|\.swp|~|\.disabled|\.cfsaved)$/
        .test(n),
  }],
]);

/**
 * The consumer name a path gets when none is configured. The backups
 * shadow-utils keep (`passwd-`, `shadow-`, `group-`, `gshadow-`) go to
 * their database's consumer, which reports them as plain files only and
 * keeps none of their content (they may hold hashes). Files in a
 * `sudoers.d` that sudo's includedir skips (a name ending in `~` or holding
 * a `.`) are generic: sudo never reads them.
 */
export function consumerNameFor(path: string): ConsumerName {
  const last = lastName(path);
  // The directory first: what a program reads from it is read its way whatever the file's name
  // (a name is the writer's: `/etc/cron.d/group` is a cron job, `/etc/pam.d/passwd` the passwd
  // command's PAM service, neither a group nor a passwd database).
  const byDir = BY_DIR.get(parentName(path));
  if (byDir) return byDir.reads(last) ? byDir.consumer : "generic";
  if (isSystemdUnit(path, last)) return "systemd";
  if (last.endsWith(".rules") && path.endsWith(`/udev/rules.d/${last}`)) return "udev";
  const name = last.endsWith("-") ? last.slice(0, -1) : last;
  return BY_NAME.get(name) ?? "generic";
}

/** The kinds of unit systemd reads settings of, by suffix. */
const UNIT_KINDS = "service|socket|timer|path|mount|automount|swap";
const UNIT = new RegExp(`\\.(${UNIT_KINDS})$`);
const DROP_IN_DIR = new RegExp(`\\.(${UNIT_KINDS})\\.d$`);

/**
 * A unit file (`x.service`) or a drop-in (`x.service.d/y.conf`) under a
 * `systemd` directory (`/etc/systemd/system`, `/usr/lib/systemd/system`,
 * `~/.config/systemd/user`): other programs name files `.service` too
 * (avahi's are XML).
 */
function isSystemdUnit(path: string, last: string): boolean {
  if (!path.includes("/systemd/")) return false;
  return UNIT.test(last) || (last.endsWith(".conf") && DROP_IN_DIR.test(parentName(path)));
}

const SEMANTIC: Partial<Record<ConsumerName, Consumer>> = {
  users: usersConsumer,
  groups: groupsConsumer,
  sudoers: sudoersConsumer,
  access: accessConsumer,
  ssh_keys: sshKeysConsumer,
  sshd: sshdConsumer,
  cron: cronConsumer,
  preload: preloadConsumer,
  pam: pamConsumer,
  systemd: systemdConsumer,
  shell: shellConsumer,
  udev: hookConsumer(UDEV),
  apt: hookConsumer(APT),
  modprobe: hookConsumer(MODPROBE),
  logrotate: hookConsumer(LOGROTATE),
  nss: nssConsumer,
  environment: environmentConsumer,
  sudo_conf: sudoConfConsumer,
  sysctl: sysctlConsumer,
};

/** The semantic consumer for `name`, or undefined for generic files. */
export function semanticConsumer(name: ConsumerName): Consumer | undefined {
  return Object.hasOwn(SEMANTIC, name) ? SEMANTIC[name] : undefined;
}
