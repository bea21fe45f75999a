/**
 * The kernel matrix as tests: one step per kernel × strategy. A kernel that
 * cannot be fetched is reported as ignored with its reason, never as passed.
 */
import { assert } from "../assert.ts";
import { runMatrix } from "./matrix.ts";

Deno.test("kernel matrix: every object works end to end on 5.10, 6.1, 6.12 and the host", async (t) => {
  const rows = await runMatrix();
  for (const r of rows) {
    await t.step({
      name: `${r.kernel} ${r.strategy}: ${r.status}${r.detail ? ` (${r.detail})` : ""}`,
      ignore: r.status === "skipped",
      fn: () =>
        assert(
          r.status === "pass" || r.status === "unsupported",
          `${r.kernel} ${r.strategy}: ${r.detail}`,
        ),
    });
  }
});
