/**
 * What `pipefitter watch` does with each thing it keeps (an attachment record, an applied
 * recipe), given where its targets are now: pure, so the choices are tested without a kernel.
 *
 * - A target seen in a namespace other than the one last applied to (a restarted container, a
 *   named namespace made again) gets its attachments re-applied and its recipes applied again.
 * - A target in the same namespace is checked for drift on the interval (a dry-run plan: steps
 *   mean drift), repaired unless only reporting.
 * - A target that exists but does not run (a stopped container, a named namespace deleted: the
 *   name may be made again) is waited for: nothing to do, the record stays.
 * - A target gone for good (a container removed, a process exited) has its host-side leftovers
 *   cleaned and its record dropped; a recipe that lost a target releases that target's part (its
 *   pool leases, the ports published to it), the rest of the recipe stays as it is.
 * - A target that cannot be asked about (dockerd down) is left alone until it can.
 */

import type { LinkIntent } from '../model/attachment.js';
import type { FirewallState } from '../model/observed.js';

/** Where a target is now. */
export type TargetNow =
  | { readonly state: 'running'; readonly nsIdentity: string }
  | { readonly state: 'stopped' }
  | { readonly state: 'gone' }
  | { readonly state: 'unknown'; readonly why: string };

/** A thing watch keeps. */
export interface WatchUnit {
  readonly key: string;
  readonly kind: 'attachment' | 'recipe';
  /** Target ids; for an attachment the first is the one it lives in (a link's peer second). */
  readonly targets: readonly string[];
}

export type WatchAction =
  | { readonly kind: 'reapply'; readonly why: string }
  | { readonly kind: 'check' }
  | { readonly kind: 'wait'; readonly why: string }
  | { readonly kind: 'forget'; readonly why: string }
  /** A recipe's targets gone for good: their part of the recipe is released. */
  | { readonly kind: 'release'; readonly targets: readonly string[]; readonly why: string };

export interface DecideInput {
  readonly unit: WatchUnit;
  /** Where each of its targets is now (missing: not asked, treated as unknown). */
  readonly now: ReadonlyMap<string, TargetNow>;
  /** The namespace each target had when last applied to (records, or what watch did since). */
  readonly applied: ReadonlyMap<string, string>;
  /** A drift check is due (the interval, or the first pass). */
  readonly checkDue: boolean;
}

/** The one action for a unit. */
export const decide = (i: DecideInput): WatchAction | undefined => {
  const states = i.unit.targets.map(
    (id) => [id, i.now.get(id) ?? { state: 'unknown', why: 'not asked' }] as const,
  );
  const gone = states.filter(([, s]) => s.state === 'gone').map(([id]) => id);
  if (gone.length) {
    if (i.unit.kind === 'attachment')
      return { kind: 'forget', why: `${gone.join(', ')} is gone (removed, or its process exited)` };
    return {
      kind: 'release',
      targets: gone,
      why: `${gone.join(', ')} is gone (removed, or its process exited)`,
    };
  }
  const unknown = states.find(([, s]) => s.state === 'unknown');
  if (unknown) return { kind: 'wait', why: `${unknown[0]}: ${(unknown[1] as { why: string }).why}` };
  const stopped = states.filter(([, s]) => s.state === 'stopped').map(([id]) => id);
  // a recipe is applied again for the targets that run (the others are left out, and come later)
  if (stopped.length && (i.unit.kind === 'attachment' || stopped.length === states.length))
    return { kind: 'wait', why: `${stopped.join(', ')} is not running` };
  const moved = states.filter(([id, s]) => {
    if (s.state !== 'running') return false;
    const before = i.applied.get(id);
    return before !== undefined && before !== s.nsIdentity;
  });
  if (moved.length)
    return { kind: 'reapply', why: `${moved.map(([id]) => id).join(', ')} has a new network namespace` };
  const unseen = states.filter(([id, s]) => s.state === 'running' && !i.applied.has(id));
  if (unseen.length || i.checkDue) return { kind: 'check' };
  return undefined;
};

