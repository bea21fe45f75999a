/**
 * From a file change to the events outputs deliver: the change pipeline
 * (consumers, baseline, outbox), watch policies (ignore, tags, severity), and
 * the ECS event envelope.
 *
 * @module
 */
export { ChangePipeline } from "./change_pipeline.ts";
export type { ChangeEvent } from "./change_event.ts";
export type { FileChange } from "./file_change.ts";
export { withEnvelope } from "./ecs_event.ts";
export { watchPolicy } from "./watch_policy.ts";
