/**
 * Every guest payload carries what its script imports: a module left out
 * fails in the guest only after minutes of boot (`Module not found`), so it
 * is checked here on the host, with the same resolver.
 */
import { assertEquals } from "../assert.ts";
import {
  BENCH_SCRIPT,
  benchPayload,
  missingFromBenchPayload,
  PEER_PROGRAMS,
} from "./bench_guests.ts";
import { COVERAGE_SCRIPT, coveragePayload as payloadOf } from "./coverage_guests.ts";
import { missingFromPayload } from "./guest_payload.ts";

/** The payload coverage_guests.ts gives its script (the programs' directory needs not exist). */
const coveragePayload = () => payloadOf("/prebuilt");

Deno.test("the guest bench payload resolves every import of the bench", async () => {
  assertEquals(await missingFromPayload(BENCH_SCRIPT, benchPayload("/prebuilt")), []);
});

Deno.test("the guest bench payload carries bpfink's sources and the peers with their libraries", async () => {
  // src/main.ts (spawned, not imported), inotifywait, fatrace, auditd and auditctl, whose
  // libraries this host resolves (the image brings them, see initramfs.ts).
  assertEquals(await missingFromBenchPayload(benchPayload("/prebuilt")), []);
});

Deno.test("a bench payload without a peer program is reported", async () => {
  const payload = benchPayload("/prebuilt").filter((e) => e.guest !== "/usr/sbin/auditd");
  const missing = await missingFromBenchPayload(payload);
  assertEquals(missing.length, 1);
  assertEquals(missing[0].startsWith("/usr/sbin/auditd "), true);
  assertEquals(PEER_PROGRAMS.includes("/usr/sbin/auditd"), true);
});

Deno.test("a bench payload without the agent's entry point is reported", async () => {
  const payload = benchPayload("/prebuilt").flatMap((e) =>
    e.guest === "/bpfink/src"
      ? [...Deno.readDirSync(e.host)].filter((f) => f.name !== "main.ts").map((f) => ({
        host: `${e.host}/${f.name}`,
        guest: `${e.guest}/${f.name}`,
      }))
      : [e]
  );
  assertEquals(await missingFromBenchPayload(payload), ["src/main.ts"]);
});

Deno.test("the guest coverage payload resolves every import of its script", async () => {
  assertEquals(await missingFromPayload(COVERAGE_SCRIPT, coveragePayload()), []);
});

Deno.test("a payload without a module the bench imports is reported", async () => {
  const payload = benchPayload("/prebuilt").filter((e) =>
    e.guest !== "/bpfink/kernels/compile_bpf.ts"
  );
  assertEquals(await missingFromPayload(BENCH_SCRIPT, payload), ["kernels/compile_bpf.ts"]);
});

Deno.test("a payload without an npm package the agent imports is reported", async () => {
  // The logger is imported by every module of the agent (yaml, since --paths stopped loading
  // the config parser, no longer is).
  const payload = coveragePayload().filter((e) => !e.guest.endsWith("/@logtape/logtape"));
  const missing = await missingFromPayload(COVERAGE_SCRIPT, payload);
  assertEquals(missing.filter((m) => m.startsWith("npm:@logtape/logtape@")).length, 1);
});
