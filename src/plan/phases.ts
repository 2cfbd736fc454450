/**
 * Steps are planned attachment by attachment and then ordered by phase: host preparation
 * (bridges), links created in or moved into namespaces, configuration inside each namespace,
 * host clean-up, and last a bridge port a detach removes (its tag is what names the bridge
 * the clean-up removes: plan/detach.ts portLast). Within a phase, steps of one namespace stay
 * together and in planned order, so the executor sends each namespace one batch.
 */
export const PHASE = { prepare: 10, link: 20, inside: 30, finish: 40, last: 50 } as const;
export type Phase = (typeof PHASE)[keyof typeof PHASE];
