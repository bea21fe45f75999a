/**
 * Writes a generated table where people read it: its own Markdown file and
 * the README section between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
 * Tables in the README are never typed by hand.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Writes `body` (with its `stamp` line) to `file` (relative to the project
 * root, under a `# title` heading) and into the README section `name`.
 * Throws when the README has no such section, so a renamed marker is noticed.
 */
export async function writeGenerated(
  name: string,
  file: string,
  title: string,
  body: string,
  stamp: string,
): Promise<void> {
  await Deno.writeTextFile(`${ROOT}${file}`, `# ${title}\n\n${body}\n\n${stamp}\n`);
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const section = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  if (!section.test(readme)) throw new Error(`README.md has no <!-- ${name}:start --> section`);
  await Deno.writeTextFile(
    `${ROOT}README.md`,
    readme.replace(
      section,
      () => `<!-- ${name}:start -->\n${body}\n\n${stamp}\n<!-- ${name}:end -->`,
    ),
  );
  // Generated tables are laid out exactly as `deno fmt` would, so a fresh run
  // leaves the tree clean for the formatter check.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", `${ROOT}README.md`, `${ROOT}${file}`],
    cwd: ROOT,
    stdout: "null",
  }).output();
  if (!fmt.success) {
    throw new Error(
      `deno fmt failed on README.md or ${file}: ${new TextDecoder().decode(fmt.stderr)}`,
    );
  }
}
