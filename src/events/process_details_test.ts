import { assertEquals } from "../../test/assert.ts";
import { cgroupPathOf, containerIdOf, processDetails } from "./process_details.ts";

const ID = "4f1c9c7b3e2a1d0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f";

Deno.test("container ids are found in docker, containerd, CRI-O and podman cgroup paths", () => {
  assertEquals(containerIdOf(`/system.slice/docker-${ID}.scope`), ID);
  assertEquals(containerIdOf(`/kubepods/besteffort/pod1/cri-containerd-${ID}.scope`), ID);
  assertEquals(containerIdOf(`/machine.slice/libpod-${ID}.scope`), ID);
  assertEquals(containerIdOf(`/kubepods.slice/crio-${ID}.scope`), ID);
  assertEquals(containerIdOf(`/docker/${ID}`), ID);
  assertEquals(containerIdOf("/user.slice/user-1000.slice/session-2.scope"), undefined);
});

Deno.test("the cgroup v2 line wins; v1 files fall back to their first line", () => {
  assertEquals(cgroupPathOf("0::/system.slice/sshd.service\n"), "/system.slice/sshd.service");
  assertEquals(cgroupPathOf("12:pids:/docker/abc\n11:cpu:/docker/abc\n"), "/docker/abc");
  assertEquals(cgroupPathOf(""), undefined);
});

Deno.test("details of this very process: its executable and cgroup", () => {
  const d = processDetails(Deno.pid, Deno.execPath().split("/").at(-1)!);
  assertEquals(d.executable, Deno.realPathSync(Deno.execPath()));
  assertEquals(typeof d.cgroup, "string");
});
