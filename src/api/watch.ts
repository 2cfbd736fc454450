/**
 * `pipefitter watch`: keep what attach, link, pipework's forms and recipes made true across
 * container restarts. It starts from the state pipefitter keeps (attachment records, recipe
 * states), so started after the fact it adopts everything; the first pass checks all of it.
 * Decisions are plan/watch.ts's (pure); every change goes through the library's own attach,
 * recipe apply and detach planning, each holding the host lock only while it runs.
 *
 * Triggers: Docker's and Podman's container events (start: re-apply; destroy/remove: forget), a poll of the
 * namespace identity of pid:/netns:/path targets every 500 ms, and a drift check on an interval.
 */
import { isPipefitterError } from '../errors.js';
import { HOST } from '../model/netns.js';
import type { ResolvedTarget, TargetSpec } from '../model/target.js';
import { targetSpecText } from '../model/target.js';
import { planDetach } from '../plan/detach.js';
import { dhcpStateDir } from '../plan/dhcp.js';
import type { KeptUnit, TargetNow, WatchAction } from '../plan/watch.js';
import {
  appliedOf,
  attachmentUnit,
  batchOf,
  bridgeOf,
  decide,
  eventTime,
  firewallChanged,
  firewallReusable,
  pollWants,
  recipeUnit,
  specsOf,
  takeDirty,
  timingOf,
  unitsOf,
} from '../plan/watch.js';
import type { FirewallState } from '../model/observed.js';
import { brNetfilterNow, observeFirewall } from '../observe/firewall.js';
import { changesFirewall } from '../plan/firewall.js';
import type { FirewallSource } from '../observe/snapshot.js';
import { hasDhcpState } from '../observe/lease.js';
import type { AttachmentRecord, RecordedOptions } from '../state/attachments.js';
import {
  hasAttachmentRecord,
  listAttachmentRecords,
  removeAttachmentRecord,
  requestOf,
  stableSpec,
  writeAttachmentRecord,
} from '../state/attachments.js';
import type { RecipeState } from '../state/recipes.js';
import { listRecipeStates } from '../state/recipes.js';
import type { DockerEvent } from '../targets/docker.js';
import { followDockerEvents, inspectContainer } from '../targets/docker.js';
import { fromDockerContainer, resolveTarget } from '../targets/resolve.js';
import { attachRequests } from './attach.js';
import type { Outcome, RunOptions } from './engine.js';
import { requireRoot, runnerOf, runPipeline } from './engine.js';
import { namespaceOf } from './records.js';
import { followPodman } from './watch-podman.js';
import { apply as applyRecipe, releaseGone } from './recipe.js';

export interface WatchOptions extends RunOptions {
  /** Drift check interval. @default 30000 */
  readonly intervalMs?: number | undefined;
  /** Report drift and restarts, change nothing. @default false */
  readonly reportOnly?: boolean | undefined;
  /** One pass, then return. @default false */
  readonly once?: boolean | undefined;
  /** Every line of the log, as an object. */
  readonly onEvent?: ((e: WatchEvent) => void) | undefined;
  /** Namespace poll of pid:/netns:/path targets. @default 500 */
  readonly pollMs?: number | undefined;
}

/** One line of watch's log. */
export interface WatchEvent {
  readonly time: string;
  /** started, pass, reapplied, in-sync, drift, repaired, forgotten, waiting, failed, docker, podman, stopped, reloaded */
  readonly event: string;
  readonly unit?: string | undefined;
  readonly target?: string | undefined;
  readonly message: string;
  /** How long the action took, in milliseconds. */
  readonly ms?: number | undefined;
  /** For a re-apply after a Docker start event: from the event's time to the interface ready. */
  readonly sinceEventMs?: number | undefined;
  readonly code?: string | undefined;
}

type Unit = KeptUnit<AttachmentRecord, RecipeState>;

/** The units watch keeps, and the namespaces the records say they were applied to. */
const loadUnits = async (): Promise<{ units: Unit[]; applied: Map<string, string> }> => {
  const records = await listAttachmentRecords();
  const recipes = await listRecipeStates();
  const units: Unit[] = [...records.map(attachmentUnit), ...recipes.map(recipeUnit)];
  return { units, applied: appliedOf(records) };
};