/**
 * May a re-apply plan on this earlier firewall reading instead of reading iptables again (two
 * processes, the slowest part of a re-apply while Docker starts containers)? Only a reading
 * made cleanly, with br_netfilter as it is now, and only while no change of this watch's own
 * has touched the firewall since (the watcher drops it then). A rule changed by someone else
 * meanwhile is found by `firewallChanged` on the fresh reading that follows the restarts.
 */
export const firewallReusable = (
  fw: FirewallState,
  brNetfilterNow: Readonly<Record<4 | 6, boolean>>,
): boolean =>
  ([4, 6] as const).every((f) => fw.brNetfilter[f] === brNetfilterNow[f] && fw.unknown?.[f] === undefined);

/** The bridges for which two readings would plan differently: policy, chain, or their accept rule. */
export const firewallChanged = (
  before: FirewallState,
  now: FirewallState,
  bridges: readonly string[],
): string[] => {
  const rule = (fw: FirewallState, f: 4 | 6, b: string): boolean =>
    fw.bridgeRules.some((r) => r.family === f && r.bridge === b);
  return [...new Set(bridges)].filter((b) =>
    ([4, 6] as const).some(
      (f) =>
        before.brNetfilter[f] !== now.brNetfilter[f] ||
        before.forwardDrop[f] !== now.forwardDrop[f] ||
        before.dockerUser[f] !== now.dockerUser[f] ||
        before.unknown?.[f] !== now.unknown?.[f] ||
        rule(before, f, b) !== rule(now, f, b),
    ),
  );
};

/**
 * The bridge an attachment's host end is a port of, when its request names one: a bridge
 * (Open vSwitch's aside, which has no accept rule), or pipework's form naming a host interface
 * (a bridge, or a parent: which, only the host can tell).
 */
export const bridgeOf = <T>(link: LinkIntent<T>): string | undefined =>
  link.kind === 'bridge' && link.ovs !== true
    ? link.bridge
    : link.kind === 'auto' && 'name' in link.host
      ? link.host.name
      : undefined;

/** A target as a record names it: how it is found again, its id, where it was last applied. */
export interface RecordedTargetRef {
  readonly spec: string;
  readonly id: string;
  readonly nsIdentity?: string | undefined;
}

/** What watch needs of an attachment record (state/attachments.ts AttachmentRecord). */
export interface AttachmentLike {
  readonly target: RecordedTargetRef;
  readonly ifname: string;
  readonly peer?: (RecordedTargetRef & { readonly ifname: string }) | undefined;
}

/** What watch needs of a recipe's state (state/recipes.ts RecipeState). */
export interface RecipeLike {
  readonly name: string;
  readonly targets: readonly { readonly id: string; readonly spec: string }[];
}

/** A unit with what it came from, and its name in the log. */
export interface KeptUnit<
  R extends AttachmentLike = AttachmentLike,
  S extends RecipeLike = RecipeLike,
> extends WatchUnit {
  readonly record?: R | undefined;
  readonly recipe?: S | undefined;
  readonly label: string;
}

/** An attachment record as a unit: it lives in its target (and, for a link, its peer too). */
export const attachmentUnit = <R extends AttachmentLike>(r: R): KeptUnit<R, never> => ({
  key: `attachment:${r.target.id}/${r.ifname}`,
  kind: 'attachment',
  targets: [r.target.id, ...(r.peer ? [r.peer.id] : [])],
  record: r,
  label: `${r.target.spec} ${r.ifname}${r.peer ? ` <-> ${r.peer.spec} ${r.peer.ifname}` : ''}`,
});

/** An applied recipe as a unit: all its targets. */
export const recipeUnit = <S extends RecipeLike>(s: S): KeptUnit<never, S> => ({
  key: `recipe:${s.name}`,
  kind: 'recipe',
  targets: s.targets.map((t) => t.id),
  recipe: s,
  label: `recipe ${s.name}`,
});

/** The namespace each target was last applied to, as the records say. */
export const appliedOf = (records: readonly AttachmentLike[]): Map<string, string> => {
  const applied = new Map<string, string>();
  for (const r of records)
    for (const t of [r.target, ...(r.peer ? [r.peer] : [])])
      if (t.nsIdentity !== undefined) applied.set(t.id, t.nsIdentity);
  return applied;
};

