/**
 * A commit of this repository checked out and built beside the tree, for
 * benches that compare it with this tree side by side (`--against REF`).
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * `ref` checked out in `dir` (its path returned), its kernel objects and
 * native code built from its own sources against this tree's libbpf bundle
 * and vmlinux.h, with this tree's node_modules.
 */
export async function checkout(ref: string, dir: string): Promise<string> {
  const tree = `${dir}/${ref.replace(/[^\w.-]/g, "_")}`;
  await Deno.mkdir(`${tree}/kernels`, { recursive: true });
  const archive = new Deno.Command("git", {
    args: ["-C", ROOT, "archive", ref],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tar = new Deno.Command("tar", { args: ["-x", "-C", tree], stdin: "piped" }).spawn();
  await archive.stdout.pipeTo(tar.stdin);
  const [a, t] = await Promise.all([archive.output(), tar.status]);
  if (!a.success || !t.success) {
    throw new Error(`cannot check out ${ref}: ${new TextDecoder().decode(a.stderr).trim()}`);
  }
  // The libbpf bundle and vmlinux.h (slow to make, the same for every commit); the BPF objects
  // and native code are built from the commit's own sources (their layouts change between
  // commits: this tree's objects under an older decoder miss the canary).
  await new Deno.Command("cp", { args: ["-a", `${ROOT}kernels/build`, `${tree}/kernels/`] })
    .output();
  for (const f of Deno.readDirSync(`${tree}/kernels/build`)) {
    if (!f.name.startsWith("libbpf-bundle") && f.name !== "vmlinux.h") {
      await Deno.remove(`${tree}/kernels/build/${f.name}`);
    }
  }
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "build.ts", "bpf", "native"],
    cwd: tree,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!built.success) {
    throw new Error(`cannot build ${ref}: ${new TextDecoder().decode(built.stderr).trim()}`);
  }
  await Deno.symlink(`${ROOT}node_modules`, `${tree}/node_modules`);
  return tree;
}
