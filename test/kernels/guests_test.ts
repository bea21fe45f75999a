/**
 * kernels/guests.ts against the kernels themselves: each family's claimed
 * features match the build config of the image its meta-package resolves to
 * (fetched into .cache/kernels). A family that cannot be fetched is ignored
 * with the mirror's reason in the test name.
 */
import { type Feature, GUEST_KERNELS, type Support } from "../../kernels/guests.ts";
import { assertEquals } from "../assert.ts";
import { fetchKernel } from "./fetch.ts";

type Config = Map<string, string>;

function parseConfig(text: string): Config {
  const m: Config = new Map();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (line.startsWith("CONFIG_") && eq > 0) m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return m;
}

/** True when `release` (uname -r) is `major.minor` or later. */
function atLeast(release: string, major: number, minor: number): boolean {
  const [a, b] = release.split(".").map((n) => parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

/** What the config (and, for the ring buffer, the version) says about each feature. */
function fromConfig(c: Config, release: string): Record<Feature, Support["has"]> {
  const y = (o: string) => c.get(o) === "y";
  const lsmList = (c.get("CONFIG_LSM") ?? "").replace(/"/g, "").split(",");
  return {
    tracepoint: y("CONFIG_FTRACE_SYSCALLS") ? "yes" : "no",
    kprobe: y("CONFIG_KPROBE_EVENTS") ? "yes" : "no",
    fentry: y("CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS") ? "yes" : "no",
    lsm: !y("CONFIG_BPF_LSM") ? "no" : lsmList.includes("bpf") ? "yes" : "boot-param",
    ringbuf: y("CONFIG_BPF_SYSCALL") && atLeast(release, 5, 8) ? "yes" : "no",
    btf: y("CONFIG_DEBUG_INFO_BTF") ? "yes" : "no",
    kprobeMulti: y("CONFIG_FPROBE") ? "yes" : "no",
  };
}

for (const k of GUEST_KERNELS) {
  const f = await fetchKernel(k);
  Deno.test({
    name: `kernels/guests.ts matches the ${k.id} image's config${
      f.status === "skipped" ? ` (skipped: ${f.reason})` : ""
    }`,
    ignore: f.status === "skipped",
    fn: async () => {
      if (f.status === "skipped") return;
      assertEquals(k.release.test(f.manifest.release), true, `release ${f.manifest.release}`);
      const claimed = Object.fromEntries(
        Object.entries(k.supports).map(([feature, s]) => [feature, s.has]),
      );
      assertEquals(
        claimed,
        fromConfig(parseConfig(await Deno.readTextFile(f.config)), f.manifest.release),
      );
    },
  });
}
