import { assert } from "../test/assert.ts";
import { DENO_RUN_FLAGS, RUNTIME_ENV } from "./runtime_flags.ts";

const read = (p: string) => Deno.readTextFileSync(new URL(`../${p}`, import.meta.url));

Deno.test("./bpfink and the package's launcher start Deno as runtime_flags.ts says (the benches measure that)", () => {
  const script = read("bpfink");
  const exec = script.split("\n").find((l) => l.startsWith("exec ")) ?? "";
  for (const f of DENO_RUN_FLAGS) {
    assert(exec.includes(` ${f} `), `./bpfink runs Deno without ${f}`);
  }
  const launcher = read("packaging/launcher.c");
  for (const f of DENO_RUN_FLAGS) assert(launcher.includes(`"${f}"`), `the launcher lacks ${f}`);
  for (const [k, v] of Object.entries(RUNTIME_ENV)) {
    assert(script.includes(`${k}="\${${k}:-${v}}"`), `./bpfink does not set ${k}=${v}`);
    assert(launcher.includes(`"${k}=${v}"`), `the launcher does not set ${k}=${v}`);
  }
});