/** Where a target is now, and when it runs, the target resolved (to act on without asking again). */
interface Seen {
  readonly now: TargetNow;
  readonly resolved?: ResolvedTarget | undefined;
}

/**
 * Where a target is now. A named namespace or file that is missing may be made again: stopped.
 * A container is inspected once: the namespace is found from that inspect's PID.
 */
const targetNow = async (id: string, spec: string, opts: RunOptions): Promise<Seen> => {
  const stable = stableSpec({ id, spec });
  let t: ResolvedTarget;
  try {
    if (id.startsWith('docker:')) {
      let c: Awaited<ReturnType<typeof inspectContainer>>;
      try {
        c = await inspectContainer(id.slice('docker:'.length), { required: false, endpoint: opts.docker });
      } catch (e) {
        if (!isPipefitterError(e)) throw e;
        c = 'unreachable';
      }
      if (c === 'unreachable') return { now: { state: 'unknown', why: 'Docker cannot be reached' } };
      if (c === undefined) return { now: { state: 'gone' } };
      if (c === 'ambiguous') return { now: { state: 'unknown', why: 'matches more than one container' } };
      if (!c.running || c.pid <= 0) return { now: { state: 'stopped' } };
      const ref = stable.kind === 'docker' ? stable.ref : id.slice('docker:'.length);
      t = (await fromDockerContainer(stable, ref, c, true, {
        runner: runnerOf(opts),
        docker: opts.docker,
        allowHostNamespace: true,
      }))!;
    } else
      t = await resolveTarget(stable, {
        runner: runnerOf(opts),
        docker: opts.docker,
        allowHostNamespace: true,
      });
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    if (e.code === 'E_TARGET_STOPPED') return { now: { state: 'stopped' } };
    if (e.code === 'E_TARGET_NOT_FOUND') {
      if (id.startsWith('pid:')) return { now: { state: 'gone' } };
      if (id.startsWith('podman:') && /no such container/.test(e.message)) return { now: { state: 'gone' } };
      if (id.startsWith('netns:') || id.startsWith('path:')) return { now: { state: 'stopped' } };
      if (id.startsWith('docker:')) return { now: { state: 'stopped' } }; // its process just exited
    }
    return { now: { state: 'unknown', why: e.message } };
  }
  return { now: { state: 'running', nsIdentity: namespaceOf(t) ?? '' }, resolved: t };
};

/** The state of one watch: what was applied where, and when the last drift check ran. */
export interface Watcher {
  /** One pass over the units that concern these targets (all when undefined). */
  pass(
    only?: ReadonlySet<string>,
    why?: { checkDue?: boolean; eventAt?: ReadonlyMap<string, number> },
  ): Promise<ReadonlySet<string>>;
  /**
   * A start event for this target: look where it is now, at once (Docker's or Podman's inspect),
   * while a pass before may still be applying; its pass takes that look instead of its own.
   */
  lookAhead(id: string): void;
  /** Read the records and recipe states again (SIGHUP). */
  reload(): Promise<void>;
  /**
   * Read the firewall afresh when re-applies planned on an earlier reading: the targets on
   * bridges whose accept rule is missing now (to be checked, which adds it back).
   */
  verifyFirewall(): Promise<ReadonlySet<string>>;
  /** Re-applies planned on an earlier firewall reading wait for verifyFirewall. */
  unverified(): boolean;
  /** The target ids watched now, with how they are found. */
  targets(): ReadonlyMap<string, string>;
  /** The namespace last applied to, by target id. */
  applied(): ReadonlyMap<string, string>;
}

