/**
 * Real programs reading inputs where they look for them, without touching
 * the host: one private mount namespace (`unshare -m --propagation
 * private`), a setup run once in it (bind mounts, an overlay over /etc),
 * then one shell command per case. What the differential tests use to hold
 * bpfink's readers against sshd, the loader and libpam; nothing outlives
 * the namespace but the temporary directory, which is removed.
 *
 * @module
 */

const dec = new TextDecoder();

/**
 * Whether `program` cannot be run here as the differential tests run it:
 * not root (no private mount namespace), or no such file. They are ignored then.
 */
export function cannotRun(program: string): boolean {
  if (Deno.uid() !== 0) return true;
  try {
    return !Deno.statSync(program).isFile;
  } catch {
    return true;
  }
}

/** An overlay over /etc whose upper layer is `$DIR/upper`: files put in /etc land there only. */
export const OVERLAY_ETC = "mkdir $DIR/upper $DIR/work && " +
  "mount -t overlay overlay -o lowerdir=/etc,upperdir=$DIR/upper,workdir=$DIR/work /etc";

/**
 * Runs `each` once per case in one private mount namespace, after `setup`
 * (both shell; `$DIR` is the temporary directory, and in `each` `$IN0`,
 * `$IN1`, ... are the case's files and `$OUT` the file it writes).
 * `prepare` writes what the setup needs into the directory first. Returns
 * each case's `$OUT`.
 */
export async function inPrivateNamespace(opts: {
  cases: (string | Uint8Array)[][];
  each: string;
  setup?: string;
  prepare?: (dir: string) => Promise<void>;
}): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-ns-" });
  try {
    await Deno.chmod(dir, 0o755);
    await opts.prepare?.(dir);
    const width = Math.max(0, ...opts.cases.map((c) => c.length));
    for (const [i, files] of opts.cases.entries()) {
      for (const [k, f] of files.entries()) {
        const path = `${dir}/in${i}_${k}`;
        await (typeof f === "string" ? Deno.writeTextFile(path, f) : Deno.writeFile(path, f));
      }
    }
    const ins = Array.from({ length: width }, (_, k) => `IN${k}=$DIR/in\${i}_${k}`).join(" ");
    const script = `set -e
DIR=${dir}
${opts.setup ?? ":"}
i=0
while [ $i -lt ${opts.cases.length} ]; do
  ${ins} OUT=$DIR/out$i
  export ${Array.from({ length: width }, (_, k) => `IN${k}`).join(" ")} OUT
  { ${opts.each}; } || true
  i=$((i+1))
done`;
    const out = await new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "sh", "-c", script],
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`unshare: ${dec.decode(out.stderr).trim()}`);
    const results: string[] = [];
    for (let i = 0; i < opts.cases.length; i++) {
      results.push(dec.decode(await Deno.readFile(`${dir}/out${i}`).catch(() => new Uint8Array())));
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
