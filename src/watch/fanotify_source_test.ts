import { assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";

Deno.test("without CAP_SYS_ADMIN fanotify is one warning and lost coverage, and nothing is opened", async () => {
  await using dir = await tempDir();
  const script = `${dir.path}/open.ts`;
  const source = new URL("./fanotify_source.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { openFanotify } from "${source}";
const warned: string[] = [];
const lost: string[] = [];
const s = openFanotify((m) => warned.push(m), (w) => lost.push(w));
console.log(JSON.stringify({ opened: s !== undefined, warned, lost }));
`,
  );
  const config = new URL("../../deno.json", import.meta.url).pathname;
  // Root without CAP_SYS_ADMIN in its bounding set: exec gives it every other capability.
  const out = await new Deno.Command("setpriv", {
    args: ["--bounding-set=-sys_admin", Deno.execPath(), "run", "-A", "--config", config, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(text);
  assertEquals(r.opened, false);
  assertEquals(r.warned.length, 1);
  assertEquals(r.lost, ["fanotify (fanotify_init: EPERM)"]);
  assertEquals(
    r.warned[0].startsWith("coverage lost: fanotify (fanotify_init: EPERM); "),
    true,
    r.warned[0],
  );
});