export const createWatcher = async (opts: WatchOptions = {}): Promise<Watcher> => {
  const log = (e: Omit<WatchEvent, 'time'>): void => opts.onEvent?.({ time: new Date().toISOString(), ...e });
  const loaded = await loadUnits();
  let units = loaded.units;
  const applied = loaded.applied;
  let specs = specsOf(units);
  /** The targets this pass found running, resolved, by spec text: acted on without a second look. */
  let found = new Map<string, ResolvedTarget>();
  const known = (s: TargetSpec): ResolvedTarget | undefined => found.get(targetSpecText(s));
  /** Looks taken on a start event (lookAhead), for the next pass that concerns the target. */
  const ahead = new Map<string, Promise<Seen>>();
  /** Records dropped by forget in this pass: out of the next one. */
  const forgotten = new Set<string>();

  /**
   * The last firewall reading (iptables, br_netfilter) of this watch. A re-apply plans on it
   * (plan/watch.ts firewallReusable) instead of starting iptables and ip6tables again; any change
   * of this watch's own that may touch the firewall drops it; the reading it was is compared with
   * a fresh one once the restarts have settled (verifyFirewall).
   */
  let lastFirewall: FirewallState | undefined;
  /** The reading re-applies planned on, and their bridges, until verified. */
  let planned: { fw: FirewallState; bridges: Set<string> } | undefined;
  const fresh: FirewallSource = async (read) => (lastFirewall = await read());
  const firewallFor = (us: readonly Unit[]): FirewallSource => {
    const bridges = us.map((u) => bridgeOf(requestOf(u.record!).link));
    if (bridges.some((b) => b === undefined)) return fresh;
    return async (read) => {
      const fw = lastFirewall;
      if (!fw || !firewallReusable(fw, brNetfilterNow())) return fresh(read);
      if (planned?.fw !== fw) planned = { fw, bridges: new Set() };
      for (const b of bridges) planned.bridges.add(b!);
      return fw;
    };
  };
  /** After a change: did it touch the firewall (a rule added, a bridge's rule removed)? */
  const touched = (out: Outcome): void => {
    if (out.plan.steps.some(changesFirewall)) lastFirewall = undefined;
  };

  const reapplyAttachment = async (u: Unit, now: ReadonlyMap<string, TargetNow>): Promise<boolean> => {
    const r = u.record!;
    const out = await attachRequests(
      [requestOf(r)],
      {
        ...opts,
        ...r.options,
        dryRun: false,
        resolved: known,
        checkCarrier: false,
        firewall: firewallFor([u]),
        deferRecords,
      },
      `pipefitter watch: attach ${r.target.spec} --ifname ${r.ifname}`,
      [r.request],
    );
    touched(out);
    for (const t of out.targets) {
      const ns = namespaceOf(t);
      if (ns !== undefined) applied.set(t.id, ns);
    }
    void now;
    return out.applied;
  };

  const checkAttachment = async (u: Unit): Promise<number> => {
    const r = u.record!;
    const out = await attachRequests([requestOf(r)], {
      ...opts,
      ...r.options,
      dryRun: true,
      resolved: known,
      firewall: fresh,
    });
    for (const t of out.targets) {
      const ns = namespaceOf(t);
      if (ns !== undefined && out.plan.steps.length === 0) applied.set(t.id, ns);
    }
    return out.plan.steps.length;
  };

  const recipeOptions = (s: RecipeState): Parameters<typeof applyRecipe>[1] => ({
    ...opts,
    set: s.vars ?? {},
    skipMissing: true,
  });

  const reapplyRecipe = async (u: Unit, now: ReadonlyMap<string, TargetNow>): Promise<boolean> => {
    const s = u.recipe!;
    const out = await applyRecipe(s.file, { ...recipeOptions(s), dryRun: false });
    lastFirewall = undefined; // its NAT and accept rules
    for (const id of u.targets) {
      const n = now.get(id);
      if (n?.state === 'running') applied.set(id, n.nsIdentity);
    }
    return out.applied;
  };

  const checkRecipe = async (u: Unit, now: ReadonlyMap<string, TargetNow>): Promise<number> => {
    const s = u.recipe!;
    const out = await applyRecipe(s.file, { ...recipeOptions(s), dryRun: true });
    if (out.plan.steps.length === 0)
      for (const id of u.targets) {
        const n = now.get(id);
        if (n?.state === 'running') applied.set(id, n.nsIdentity);
      }
    return out.plan.steps.length;
  };

  /** A target gone for good: what its attachment left outside it (a DHCP client's state, a parent
   * brought up, a shared VLAN's user), cleaned as a detach that finds the interface gone does. */
  const forget = async (u: Unit): Promise<void> => {
    const r = u.record!;
    const runner = runnerOf(opts);
    const gone: ResolvedTarget = {
      spec: stableSpec(r.target),
      id: r.target.id,
      label: r.target.spec,
      // never observed: the plan sees no interface there
      netns: { kind: 'path', path: `/nonexistent/pipefitter-gone/${r.target.id}` },
    };
    const dhcpState = await hasDhcpState(dhcpStateDir(r.target.id, r.ifname));
    const goneFromBridge = bridgeOf(requestOf(r).link);
    await runPipeline(
      {
        targets: [],
        extraNamespaces: [HOST],
        plan: (observed) =>
          planDetach({ target: gone, ifname: r.ifname as never, force: false }, observed, {
            dhcpState,
            goneFromBridge,
          }),
        title: `pipefitter watch: forget ${r.target.spec} ${r.ifname}`,
      },
      runner,
      { ...opts, dryRun: false },
    );
    lastFirewall = undefined; // a bridge that went may have taken its rule
    await removeAttachmentRecord(r.target.id, r.ifname);
    forgotten.add(u.key);
    applied.delete(r.target.id);
  };

  /**
   * The records of this pass's re-applies, written at its end: an interface is ready, and logged,
   * before its bookkeeping. A record removed meanwhile (a detach) is not written again; one lost
   * to a crash is written by the next watch's first pass, which finds nothing to change.
   */
  const pendingRecords: AttachmentRecord[] = [];
  const deferRecords = (rs: readonly AttachmentRecord[]): void => {
    pendingRecords.push(...rs);
  };
  const flushRecords = async (): Promise<void> => {
    for (const r of pendingRecords.splice(0))
      if (await hasAttachmentRecord(r.target.id, r.ifname)) await writeAttachmentRecord(r);
  };

  /** Targets whose action failed in this pass: tried again a second later. */
  const failed = new Set<string>();

  const reapplyBatch = async (
    xs: readonly { u: Unit; a: WatchAction }[],
    eventAt: ReadonlyMap<string, number> | undefined,
  ): Promise<boolean> => {
    const t0 = Date.now();
    try {
      const out = await attachRequests(
        xs.map((x) => requestOf(x.u.record!)),
        {
          ...opts,
          ...xs.reduce<RecordedOptions>((o, x) => ({ ...o, ...x.u.record!.options }), {}),
          dryRun: false,
          resolved: known,
          checkCarrier: false,
          firewall: firewallFor(xs.map((x) => x.u)),
          deferRecords,
        },
        `pipefitter watch: attach (${xs.length} attachments)`,
        xs.map((x) => x.u.record!.request),
      );
      touched(out);
      for (const t of out.targets) {
        const ns = namespaceOf(t);
        if (ns !== undefined) applied.set(t.id, ns);
      }
      for (const { u, a } of xs)
        log({
          unit: u.label,
          target: u.targets[0],
          event: 'reapplied',
          message: `${u.label}: ${a.kind === 'reapply' ? a.why : ''}; re-applied (with ${xs.length - 1} more in one plan)`,
          ...timingOf(u.targets, t0, Date.now(), eventAt),
        });
      return true;
    } catch (e) {
      if (!isPipefitterError(e)) throw e;
      log({
        event: 'retry',
        message: `${xs.length} attachments in one plan: ${e.message}; one by one instead`,
      });
      return false;
    }
  };

  const act = async (
    u: Unit,
    a: WatchAction,
    now: ReadonlyMap<string, TargetNow>,
    eventAt: ReadonlyMap<string, number> | undefined,
  ): Promise<void> => {
    /** Apply the unit again: did it change anything, and the timing to log. */
    const reapply = async (
      u: Unit,
      now: ReadonlyMap<string, TargetNow>,
      t0: number,
    ): Promise<{ changed: boolean; timing: { ms: number; sinceEventMs?: number } }> => {
      const changed = u.kind === 'attachment' ? await reapplyAttachment(u, now) : await reapplyRecipe(u, now);
      return { changed, timing: timingOf(u.targets, t0, Date.now(), eventAt) };
    };
    const t0 = Date.now();
    const target = u.targets[0];
    const base = { unit: u.label, target };
    try {
      switch (a.kind) {
        case 'wait':
          log({ ...base, event: 'waiting', message: `${u.label}: ${a.why}` });
          return;
        case 'release': {
          if (opts.reportOnly) {
            log({ ...base, event: 'gone', message: `${u.label}: ${a.why} (report only: its part kept)` });
            return;
          }
          const s = u.recipe!;
          const out = await releaseGone(s.file, a.targets, recipeOptions(s));
          lastFirewall = undefined; // a recipe applied: its NAT and accept rules, as reapplyRecipe
          // the recipe's unit goes on with the targets left (released ones are no longer its)
          const left = u.targets.filter((id) => !a.targets.includes(id));
          units = units.map((x) => (x.key === u.key ? { ...x, targets: left } : x));
          for (const id of a.targets) applied.delete(id);
          // the release applied the recipe to the targets that run, as a re-apply does
          for (const id of left) {
            const n = now.get(id);
            if (n?.state === 'running') applied.set(id, n.nsIdentity);
          }
          const what = (out.released ?? []).map(
            (r) => `${r.container} (${r.target}${r.addresses.length ? `: ${r.addresses.join(', ')}` : ''})`,
          );
          log({
            ...base,
            target: a.targets[0],
            event: 'forgotten',
            message: `${u.label}: ${a.why}; released ${what.length ? what.join(', ') : 'nothing (already released)'}: leases back to the pool, ${out.plan.steps.length} step(s)${out.plan.steps.length ? ` (${out.plan.steps.map((x) => x.describes).join('; ')})` : ''}`,
            ms: Date.now() - t0,
          });
          return;
        }
        case 'forget':
          if (opts.reportOnly) {
            log({ ...base, event: 'gone', message: `${u.label}: ${a.why} (report only: record kept)` });
            return;
          }
          await forget(u);
          log({
            ...base,
            event: 'forgotten',
            message: `${u.label}: ${a.why}; cleaned up, record dropped`,
            ms: Date.now() - t0,
          });
          return;
        case 'reapply': {
          if (opts.reportOnly) {
            log({
              ...base,
              event: 'restarted',
              message: `${u.label}: ${a.why} (report only: not re-applied)`,
            });
            return;
          }
          const { changed, timing } = await reapply(u, now, t0);
          log({
            ...base,
            event: changed ? 'reapplied' : 'in-sync',
            message: `${u.label}: ${a.why}; ${changed ? 're-applied' : 'already in place'}`,
            ...timing,
          });
          return;
        }
        case 'check': {
          const steps = u.kind === 'attachment' ? await checkAttachment(u) : await checkRecipe(u, now);
          if (steps === 0) {
            log({ ...base, event: 'in-sync', message: `${u.label}: in sync`, ms: Date.now() - t0 });
            return;
          }
          if (opts.reportOnly) {
            log({
              ...base,
              event: 'drift',
              message: `${u.label}: ${steps} change(s) needed (report only)`,
              ms: Date.now() - t0,
            });
            return;
          }
          const { changed, timing } = await reapply(u, now, t0);
          log({
            ...base,
            event: changed ? 'repaired' : 'in-sync',
            message: `${u.label}: ${steps} change(s) needed; ${changed ? 'repaired' : 'in sync by now'}`,
            ...timing,
          });
          return;
        }
      }
    } catch (e) {
      if (!isPipefitterError(e)) throw e;
      failed.add(u.targets[0] ?? '');
      log({
        ...base,
        event: 'failed',
        code: e.code,
        message: `${u.label}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`,
        ms: Date.now() - t0,
      });
    }
  };

  return {
    async pass(only, why = {}) {
      failed.clear();
      // an attachment detached meanwhile (its record gone) is out: not re-made
      const listed: Unit[] = only ? (unitsOf(units, only) as Unit[]) : units;
      const kept = await Promise.all(
        listed.map((u) =>
          u.record ? hasAttachmentRecord(u.record.target.id, u.record.ifname) : Promise.resolve(true),
        ),
      );
      for (const [i, u] of listed.entries()) if (!kept[i]) forgotten.add(u.key);
      const chosen = listed.filter((_, i) => kept[i]);
      const ids = new Set(chosen.flatMap((u) => u.targets));
      const now = new Map<string, TargetNow>();
      found = new Map();
      await Promise.all(
        [...ids].map(async (id) => {
          const spec = specs.get(id) ?? id;
          const early = ahead.get(id);
          ahead.delete(id);
          const seen = await (early ?? targetNow(id, spec, opts));
          now.set(id, seen.now);
          if (seen.resolved) found.set(targetSpecText(stableSpec({ id, spec })), seen.resolved);
        }),
      );
      const decided = chosen.flatMap((u) => {
        const a = decide({ unit: u, now, applied, checkDue: why.checkDue ?? false });
        return a ? [{ u, a }] : [];
      });
      // attachments of restarted targets first, in one plan: one observation and one apply for
      // the containers restarted at once; one by one when that fails (one restarted again, say)
      const restarted = batchOf(decided, opts.reportOnly === true);
      const batched = restarted.length > 0 && (await reapplyBatch(restarted, why.eventAt));
      for (const { u, a } of decided)
        if (!(batched && restarted.some((x) => x.u === u))) await act(u, a, now, why.eventAt);
      await flushRecords();
      // a forgotten record is out of the next pass
      units = units.filter((u) => !forgotten.has(u.key));
      forgotten.clear();
      found = new Map();
      return new Set(failed);
    },
    lookAhead(id) {
      const p = targetNow(id, specs.get(id) ?? id, opts);
      p.catch(() => undefined); // its pass gets the error
      ahead.set(id, p);
    },
    async reload() {
      const next = await loadUnits();
      // what this watch applied since beats the records' older word
      for (const [id, ns] of next.applied) if (!applied.has(id)) applied.set(id, ns);
      units = next.units;
      specs = specsOf(units);
    },
    async verifyFirewall() {
      if (!planned) return new Set<string>();
      const { fw: before, bridges: used } = planned;
      const bridges = [...used];
      planned = undefined;
      lastFirewall = await observeFirewall(runnerOf(opts));
      const missing = new Set(firewallChanged(before, lastFirewall, bridges));
      return new Set(
        units
          .filter((u) => u.record && missing.has(bridgeOf(requestOf(u.record).link) ?? ''))
          .flatMap((u) => u.targets),
      );
    },
    unverified: () => planned !== undefined,
    targets: () => specs,
    applied: () => applied,
  };
};

