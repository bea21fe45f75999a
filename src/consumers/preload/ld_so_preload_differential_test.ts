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
import { assertEquals } from "../../../test/assert.ts";
import { preloadEntries } from "./ld_so_preload.ts";
import { rng } from "../../../test/rng.ts";
import { inPrivateNamespace, OVERLAY_ETC } from "../../../test/private_namespace.ts";

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
  const outs = await inPrivateNamespace({
    cases: files.map((f) => [f]),
    setup: OVERLAY_ETC,
    each: 'cp "$IN0" /etc/ld.so.preload; /bin/true 2>"$OUT"',
  });
  return outs.map((text) =>
    [...text.matchAll(/object '(.*?)' from \/etc\/ld\.so\.preload cannot be preloaded/gs)].map((
      m,
    ) => m[1])
  );
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
