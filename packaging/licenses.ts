/**
 * The license texts that ship with every built artifact of bpfink: bpfink's own (LICENSE),
 * the self-contained libbpf bundle's (libbpf, libelf, zlib; written by kernels/libbpf/build.sh),
 * the Deno runtime's, and each npm package that the bundle holds (found from the bundle's
 * own source comments, so a new dependency is never missed).
 *
 * @module
 */

/** One component and its license text. */
export interface LicensePart {
  /** What it is, e.g. "npm package yaml 2.9.1". */
  name: string;
  text: string;
}

/** npm packages (name@version with their cache directory) that a deno bundle contains. */
export function bundledNpmPackages(bundleJs: string): { name: string; dir: string }[] {
  const seen = new Map<string, string>();
  for (
    const m of bundleJs.matchAll(
      /^\/\/ (\S*registry\.npmjs\.org\/)((?:@[^/\s]+\/)?[^/\s]+)\/([^/\s]+)\//gm,
    )
  ) {
    seen.set(`${m[2]}@${m[3]}`, `${m[1]}${m[2]}/${m[3]}`);
  }
  return [...seen].sort().map(([name, dir]) => ({ name, dir }));
}

async function readLicense(dir: string): Promise<string | undefined> {
  for (const f of ["LICENSE", "LICENSE.md", "LICENSE.txt", "license", "LICENCE"]) {
    try {
      return await Deno.readTextFile(`${dir}/${f}`);
    } catch {
      // Try the next name.
    }
  }
  return undefined;
}

/**
 * Every license part for an artifact built from `bundleJs` (whose npm paths are relative to
 * `bundleDir`, the directory `deno bundle` ran in) with the Deno runtime whose npm package directory is `denoPackageDir`.
 */
export async function collectLicenses(
  root: string,
  bundleJs: string,
  bundleDir: string,
  denoPackageDir: string,
): Promise<LicensePart[]> {
  const parts: LicensePart[] = [
    { name: "bpfink (Apache-2.0)", text: await Deno.readTextFile(`${root}LICENSE`) },
  ];
  const libbpf = await Deno.readTextFile(`${root}kernels/build/libbpf-bundle.LICENSES.txt`)
    .catch(() => undefined);
  if (!libbpf) {
    throw new Error("kernels/build/libbpf-bundle.LICENSES.txt is missing: run build.ts libbpf");
  }
  parts.push({ name: "libbpf-bundle.so (embedded: libbpf, libelf, zlib)", text: libbpf });
  const deno = await readLicense(denoPackageDir);
  if (!deno) throw new Error(`no LICENSE in ${denoPackageDir} (the Deno runtime's npm package)`);
  parts.push({ name: "Deno runtime (embedded)", text: deno });
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  for (const p of bundledNpmPackages(bundleJs)) {
    // The bundle's comments give each package's path relative to a directory that depends on
    // deno bundle's view of the project; Deno's npm cache holds the same package by name.
    const at = p.name.lastIndexOf("@");
    const cached = `${denoDir}/npm/registry.npmjs.org/${p.name.slice(0, at)}/${
      p.name.slice(at + 1)
    }`;
    const dir = p.dir.startsWith("/") ? p.dir : `${bundleDir}/${p.dir}`;
    const text = (await readLicense(cached)) ?? (await readLicense(dir));
    if (!text) {
      throw new Error(`npm package ${p.name} in the bundle has no LICENSE file in ${cached}`);
    }
    parts.push({ name: `npm package ${p.name} (bundled)`, text });
  }
  return parts;
}

/** One text file with every part, each under a header line. */
export function licensesText(parts: LicensePart[]): string {
  return parts.map((p) => `==== ${p.name}\n\n${p.text.trim()}\n`).join("\n");
}