const sleep = (ms: number, wake: { fn?: (() => void) | undefined }): Promise<void> =>
  new Promise((r) => {
    const t = setTimeout(() => {
      wake.fn = undefined;
      r();
    }, ms);
    wake.fn = () => {
      clearTimeout(t);
      wake.fn = undefined;
      r();
    };
  });

/**
 * Run the reconciler: one full pass (everything recorded is adopted), then, until `signal`
 * aborts, passes for targets an event or the namespace poll names, and a full drift check every
 * interval. With `once`, the first pass only.
 * @example await watch({ once: true, onEvent: (e) => console.log(e.message) })
 */
export const watch = async (opts: WatchOptions = {}, signal?: AbortSignal): Promise<void> => {
  requireRoot();
  const log = (e: Omit<WatchEvent, 'time'>): void => opts.onEvent?.({ time: new Date().toISOString(), ...e });
  const w = await createWatcher(opts);
  log({
    event: 'started',
    message: `watching ${w.targets().size} target(s)${opts.reportOnly ? ' (report only)' : ''}`,
  });
  await w.pass(undefined, { checkDue: true });
  if (opts.once || signal?.aborted) return;

  const intervalMs = opts.intervalMs ?? 30_000;
  const pollMs = opts.pollMs ?? 500;
  const dirty = new Set<string>();
  const eventAt = new Map<string, number>();
  let reload = false;
  const wake: { fn?: (() => void) | undefined } = {};
  const poke = (): void => wake.fn?.();
  signal?.addEventListener('abort', poke);

  // Docker's events, reconnecting with backoff; after a reconnect everything is checked again
  let docker: { stop: () => void } | undefined;
  let recheckAll = false;
  const followDocker = async (): Promise<void> => {
    let backoff = 250;
    let everOpen = false;
    while (!signal?.aborted) {
      let opened = false;
      const f = followDockerEvents(
        (e: DockerEvent) => {
          const id = `docker:${e.id}`;
          if (!w.targets().has(id)) return;
          if (e.action === 'start') {
            eventAt.set(id, eventTime(e.timeNano, Date.now()));
            w.lookAhead(id);
          }
          if (e.action === 'start' || e.action === 'destroy') {
            dirty.add(id);
            poke();
          }
        },
        {
          endpoint: opts.docker,
          onOpen: () => {
            opened = true;
            backoff = 250;
            if (everOpen) {
              log({ event: 'docker', message: 'reconnected to Docker: checking everything again' });
              recheckAll = true;
              poke();
            }
            everOpen = true;
          },
        },
      );
      docker = f;
      const why = await f.done;
      if (signal?.aborted || why === 'stopped') return;
      if (opened) log({ event: 'docker', message: why });
      // SIGTERM ends the wait at once (without Docker, watch would otherwise take up to 5 s to stop)
      await new Promise<void>((r) => {
        const done = (): void => {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          r();
        };
        const t = setTimeout(done, backoff);
        signal?.addEventListener('abort', done);
      });
      backoff = Math.min(backoff * 2, 5000);
    }
  };
  const dockerLoop = followDocker();

  // Podman's events (`podman events` as a child, restarted with backoff), while a podman: target is watched
  const podman = followPodman({
    runner: runnerOf(opts),
    wanted: () => [...w.targets().keys()].some((id) => id.startsWith('podman:')),
    onEvent: (id, e) => {
      if (!w.targets().has(id) || (e.action !== 'start' && e.action !== 'remove')) return;
      if (e.action === 'start') {
        eventAt.set(id, e.timeMs ?? Date.now());
        w.lookAhead(id);
      }
      dirty.add(id);
      poke();
    },
    onRestart: () => {
      recheckAll = true;
      poke();
    },
    log: (message) => log({ event: 'podman', message }),
    signal,
  });

  // the namespace of pid:/netns:/path targets, polled
  const poll = setInterval(() => {
    void (async () => {
      for (const [id, spec] of w.targets()) {
        if (id.startsWith('docker:') || id.startsWith('podman:')) continue;
        const now = (await targetNow(id, spec, opts).catch(() => undefined))?.now;
        if (pollWants(id, now, w.applied().get(id))) {
          dirty.add(id);
          poke();
        }
      }
    })();
  }, pollMs);

  const onHup = (): void => {
    reload = true;
    poke();
  };
  process.on('SIGHUP', onHup);
  const retries = new Set<NodeJS.Timeout>();
  const retry = (ids: ReadonlySet<string>): void => {
    if (ids.size === 0) return;
    const t = setTimeout(() => {
      retries.delete(t);
      for (const id of ids) dirty.add(id);
      poke();
    }, 1000);
    retries.add(t);
  };
  let nextCheck = Date.now() + intervalMs;
  /** When the firewall is read again after re-applies that planned on an earlier reading. */
  let verifyAt: number | undefined;
  try {
    while (!signal?.aborted) {
      if (dirty.size === 0 && !reload && !recheckAll)
        await sleep(Math.max(0, Math.min(nextCheck, verifyAt ?? Infinity) - Date.now()), wake);
      if (signal?.aborted) break;
      if (verifyAt !== undefined && Date.now() >= verifyAt && dirty.size === 0) {
        verifyAt = undefined;
        const lacking = await w.verifyFirewall();
        if (lacking.size) {
          log({
            event: 'drift',
            message: `the firewall lacks the accept rule of ${lacking.size} target(s)' bridges: checking them`,
          });
          retry(await w.pass(lacking, { checkDue: true }));
        }
        continue;
      }
      if (reload) {
        reload = false;
        await w.reload();
        log({ event: 'reloaded', message: `records and recipes read again: ${w.targets().size} target(s)` });
        podman.check();
        recheckAll = true;
      }
      const due = Date.now() >= nextCheck;
      if (due || recheckAll) {
        recheckAll = false;
        dirty.clear();
        nextCheck = Date.now() + intervalMs;
        retry(await w.pass(undefined, { checkDue: true, eventAt }));
        eventAt.clear();
        continue;
      }
      if (dirty.size) {
        const { only, at } = takeDirty(dirty, eventAt);
        retry(await w.pass(only, { checkDue: false, eventAt: at }));
        // once the restarts settle (a second without one), the firewall is read again
        if (w.unverified()) verifyAt = Date.now() + 1000;
      }
    }
  } finally {
    clearInterval(poll);
    for (const t of retries) clearTimeout(t);
    process.off('SIGHUP', onHup);
    signal?.removeEventListener('abort', poke);
    docker?.stop();
    await Promise.all([dockerLoop, podman.stop()]);
    log({ event: 'stopped', message: 'watch stopped' });
  }
};

export { parseDuration, systemdUnit } from '../plan/watch.js';
