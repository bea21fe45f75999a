/**
 * The guest-kernel harness end to end on Debian's 6.1: fetch (cached in
 * .cache/kernels), image, boot, marker. Fails when qemu is missing (CI installs
 * it with ./setup.sh --test); ignored, with the mirror's reason in
 * its name, only when the kernel cannot be fetched.
 */
import { type GuestKernel, guestKernel } from "../../kernels/guests.ts";
import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { boot, runJobs } from "./boot.ts";
import { fetchKernel } from "./fetch.ts";
import { GUEST_MOUNTS } from "./guest_init.ts";
import { buildInitramfs, memoryForImage } from "./initramfs.ts";

const KERNEL = guestKernel("6.1");
const fetched = await fetchKernel(KERNEL);
const skipped = fetched.status === "skipped" ? ` (skipped: ${fetched.reason})` : "";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-harness-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CHECK = `uname -r
for fs in ${GUEST_MOUNTS.map(([type]) => type).join(" ")}; do
  grep -q " $fs " /proc/mounts && echo "mounted $fs"
done
exit 3`;

Deno.test({
  name: `6.1 boots, runs the command and reports its exit status, output and release${skipped}`,
  ignore: fetched.status === "skipped",
  fn: () =>
    withTempDir(async (dir) => {
      const check = await buildInitramfs({ command: CHECK }, `${dir}/check.cpio`);
      const ok = await buildInitramfs({ command: "echo fine" }, `${dir}/ok.cpio`);
      const missing: GuestKernel = {
        ...KERNEL,
        suites: ["bookworm-updates"],
        metaPackage: "linux-image-bpfink-no-such-package",
      };
      const [a, b] = await runJobs([
        { kernel: KERNEL, initramfs: check, name: "check" },
        { kernel: KERNEL, initramfs: ok, name: "ok" },
      ], { logDir: `${dir}/logs` });
      // A mirror that no longer has the package: its own cache, so the real one is untouched.
      const [c] = await runJobs([{ kernel: missing, initramfs: ok }], {
        logDir: `${dir}/logs`,
        cacheDir: `${dir}/cache`,
      });

      assertEquals(a.exitCode, 3, a.log ? `${a.reason} (log ${a.log})` : a.reason);
      assertEquals([a.status, a.reason], ["fail", "exit status 3"]);
      assert(KERNEL.release.test(a.release ?? ""), `release ${a.release} does not match the table`);
      const [uname, ...mounted] = a.output.split("\n");
      assertEquals(uname, a.release);
      assertEquals(mounted, GUEST_MOUNTS.map(([type]) => `mounted ${type}`));
      assertIncludes(await Deno.readTextFile(a.log), `${check.marker} exit 3`);

      assertEquals([b.status, b.exitCode, b.output, b.reason], ["pass", 0, "fine", ""]);
      assertEquals(c.status, "skipped");
      assertIncludes(c.reason, "linux-image-bpfink-no-such-package");
    }),
});

Deno.test({
  name: `an image too big for the guest's RAM is reported, not passed${skipped}`,
  ignore: fetched.status === "skipped",
  fn: () =>
    withTempDir(async (dir) => {
      if (fetched.status === "skipped") return;
      // 240 MiB in 512 MiB of RAM: the unpacking runs out of memory half way.
      const zeros = await Deno.open(`${dir}/big`, { write: true, create: true });
      await zeros.truncate(240 * 1024 * 1024);
      zeros.close();
      const image = await buildInitramfs(
        { command: "exit 0", payload: [{ host: `${dir}/big`, guest: "/big" }] },
        `${dir}/big.cpio`,
      );
      assert(image.memoryMiB === memoryForImage(image.bytes) && image.memoryMiB > 900);
      await Deno.remove(`${dir}/big`);
      const refused = await boot({
        kernel: KERNEL.id,
        vmlinux: fetched.vmlinux,
        initramfs: image,
        memoryMiB: 512,
        log: `${dir}/refused.log`,
      });
      assertEquals(refused.status, "fail");
      assertIncludes(refused.reason, "below 3 × image + 256 MiB");
      // Lie about the size to get past the rule: the kernel's own failure must be caught.
      const r = await boot({
        kernel: KERNEL.id,
        vmlinux: fetched.vmlinux,
        initramfs: { ...image, bytes: 0 },
        memoryMiB: 512,
        log: `${dir}/big.log`,
        timeoutSeconds: 60,
      });
      assertEquals(r.status, "fail");
      assertIncludes(r.reason, "Initramfs unpacking failed");
    }),
});
