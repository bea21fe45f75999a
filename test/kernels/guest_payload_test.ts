/**
 * Every guest payload carries what its script imports: a module left out
 * fails in the guest only after minutes of boot (`Module not found`), so it
 * is checked here on the host, with the same resolver.
 */
import { assertEquals } from "../assert.ts";
import { BENCH_SCRIPT, benchPayload } from "./bench_guests.ts";
import { guestPayload, missingFromPayload } from "./guest_payload.ts";

Deno.test("the guest bench payload resolves every import of the bench", async () => {
  assertEquals(await missingFromPayload(BENCH_SCRIPT, benchPayload("/prebuilt")), []);
});

Deno.test("the guest scenario payload resolves every import of the scenario", async () => {
  assertEquals(await missingFromPayload("test/kernels/guest_scenario.ts", guestPayload()), []);
});

Deno.test("a payload without a module the bench imports is reported", async () => {
  const payload = benchPayload("/prebuilt").filter((e) => e.guest !== "/bpfink/build.ts");
  assertEquals(await missingFromPayload(BENCH_SCRIPT, payload), ["build.ts"]);
});

Deno.test("a payload without an npm package the agent imports is reported", async () => {
  const payload = guestPayload().filter((e) => !e.guest.endsWith("/yaml"));
  const missing = await missingFromPayload("test/kernels/guest_scenario.ts", payload);
  assertEquals(missing.filter((m) => m.startsWith("npm:yaml@")).length, 1);
});
