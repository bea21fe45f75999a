/**
 * An error the agent reports to a person in one sentence, with the exit code
 * to use.
 *
 * @module
 */

/** A fatal, explained error. */
export class AgentError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "AgentError";
  }
}
