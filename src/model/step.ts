import type { NetnsRef } from './netns.js';
import type { Arg, Op } from './op.js';

export type { Arg, Op };

export interface Command {
  readonly netns: NetnsRef;
  /** What it does; rendered as `ip` argv (render/ip.ts) or sent over netlink (exec/netlink-backend.ts). */
  readonly op: Op;
  readonly describes: string;
  /** Standard input (e.g. an nftables ruleset for `nft -f -`). */
  readonly input?: string | undefined;
  /**
   * Namespaces it makes or removes by name (`ip netns add NAME`), besides the one it runs in and
   * those its arguments name: the executor keeps it ordered with every step there.
   */
  readonly affects?: readonly NetnsRef[] | undefined;
}

export interface Step extends Command {
  /**
   * Stable id, unique within a plan (a duplicate is a planner bug): qualified by its namespace
   * unless that is the host's, e.g. "link-add:veth1pl42", "netns:r1/link-up:eth1".
   */
  readonly id: string;
  /**
   * How to take the step back. `covered` means an earlier step's undo removes its effect too
   * (an address on a link the same plan created); `irreversible` steps are ordered last.
   */
  readonly undo: Command | 'covered' | 'irreversible';
  /** A failure is reported as a note and does not stop or roll back the plan (announcements). */
  readonly bestEffort?: boolean | undefined;
  /** Started and not waited for (a best-effort announcement: its outcome changes nothing here). */
  readonly detached?: boolean | undefined;
  /**
   * The step can fail half-way (a DHCP client that got no lease leaves its state behind): when it
   * fails, its own undo — which must not mind running for nothing — runs first in the rollback.
   */
  readonly undoOnFailure?: boolean | undefined;
  /**
   * It only reads (a pass-through `ip route show`): it changes nothing, so it is run as an
   * observation and never by the executor; the dry-run script shows it all the same.
   */
  readonly readOnly?: boolean | undefined;
  /** Its standard output is part of the result (a pass-through command): it runs alone and is kept. */
  readonly passOutput?: boolean | undefined;
}

/**
 * Bookkeeping the kernel cannot hold, written when the whole plan has been applied (never on a
 * dry run or a rollback): which host interfaces pipefitter brought up, and for whom.
 */
export type StateRecord = {
  readonly kind: 'parent-user';
  /** The host interface pipefitter brought up (a macvlan/ipvlan/VLAN parent). */
  readonly parent: string;
  readonly ifindex: number;
  /** The attachment that depends on it: `<target id>/<ifname>`. */
  readonly user: string;
  readonly op: 'add' | 'remove';
};

export interface Plan {
  readonly steps: readonly Step[];
  /** Applied after the last step succeeded. @default none */
  readonly records?: readonly StateRecord[] | undefined;
  /** What was already in place and is left as it is. */
  readonly noops: readonly string[];
  /** Things the user should know, e.g. that a gateway change replaces Docker's default route. */
  readonly notes: readonly string[];
}

export const emptyPlan: Plan = { steps: [], noops: [], notes: [] };

export const concatPlans = (plans: readonly Plan[]): Plan => ({
  steps: plans.flatMap((p) => p.steps),
  records: plans.flatMap((p) => p.records ?? []),
  noops: plans.flatMap((p) => p.noops),
  notes: plans.flatMap((p) => p.notes),
});
