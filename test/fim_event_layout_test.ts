/**
 * The TypeScript mirror of struct fim_event must match bpf/fim_event.h as a C
 * compiler lays it out (x86_64 and the BPF target agree for these types).
 */
import { assertEquals } from "./assert.ts";
import {
  FIM_DEV_MOUNT,
  FIM_DEV_UNPLACED,
  FIM_EVENT_HEAD_SIZE,
  FIM_EVENT_LAYOUT,
  FIM_EXE_LEN,
  FIM_EXITED_LAYOUT,
  FIM_FOLD_CACHE_LAYOUT,
  FIM_FOLD_GEN,
  FIM_NAME_LEN,
  FIM_PENDING_LAYOUT,
  FIM_PENDING_WRITERS,
  FimOp,
  FimWatch,
} from "../src/kernel/fim_event.ts";
import { run, tempDir } from "./helpers.ts";

Deno.test("struct fim_event offsets in TypeScript match bpf/fim_event.h", async () => {
  await using dir = await tempDir();
  const fields = Object.keys(FIM_EVENT_LAYOUT).filter((f) => f !== "size");
  const exitedFields = Object.keys(FIM_EXITED_LAYOUT).filter((f) => f !== "size");
  // Constants both sides use: every op, the watch map's flags, the dev markers.
  const upper = (name: string) => name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
  const enumEntries = (e: Record<string, string | number>, prefix: string) =>
    Object.entries(e).filter(([, v]) => typeof v === "number").map(([k, v]) =>
      [`${prefix}${upper(k)}`, v as number] as const
    );
  const constants: (readonly [string, number])[] = [
    ...enumEntries(FimOp, "FIM_OP_"),
    ...enumEntries(FimWatch, "FIM_WATCH_"),
    ["FIM_DEV_UNPLACED", FIM_DEV_UNPLACED],
    ["FIM_DEV_MOUNT", FIM_DEV_MOUNT],
    ["FIM_EVENT_HEAD_SIZE", FIM_EVENT_HEAD_SIZE],
    ["FIM_EXE_LEN", FIM_EXE_LEN],
    ["FIM_NAME_LEN", FIM_NAME_LEN],
    ["FIM_PENDING_WRITERS", FIM_PENDING_WRITERS],
    ["FIM_FOLD_REARMS", FIM_FOLD_GEN.rearms],
    ["FIM_FOLD_EXITS", FIM_FOLD_GEN.exits],
    ["FIM_FOLD_ON", FIM_FOLD_GEN.on],
  ];
  const src = `#include <stdio.h>
#include <stddef.h>
#include <linux/types.h>
#include "fim_event.h"
int main(void) {
${fields.map((f) => `  printf("${f} %zu\\n", offsetof(struct fim_event, ${f}));`).join("\n")}
  printf("size %zu\\n", sizeof(struct fim_event));
${
    exitedFields.map((f) => `  printf("x_${f} %zu\\n", offsetof(struct fim_exited, ${f}));`).join(
      "\n",
    )
  }
  printf("x_size %zu\\n", sizeof(struct fim_exited));
  printf("p_w %zu\\n", offsetof(struct fim_pending, w));
  printf("p_held %zu\\n", offsetof(struct fim_pending, held));
  printf("p_size %zu\\n", sizeof(struct fim_pending));
  printf("f_folded %zu\\n", offsetof(struct fim_fold_cache, folded));
  printf("f_size %zu\\n", sizeof(struct fim_fold_cache));
  printf("p_writer %zu %zu %zu %zu\\n", sizeof(struct fim_writer), offsetof(struct fim_writer, start_ns), offsetof(struct fim_writer, tgid), offsetof(struct fim_writer, ops));
  printf("name_len_max %d\\n", FIM_NAME_LEN);
  printf("key_size %zu\\n", sizeof(struct fim_key));
${constants.map(([c]) => `  printf("${c} %u\\n", (unsigned)${c});`).join("\n")}
  return 0;
}
`;
  await Deno.writeTextFile(`${dir.path}/layout.c`, src);
  const cc = await run(["gcc", "-Ibpf", "-o", `${dir.path}/layout`, `${dir.path}/layout.c`]);
  assertEquals(cc.code, 0, cc.stderr);
  const out = await run([`${dir.path}/layout`]);
  const got = Object.fromEntries(
    out.stdout.trim().split("\n").map((l) => {
      const [k, v] = l.split(" ");
      return [k, Number(v)];
    }),
  );
  const { name_len_max, key_size, p_writer: _, ...rest } = got;
  const writerLine = out.stdout.split("\n").find((l) => l.startsWith("p_writer "))?.slice(9);
  const offsets = Object.fromEntries(
    Object.entries(rest).filter(([k]) =>
      !k.startsWith("FIM_") && !k.startsWith("x_") && !k.startsWith("p_") && !k.startsWith("f_")
    ),
  );
  assertEquals(offsets, { ...FIM_EVENT_LAYOUT });
  /** The offsets printed with `prefix`, without it. */
  const layout = (prefix: string) =>
    Object.fromEntries(
      Object.entries(rest).filter(([k]) => k.startsWith(prefix)).map((
        [k, v],
      ) => [k.slice(prefix.length), v]),
    );
  assertEquals(
    layout("x_"),
    { ...FIM_EXITED_LAYOUT },
    "struct fim_exited differs between C and TypeScript",
  );
  assertEquals(
    layout("p_"),
    { ...FIM_PENDING_LAYOUT },
    "struct fim_pending differs between C and TypeScript",
  );
  assertEquals(
    layout("f_"),
    { ...FIM_FOLD_CACHE_LAYOUT },
    "struct fim_fold_cache differs between C and TypeScript",
  );
  // decodeHeldWriters reads each writer as 16 bytes: start_ns, tgid, ops.
  assertEquals(writerLine, "16 0 8 12");
  for (const [c, v] of constants) assertEquals(got[c], v, `${c} differs between C and TypeScript`);
  assertEquals(name_len_max, FIM_NAME_LEN);
  assertEquals(key_size, 16);
});