/** How each target id is found again (an attachment record's word first, then a recipe's). */
export const specsOf = (units: readonly KeptUnit[]): Map<string, string> => {
  const m = new Map<string, string>();
  for (const u of units) {
    if (u.record) {
      m.set(u.record.target.id, u.record.target.spec);
      if (u.record.peer) m.set(u.record.peer.id, u.record.peer.spec);
    }
    for (const t of u.recipe?.targets ?? []) if (!m.has(t.id)) m.set(t.id, t.spec);
  }
  return m;
};

/**
 * The re-applies to make in one plan (one observation, one apply, all or nothing): the
 * attachments of restarted targets, when there are two or more and watch may change things.
 * Empty: each unit is acted on alone.
 */
export const batchOf = <U extends WatchUnit>(
  decided: readonly { readonly u: U; readonly a: WatchAction }[],
  reportOnly: boolean,
): { readonly u: U; readonly a: WatchAction }[] => {
  if (reportOnly) return [];
  const restarted = decided.filter((x) => x.a.kind === 'reapply' && x.u.kind === 'attachment');
  return restarted.length > 1 ? restarted : [];
};

/**
 * How long an action took (from t0 to now), and, when one of the unit's targets had a start
 * event, since that event (what issue 14's "within one second of the start event" measures).
 */
export const timingOf = (
  targets: readonly string[],
  t0: number,
  now: number,
  eventAt: ReadonlyMap<string, number> | undefined,
): { ms: number; sinceEventMs?: number } => {
  const since = targets.map((id) => eventAt?.get(id)).find((x) => x !== undefined);
  return { ms: now - t0, ...(since !== undefined ? { sinceEventMs: now - since } : {}) };
};

/** When a runtime's event happened, in ms since the epoch: its own stamp (ns), else now. */
export const eventTime = (timeNano: number | undefined, now: number): number =>
  timeNano ? Math.floor(timeNano / 1e6) : now;

/**
 * A polled target (pid:, netns:, a namespace file) is looked at again when its namespace is not
 * the one last applied to, or (a pid) its process is gone.
 */
export const pollWants = (id: string, now: TargetNow | undefined, before: string | undefined): boolean =>
  (now?.state === 'running' && before !== undefined && now.nsIdentity !== before) ||
  (now?.state === 'gone' && id.startsWith('pid:'));

/**
 * The targets to pass over now (all that are dirty), with the start-event times that concern
 * them; those times are taken out of `eventAt` (the caller's, kept for the next ones).
 */
export const takeDirty = (
  dirty: Set<string>,
  eventAt: Map<string, number>,
): { only: Set<string>; at: Map<string, number> } => {
  const only = new Set(dirty);
  dirty.clear();
  const at = new Map<string, number>();
  for (const id of only) {
    const t = eventAt.get(id);
    if (t !== undefined) at.set(id, t);
    eventAt.delete(id);
  }
  return { only, at };
};

/** The units a change of these targets concerns. */
export const unitsOf = (units: readonly WatchUnit[], targets: ReadonlySet<string>): WatchUnit[] =>
  units.filter((u) => u.targets.some((t) => targets.has(t)));

/** `30s`, `500ms`, `2m`, `1h` or plain seconds → milliseconds; undefined when not a duration. */
export const parseDuration = (text: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  return Number.isFinite(ms) && ms >= 100 ? Math.round(ms) : undefined;
};

/**
 * How much sooner than the container runtime watch gets the CPU (the unit's Nice=): when many
 * containers start at once, dockerd, containerd and runc keep every core busy, and a watch at the
 * runtime's priority waits for them (bench/RESULTS.md, issue 14: 20 containers restarted at once).
 */
export const WATCH_NICE = -10;

/** The systemd unit `watch --install-unit` prints. */
export const systemdUnit = (bin: string): string =>
  `[Unit]
Description=pipefitter watch: keep container network attachments across restarts
Documentation=man:pipefitter(1)
After=network-online.target docker.service
Wants=network-online.target

[Service]
Type=simple
ExecStart=${bin} watch --json
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
# ahead of the container runtime when many containers start at once
Nice=${WATCH_NICE}

[Install]
WantedBy=multi-user.target
`;
