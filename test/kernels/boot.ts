/**
 * Boots a kernel with an initramfs under qemu (software emulation), captures
 * the serial console, and reads the guest's exit marker.
 *
 * @module
 */
import { MARKER } from "./initramfs.ts";

/** The outcome of one boot. */
export interface BootResult {
  ok: boolean;
  /** The guest command's exit status, when the marker was seen. */
  exit?: number;
  console: string;
  seconds: number;
  reason?: string;
}

/** Boots `vmlinux` with `initrd`; `memMiB` must hold 3 × the image plus 256 MiB. */
export async function boot(
  vmlinux: string,
  initrd: string,
  memMiB: number,
  timeoutS = 300,
): Promise<BootResult> {
  const t0 = performance.now();
  const r = await new Deno.Command("timeout", {
    args: [
      String(timeoutS),
      "qemu-system-x86_64",
      "-accel",
      "tcg",
      "-nodefaults",
      "-no-user-config",
      "-machine",
      "pc",
      "-cpu",
      "max",
      "-smp",
      "1",
      "-m",
      String(memMiB),
      "-display",
      "none",
      "-monitor",
      "none",
      "-serial",
      "stdio",
      "-no-reboot",
      "-kernel",
      vmlinux,
      "-initrd",
      initrd,
      "-append",
      "console=ttyS0 panic=-1 quiet",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  const seconds = (performance.now() - t0) / 1000;
  if (text.includes("Initramfs unpacking failed")) {
    return {
      ok: false,
      console: text,
      seconds,
      reason: "initramfs unpacking failed: give the guest more memory",
    };
  }
  const m = new RegExp(`${MARKER} (\\d+)`).exec(text);
  if (!m) {
    return {
      ok: false,
      console: text,
      seconds,
      reason: r.code === 124 ? `timed out after ${timeoutS} s` : "no exit marker",
    };
  }
  return { ok: Number(m[1]) === 0, exit: Number(m[1]), console: text, seconds };
}
