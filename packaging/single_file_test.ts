import { assertEquals } from "../test/assert.ts";
import { compressedRuntime } from "./single_file.ts";

Deno.test("two builds compressing the same runtime at once both get it whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-pack-" });
  try {
    const runtime = `${dir}/runtime`;
    const bytes = crypto.getRandomValues(new Uint8Array(65536)).map((b, i) => i % 7 ? b : 0);
    await Deno.writeFile(runtime, new Uint8Array(4 << 20).map((_, i) => bytes[i % bytes.length]));
    const [a, b] = await Promise.all([
      compressedRuntime(runtime, dir),
      compressedRuntime(runtime, dir),
    ]);
    assertEquals(a, b);
    const out = await new Deno.Command("zstd", {
      args: ["-d", "-c", "--long=27", a],
      stdout: "piped",
    })
      .output();
    assertEquals(out.success, true);
    assertEquals(out.stdout, await Deno.readFile(runtime));
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp"));
    assertEquals(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
