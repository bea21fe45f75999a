/**
 * What a change means, per file kind: `users/` (passwd, shadow), `groups/`
 * (group, gshadow), `sudoers/`, `access/` (access.conf), `ssh_keys/`
 * (authorized_keys), `sshd/` (sshd_config), `cron/` (crontabs), `preload/` (ld.so.preload), `pam/` (pam.d), each with its
 * parser, differ and consumer, and `generic.ts` for every other file.
 *
 * @module
 */
export type { Consumer, ConsumerContext, SemanticEvent } from "./consumer.ts";
export { consumerNameFor, semanticConsumer } from "./registry.ts";
