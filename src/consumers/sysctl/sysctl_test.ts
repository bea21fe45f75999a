import { assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { consumerNameFor } from "../registry.ts";
import { diffSysctl, dottedKey, parseSysctl, sysctlPrograms } from "./sysctl_conf.ts";

Deno.test("sysctl: which files, read as systemd-sysctl reads them", () => {
  assertEquals(consumerNameFor("/etc/sysctl.conf"), "sysctl");
  assertEquals(consumerNameFor("/etc/sysctl.d/99-x.conf"), "sysctl");
  assertEquals(consumerNameFor("/usr/lib/sysctl.d/50-default.conf"), "sysctl");
  // Not a .conf: systemd-sysctl skips it.
  assertEquals(consumerNameFor("/etc/sysctl.d/README.sysctl"), "generic");
  assertEquals(dottedKey("kernel/core_pattern"), "kernel.core_pattern");
  assertEquals(dottedKey("net/ipv4/conf/eth0.100/rp_filter"), "net.ipv4.conf.eth0/100.rp_filter");
  assertEquals(dottedKey("net.ipv4.conf.eth0/100.rp_filter"), "net.ipv4.conf.eth0/100.rp_filter");
  assertEquals(
    parseSysctl(
      "# c\n; c\nvm.swappiness=10\n  -kernel/sysrq = 1  \nnoequals\n = x\nvm.swappiness = 60\n",
    ).map((s) => [s.key, s.value, s.line]),
    [["vm.swappiness", "60", 7], ["kernel.sysrq", "1", 4]],
  );
});

Deno.test("sysctl: a program the kernel runs as root, added, is critical and watched; a lowered protection high", () => {
  const before = parseSysctl("vm.swappiness = 10\nkernel.core_pattern = core\n");
  const after = parseSysctl(
    "vm.swappiness = 20\nkernel.core_pattern = |/var/tmp/.c %p\nkernel.yama.ptrace_scope = 0\n" +
      "kernel.modprobe = /opt/m\n",
  );
  assertEquals(
    diffSysctl(before, after, "/etc/sysctl.d/99-x.conf").map((c) => [
      c.action,
      changeSeverity(c),
      c.message,
    ]),
    // Most severe first (ChangeList), then in the file's order.
    [
      [
        "sysctl_setting_changed",
        "critical",
        "the kernel runs /var/tmp/.c as root (kernel.core_pattern = |/var/tmp/.c %p) (was core)",
      ],
      [
        "sysctl_setting_added",
        "critical",
        "the kernel runs /opt/m as root (kernel.modprobe = /opt/m)",
      ],
      ["sysctl_setting_added", "high", "kernel setting at boot: kernel.yama.ptrace_scope = 0"],
      ["sysctl_setting_changed", "medium", "kernel setting at boot: vm.swappiness = 20 (was 10)"],
    ],
  );
  assertEquals(
    diffSysctl(after, before, "f").filter((c) => c.action === "sysctl_setting_removed").length,
    2,
  );
  assertEquals(sysctlPrograms(after).map((p) => [p.path, p.severity]), [
    ["/var/tmp/.c", "critical"],
    ["/opt/m", "critical"],
  ]);
  // A specifier in the program's path names no one file; a core file name runs nothing.
  assertEquals(
    sysctlPrograms(parseSysctl("kernel.core_pattern=|/opt/%e/x\nkernel.modprobe=rel\n")),
    [],
  );
  assertEquals(sysctlPrograms(parseSysctl("kernel.core_pattern=/tmp/core.%p\n")), []);
});
