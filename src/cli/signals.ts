/**
 * Waits for SIGINT or SIGTERM (or SIGHUP), so the agent can detach cleanly.
 *
 * @module
 */

/** Resolves with the first termination signal received; removes its listeners after. */
export function waitForTermination(): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const handlers = signals.map((s) => {
      const h = () => {
        handlers.forEach(([sig, fn]) => Deno.removeSignalListener(sig, fn));
        resolve(s);
      };
      Deno.addSignalListener(s, h);
      return [s, h] as const;
    });
  });
}
