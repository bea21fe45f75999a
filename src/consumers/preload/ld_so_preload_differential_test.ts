/**
 * Differential test: bpfink's reading of /etc/ld.so.preload against the
 * dynamic loader itself. Each seeded random file (names, blanks, tabs,
 * `:`, newlines, `#` comments, NUL bytes, with and without a final
 * separator) is put at /etc/ld.so.preload in a private mount namespace
 * (an overlay over /etc whose upper layer holds only that file: the
 * host's /etc is never written), and /bin/true is run: the loader names
 * every object it tries and cannot find. The names must be bpfink's, in
 * order.
 *
 * CASES files per run; the seed is printed on failure and BPFINK_FUZZ_SEED
 * replays it.
 */
import { assert, assertEquals } from "../../../test/assert.ts";
import { preloadEntries } from "./ld_so_preload.ts";
import { rng } from "../../../test/rng.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 150);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = Deno.uid() !== 0;
const dec = new TextDecoder();

const PIECES = ["/nx/a.so", "/nx/b c", "x", " ", "\t", "\n", ":", "#", "# c\n", "\0", "\r", "é"];

function generated(r: () => number): Uint8Array {
  const n = Math.floor(r() * 12);
  let s = "";
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return new TextEncoder().encode(s);
}

/** The objects the loader tries for each file, in order. */
async function loaderEntries(files: Uint8Array[]): Promise<string[][]> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-preload-" });
  try {
    for (const [i, f] of files.entries()) await Deno.writeFile(`${dir}/in${i}`, f);
    const script = `set -e
mkdir ${dir}/upper ${dir}/work
mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work /etc
i=0
while [ $i -lt ${files.length} ]; do
  cp ${dir}/in$i /etc/ld.so.preload
  /bin/true 2>${dir}/out$i || true
  i=$((i+1))
done`;
    const out = await new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "sh", "-c", script],
      stderr: "piped",
    }).output();
    assert(out.success, `unshare: ${dec.decode(out.stderr)}`);
    const results: string[][] = [];
    for (let i = 0; i < files.length; i++) {
      const text = dec.decode(await Deno.readFile(`${dir}/out${i}`));
      results.push(
        [...text.matchAll(/object '(.*?)' from \/etc\/ld\.so\.preload cannot be preloaded/gs)].map((
          m,
        ) => m[1]),
      );
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "ld.so.preload: bpfink reads the objects the loader preloads, quirks included",
  ignore,
  fn: async () => {
    const r = rng(SEED);
    const fixed = [
      "/a.so /b.so\t/c.so:/d.so\n# /e.so\n/f.so#/g.so\n  /h.so # /i.so\n\n/j.so",
      "  # x\n\t#y /k.so\n",
    ]
      .map((s) => new TextEncoder().encode(s));
    const files = [...fixed, ...Array.from({ length: CASES }, () => generated(r))];
    const want = await loaderEntries(files);
    // The loader's own quirks, as seen on glibc 2.36: `#` after the first comments is a name.
    assertEquals(want[0], [
      "/a.so",
      "/b.so",
      "/c.so",
      "/d.so",
      "/f.so#/g.so",
      "/h.so",
      "#",
      "/i.so",
      "/j.so",
    ]);
    assertEquals(want[1], ["k.so"]);
    for (const [i, f] of files.entries()) {
      assertEquals(
        preloadEntries(f),
        want[i],
        `seed ${SEED}, file ${JSON.stringify(dec.decode(f))}`,
      );
    }
  },
});
