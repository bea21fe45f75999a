import { assert, assertEquals, assertIncludes } from "../test/assert.ts";
import { splitBundleAssets } from "./bundle_assets.ts";

const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

Deno.test("splitBundleAssets: each inlined binary becomes a checked read at its offset", async () => {
  const js = `var a = __toBinary("${b64([1, 2, 3])}");\nvar b = __toBinary("${b64([9])}");\n`;
  const split = await splitBundleAssets(js, 2);
  assertEquals(split.assets.map((a) => [...a]), [[1, 2, 3], [9]]);
  assert(!split.js.includes('__toBinary("'), split.js);
  // Offsets follow each other; the last read closes the file.
  assert(/__bpfinkAsset\(0, 3, "[0-9a-f]{64}", false\)/.test(split.js), split.js);
  assertIncludes(
    split.js,
    `__bpfinkAsset(3, 1, "${"2b4c342f5433ebe591a1da77e013d1b72475562d48578dca8b84bac6651c3cb9"}", true)`,
  );
});

Deno.test("splitBundleAssets: a bundle that does not inline exactly the embedded assets fails the build", async () => {
  const js = `var a = __toBinary("${b64([1])}");`;
  let err: unknown;
  try {
    await splitBundleAssets(js, 4);
  } catch (e) {
    err = e;
  }
  assert(err instanceof Error);
  assertIncludes(err.message, "inlines 1 binaries");
});
