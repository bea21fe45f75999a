/**
 * A `bpfink run` config for metrics tests: one watched file, stdout JSON
 * output, and the given `metrics:` section.
 *
 * @module
 */

/** Writes `config.yaml` and the watched file under `dir`. */
export async function daemonConfig(
  dir: string,
  metrics: string,
): Promise<{ config: string; watched: string }> {
  const watched = `${dir}/app.conf`;
  await Deno.writeTextFile(watched, "a=1\n");
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${watched}\ndatabase: ${dir}/db.sqlite\nkey_file: ${dir}/hmac.key\nlog_level: warning\n` +
      `outputs:\n  - type: stdout\n    format: json\nmetrics:\n${metrics}`,
  );
  return { config, watched };
}
