/**
 * Recipes: plan, apply, status and destroy a topology file. The same pipeline as attach —
 * resolve every target, observe every namespace once, plan the whole difference, apply it all
 * or nothing — plus IPAM for `auto` addresses and the recipe's state (what it made).
 */
import { resolve } from 'node:path';
import type { Cidr } from '../addr.js';
import { parseCidr } from '../addr.js';
import { isPipefitterError, refuse } from '../errors.js';
import { applyPlan } from '../exec/apply.js';
import { shellJoin } from '../render/quote.js';
import { renderScript } from '../render/script.js';
import type { Runner } from '../exec/runner.js';
import { addressToCidr, allocate as allocateInPool, inPool, parsePool } from '../ipam/pool.js';
import type { IpamStore } from '../ipam/store.js';
import { openFileStore } from '../ipam/store.js';
import { HOST, netnsKey } from '../model/netns.js';
import type { Recipe } from '../model/recipe.js';
import { ipamKey, poolId } from '../model/recipe.js';
import type { Plan, Step } from '../model/step.js';
import type { ContainerSummary } from '../model/recipe-summary.js';
import { summarizeRecipe } from '../model/recipe-summary.js';

export type { ContainerSummary };
import type { ResolvedTarget } from '../model/target.js';
import { parseTargetSpec, targetSpecText } from '../model/target.js';
import { observeNat } from '../observe/nft.js';
import type { CarrierReport } from '../observe/carrier.js';
import { checkCarrier } from '../observe/carrier.js';
import { observe } from '../observe/snapshot.js';
import { ipForwardStep } from '../plan/nat.js';
import { planRecipe } from '../plan/recipe.js';
import type { LoadOptions } from '../recipe/load.js';
import { loadRecipe } from '../recipe/load.js';
import type { ReleasedContainer } from '../state/recipes.js';
import {
  readRecipeState,
  removeParsed,
  removeRecipeState,
  writeParsed,
  writeRecipeState,
} from '../state/recipes.js';
import { assertNamespacesPersist, namespacesWouldVanish } from '../targets/mounts.js';
import { hostNotice } from '../state/host-lock.js';
import { recheckTarget, resolveTarget } from '../targets/resolve.js';
import type { RunOptions } from './engine.js';
import { lockedRun, requireRoot, runnerOf } from './engine.js';
import { preflight } from './preflight.js';

export interface RecipeOptions extends RunOptions, LoadOptions {
  /** Leave out containers that are not running instead of refusing. @default false */
  readonly skipMissing?: boolean | undefined;
  /** Replace interfaces of the same name with other settings. @default false */
  readonly replace?: boolean | undefined;
  /**
   * Accept an address another container on the same bridge (and VLAN) already has, or the
   * bridge itself — one not made by this recipe: refused otherwise (E_CONFLICT). @default false
   */
  readonly allowDuplicateAddress?: boolean | undefined;
  /** Where `auto` addresses are kept. @default the file store under /var/lib/pipefitter/ipam */
  readonly ipam?: IpamStore | undefined;
  /** Called after each step of apply and destroy, with the plan's step count (progress on long runs). */
  readonly onStep?: ((step: Step, index: number, total: number) => void) | undefined;
}

/** A container that is not there: not running, or removed and released (`released` set). */
export interface MissingContainer {
  readonly container: string;
  readonly target: string;
  readonly reason: string;
  /** Removed for good and its part released (by `watch`): when, and its addresses then. */
  readonly released?: { readonly at: string; readonly addresses: readonly string[] } | undefined;
}

export interface RecipeReport {
  readonly recipe: string;
  readonly plan: Plan;
  readonly script: string;
  readonly applied: boolean;
  /**
   * Containers that are not running (left out with skipMissing), and those removed whose part
   * was released (always left out, as are the ports published to them).
   */
  readonly missing: readonly MissingContainer[];
  /** releaseGone: the containers whose part was released now, with the leases given back. */
  readonly released?: readonly ReleasedContainer[] | undefined;
  /** Addresses given to `auto` interfaces. */
  readonly addresses: readonly { readonly key: string; readonly address: string }[];
  /** Processes spawned in all (observing, then changing). */
  readonly processes: number;
  /** Of those, the ones that made the changes (the rest read the state). */
  readonly changeProcesses?: number | undefined;
  readonly durationMs?: number | undefined;
  /** After apply: carrier of the interfaces that hang on a host parent (macvlan, ipvlan, VLAN). */
  readonly carrier?: readonly CarrierReport[] | undefined;
  /** With keepJournal (`pipefitter try`): the kept journal of the apply. */
  readonly journal?: string | undefined;
  /** The targets, by the recipe's container name (apply only). */
  readonly targets?: ReadonlyMap<string, ResolvedTarget> | undefined;
  /** Per container: its interfaces, addresses and whether it changed (apply and destroy). */
  readonly containers?: readonly ContainerSummary[] | undefined;
}

interface Prepared {
  readonly recipe: Recipe;
  readonly runner: Runner;
  readonly targets: Map<string, ResolvedTarget>;
  readonly create: string[];
  readonly missing: MissingContainer[];
  /** Released containers (the recipe state's) that are still not there. */
  readonly released: readonly ReleasedContainer[];
  readonly former: ResolvedTarget[];
  /** Named namespaces that exist now (resolved), of those the recipe names or named before. */
  readonly present: ReadonlySet<string>;
  readonly dropNamespaces: readonly string[];
  /** Targets where forwarding was turned on by the recipe and is no longer wanted. */
  readonly unforward: readonly ResolvedTarget[];
  readonly spawned0: number;
}

const NOT_THERE = new Set(['E_TARGET_NOT_FOUND', 'E_TARGET_STOPPED']);

/** Right before the first change: every resolved target is still the namespace observed. */
const recheckGuards = (targets: readonly ResolvedTarget[]): (() => Promise<void>)[] =>
  targets.filter((t) => t.nsIdentity !== undefined).map((t) => () => recheckTarget(t));

const prepare = async (recipe: Recipe, opts: RecipeOptions): Promise<Prepared> => {
  requireRoot();
  const runner = runnerOf(opts);
  const spawned0 = runner.spawned;
  const targets = new Map<string, ResolvedTarget>();
  const create: string[] = [];
  const missing: Prepared['missing'] = [];
  // resolved side by side, kept in the recipe's order (the state file lists them so): an order
  // of completion made the file differ from run to run (found by the differential test)
  const resolved = await Promise.all(
    recipe.containers.map((c) =>
      resolveTarget(c.target, {
        runner,
        docker: opts.docker,
        allowHostNamespace: opts.allowHostNamespace,
      }).then(
        (t) => ({ t }),
        (e: unknown) => ({ e }),
      ),
    ),
  );
  recipe.containers.forEach((c, i) => {
    const r = resolved[i] as { t: ResolvedTarget } | { e: unknown };
    if ('t' in r) targets.set(c.name, r.t);
    else {
      const e = r.e;
      if (!isPipefitterError(e) || !NOT_THERE.has(e.code)) throw e;
      if (c.create && c.target.kind === 'netns') {
        create.push(c.target.name);
        targets.set(c.name, {
          spec: c.target,
          id: `netns:${c.target.name}`,
          label: `netns:${c.target.name}`,
          netns: { kind: 'name', name: c.target.name },
        });
      } else missing.push({ container: c.name, target: targetSpecText(c.target), reason: e.message });
    }
  });
  const state = await readRecipeState(recipe.name);
  // released containers stay so while they are not there; one that is there again is applied anew
  const released = (state?.released ?? []).filter((r) => missing.some((m) => m.container === r.container));
  for (const [i, m] of missing.entries()) {
    const r = released.find((x) => x.container === m.container);
    if (r)
      missing[i] = {
        ...m,
        reason: `removed; its part was released at ${r.at} (apply again once it is back)`,
        released: { at: r.at, addresses: r.addresses },
      };
  }
  const current = new Set([...targets.values()].map((t) => t.id));
  const former: ResolvedTarget[] = [];
  for (const t of state?.targets ?? []) {
    if (current.has(t.id)) continue;
    try {
      former.push(
        await resolveTarget(parseTargetSpec(t.spec), {
          runner,
          docker: opts.docker,
          allowHostNamespace: opts.allowHostNamespace,
        }),
      );
    } catch {
      // gone: its interfaces went with its namespace
    }
  }
  const wantedNs = new Set(
    recipe.containers
      .filter((c) => c.create && c.target.kind === 'netns')
      .map((c) => (c.target.kind === 'netns' ? c.target.name : '')),
  );
  // only those still there: a destroy that stopped half-way (exit 3) may have removed some
  const present = new Set(
    [...targets.values(), ...former].flatMap((t) =>
      t.netns.kind === 'name' && !create.includes(t.netns.name) ? [t.netns.name] : [],
    ),
  );
  const dropNamespaces = (state?.createdNamespaces ?? []).filter((n) => !wantedNs.has(n) && present.has(n));
  const forwarders = new Set(
    recipe.containers.filter((c) => c.forwarding).map((c) => targets.get(c.name)?.id),
  );
  const unforward = [...targets.values(), ...former].filter(
    (t) => (state?.forwarding ?? []).includes(t.id) && !forwarders.has(t.id),
  );
  return {
    recipe,
    runner,
    targets,
    create,
    missing,
    released,
    former,
    present,
    dropNamespaces,
    unforward,
    spawned0,
  };
};

/** `auto` addresses: the existing allocation of each key, or (apply) a new one, or (plan) the one it would get. */
const autoAddresses = async (
  recipe: Recipe,
  present: ReadonlySet<string>,
  store: IpamStore,
  persist: boolean,
): Promise<{ auto: Map<string, Cidr>; created: string[] }> => {
  const reqs = recipe.containers.flatMap((c) =>
    present.has(c.name)
      ? c.interfaces
          .filter((i) => i.addressing.kind === 'auto')
          .map((i) => {
            const net = recipe.networks.find((n) => n.name === i.network)!;
            // the gateway and the static addresses of the same network are never handed out
            const reserved = [
              ...(net.gateway ? [net.gateway.address] : []),
              ...(net.kind === 'bridge'
                ? (recipe.bridges.find((b) => b.name === net.bridge)?.addrs ?? []).map((a) => a.address)
                : []),
              ...recipe.containers.flatMap((x) =>
                x.interfaces
                  .filter((y) => y.network === net.name && y.addressing.kind === 'static')
                  .flatMap((y) =>
                    y.addressing.kind === 'static' ? y.addressing.addrs.map((a) => a.address) : [],
                  ),
              ),
            ];
            return {
              poolId: poolId(recipe.name, net.name),
              pool: parsePool(net.pool!, `networks.${net.name}.pool`, net.subnet, reserved),
              key: ipamKey(recipe.name, c.name, i.ifname),
            };
          })
      : [],
  );
  const auto = new Map<string, Cidr>();
  if (reqs.length === 0) return { auto, created: [] };
  if (persist) {
    // which keys are new is decided under the IPAM lock, with the allocation itself: a list read
    // before it could be another run's (defect 1 of issue 13)
    const got = await store.allocateReporting(
      reqs.map(({ poolId: p, pool, key }) => ({ poolId: p, pool, key })),
    );
    got.allocations.forEach((a) => auto.set(a.key, parseCidr(a.address, a.key)));
    return { auto, created: got.created };
  }
  const before = new Map((await store.list()).map((a) => [a.key, a.address]));
  const taken = new Set([...before.values()].map((a) => a.split('/')[0]!));
  for (const r of reqs) {
    const prev = before.get(r.key);
    // as allocateMany does: a key keeps its address while that is still in its (maybe changed) pool
    const had =
      prev !== undefined &&
      inPool(r.pool, prev.split('/')[0]!) &&
      prev === addressToCidr(r.pool, prev.split('/')[0]!)
        ? prev
        : undefined;
    const address = had ?? allocateInPool(r.pool, taken);
    if (!address)
      throw refuse(
        'E_CONFLICT',
        `IPAM pool ${r.poolId} (${r.pool.text})`,
        'pool full',
        'make the pool larger, or free addresses with `pipefitter ipam release` or `gc`',
      );
    const cidr = had ? parseCidr(had, r.key) : parseCidr(`${address}/${r.pool.prefix}`, r.key);
    taken.add(cidr.address);
    auto.set(r.key, cidr);
  }
  return { auto, created: [] };
};

const planFor = async (
  p: Prepared,
  auto: Map<string, Cidr>,
  opts: RecipeOptions,
  empty = false,
): Promise<Plan> => {
  const namespaces = [
    HOST,
    ...[...p.targets.values()]
      .filter((t) => !p.create.includes(t.netns.kind === 'name' ? t.netns.name : ''))
      .map((t) => t.netns),
    ...p.former.map((t) => t.netns),
  ];
  // nft first: its process runs while the namespaces are read in this one
  const [nat, observed] = await Promise.all([
    observeNat(p.runner, p.recipe.name),
    // routed: the FORWARD policy, which a NAT'd bridge's traffic meets (plan/firewall.ts)
    observe(p.runner, namespaces, {
      routed: true,
      // forwarding matters in the recipe's routers and in those it stops forwarding
      forwardingOf: new Set([
        ...p.recipe.containers.flatMap((c) => {
          const t = c.forwarding ? p.targets.get(c.name) : undefined;
          return t ? [netnsKey(t.netns)] : [];
        }),
        ...p.unforward.map((t) => netnsKey(t.netns)),
      ]),
    }),
  ]);
  const recipe: Recipe = empty
    ? { ...p.recipe, bridges: [], networks: [], containers: [], links: [] }
    : p.recipe;
  return planRecipe({
    recipe,
    targets: empty ? new Map() : p.targets,
    create: empty ? [] : p.create,
    dropNamespaces: p.dropNamespaces,
    former: empty
      ? [...p.targets.values(), ...p.former].filter((t) => observed.has(netnsKey(t.netns)))
      : p.former,
    auto,
    observed,
    nat,
    options: { replace: opts.replace, allowDuplicateAddress: opts.allowDuplicateAddress },
    released: new Set(p.released.flatMap((r) => r.addresses)),
    unforward: p.unforward.filter(
      (t) => !(t.netns.kind === 'name' && p.dropNamespaces.includes(t.netns.name)),
    ),
    ...(empty
      ? {
          sweepFirewall: [
            ...p.recipe.bridges.map((b) => b.name as string),
            ...p.recipe.networks.flatMap((n) => (n.kind === 'bridge' ? [n.bridge as string] : [])),
          ],
        }
      : {}),
  });
};

const load = (file: string | Recipe, opts: RecipeOptions): Promise<Recipe> =>
  typeof file === 'string' ? loadRecipe(file, opts) : Promise.resolve(file);

/**
 * What `apply` would change, per container and bridge; nothing is touched.
 * @example (await plan('recipes/router.yaml')).plan.steps.map((s) => s.describes)
 */
export const plan = async (file: string | Recipe, opts: RecipeOptions = {}): Promise<RecipeReport> =>
  planAs('plan', await load(file, opts), opts);

/** The verb whose plan this is: the first line of its script names it. */
type Verb = 'plan' | 'apply' | 'destroy';

/** `pipefitter VERB FILE --set k=v …`: the command that makes (or shows) this plan. */
const titleOf = (verb: Verb, recipe: Recipe, opts: RecipeOptions): string =>
  shellJoin([
    'pipefitter',
    verb,
    recipe.file,
    ...Object.entries(opts.set ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ]);

const planAs = async (verb: Verb, recipe: Recipe, opts: RecipeOptions): Promise<RecipeReport> => {
  const p = await prepare(recipe, opts);
  const { auto } = await autoAddresses(
    recipe,
    new Set(p.targets.keys()),
    opts.ipam ?? openFileStore(),
    false,
  );
  const planned = await planFor(p, auto, opts);
  const notes = await preflight(planned, p.runner, true);
  const pl = notes.length ? { ...planned, notes: [...planned.notes, ...notes] } : planned;
  return report(p, pl, false, auto, titleOf(verb, recipe, opts));
};

const report = (
  p: Prepared,
  pl: Plan,
  applied: boolean,
  auto: Map<string, Cidr>,
  title: string,
  done?: { readonly durationMs: number; readonly processes: number },
): RecipeReport => ({
  recipe: p.recipe.name,
  plan: pl,
  script: renderScript(pl, { title }),
  applied,
  missing: p.missing,
  addresses: [...auto].map(([key, c]) => ({ key, address: c.text })),
  processes: p.runner.spawned - p.spawned0,
  changeProcesses: done?.processes,
  durationMs: done?.durationMs,
  containers: summarizeRecipe(p.recipe, { targets: p.targets, missing: p.missing, steps: pl.steps, auto }),
});

/**
 * Make the machine match the recipe: all or nothing; a second apply changes nothing.
 * @example await apply('recipes/shared-bridge-nat.yaml', { set: { prefix: 'lab-' } })
 */
export const apply = async (file: string | Recipe, opts: RecipeOptions = {}): Promise<RecipeReport> => {
  const recipe = await load(file, opts);
  if (opts.dryRun) return applyLocked(recipe, opts);
  // everything from reading the recipe's state to writing it again holds the host lock
  const runner = runnerOf(opts);
  return lockedRun(titleOf('apply', recipe, opts), runner, opts, () =>
    applyLocked(recipe, { ...opts, runner }),
  );
};

/**
 * Apply; with `releaseNow` (container names, from releaseGone), those of them that are not there
 * are released in the same run: their leases go back to the pool and no port is published to
 * their addresses any more (the plan drops those DNAT rules).
 */
const applyLocked = async (
  recipe: Recipe,
  opts: RecipeOptions,
  releaseNow: readonly string[] = [],
): Promise<RecipeReport> => {
  const p0 = await prepare(recipe, opts);
  const notRunning = p0.missing.filter((m) => !m.released);
  if (notRunning.length && !opts.skipMissing)
    throw refuse(
      'E_TARGET_STOPPED',
      `recipe "${recipe.name}"`,
      `${notRunning.length === 1 ? 'a container is' : 'containers are'} not running: ${notRunning.map((m) => `${m.container} (${m.target})`).join(', ')}`,
      'start them, or pass --skip-missing to apply the rest',
    );
  if (opts.dryRun) {
    // a dry run changes nothing: it says what the real one would refuse
    const vanish = namespacesWouldVanish(p0.create);
    if (vanish) hostNotice(`note: ${vanish.who}: ${vanish.problem}; the real run is refused`);
    return planAs('apply', recipe, opts);
  }
  const store = opts.ipam ?? openFileStore();
  const autoKeys = (c: Recipe['containers'][number]): string[] =>
    c.interfaces
      .filter((i) => i.addressing.kind === 'auto')
      .map((i) => ipamKey(recipe.name, c.name, i.ifname));
  const releasedNow = await releasing(recipe, p0, releaseNow, store, autoKeys);
  const p: Prepared = releasedNow.length
    ? {
        ...p0,
        released: [...p0.released, ...releasedNow],
        missing: p0.missing.map((m) => {
          const r = releasedNow.find((x) => x.container === m.container);
          return r
            ? {
                ...m,
                reason: `removed; its part released now`,
                released: { at: r.at, addresses: r.addresses },
              }
            : m;
        }),
      }
    : p0;
  // containers not running now (stopped, not removed) keep their leases: a restart gets the same address
  const waiting = recipe.containers.filter((c) =>
    p.missing.some((m) => m.container === c.name && !m.released),
  );
  const { auto, created } = await autoAddresses(recipe, new Set(p.targets.keys()), store, true);
  try {
    const pl = await planFor(p, auto, opts);
    await preflight(pl, p.runner, false);
    // namespaces made here must outlive this process (not so under `ip netns exec`)
    assertNamespacesPersist(p.create);
    const state = await readRecipeState(recipe.name);
    const rep = pl.steps.length
      ? await applyPlan(pl, {
          runner: p.runner,
          title: titleOf('apply', recipe, opts),
          hooks: { ...opts.hooks, ...(opts.onStep ? { afterStep: opts.onStep } : {}) },
          guards: recheckGuards([...p.targets.values(), ...p.former]),
          keepJournal: opts.keepJournal,
        })
      : undefined;
    const present = [...p.targets.values()];
    const nsMade = new Set(
      [...(state?.createdNamespaces ?? []), ...p.create].filter((n) => !p.dropNamespaces.includes(n)),
    );
    const natOn = pl.steps.some((s) => s.id === 'ip-forward');
    const waitingSpecs = new Set(waiting.map((c) => targetSpecText(c.target)));
    await writeRecipeState({
      version: 1,
      name: recipe.name,
      file: resolve(recipe.file),
      ...(opts.set && Object.keys(opts.set).length ? { vars: opts.set } : {}),
      // and those not running now, as the state had them: watch still waits for them
      targets: [
        ...present.map((t) => ({ id: t.id, spec: targetSpecText(t.spec) })),
        ...(state?.targets ?? []).filter(
          (t) => waitingSpecs.has(t.spec) && !present.some((x) => x.id === t.id),
        ),
      ],
      createdNamespaces: [...nsMade],
      forwarding: recipe.containers
        .filter((c) => c.forwarding && p.targets.has(c.name))
        .map((c) => p.targets.get(c.name)!.id),
      ipForwardWasOff: state?.ipForwardWasOff || natOn,
      appliedAt: new Date().toISOString(),
      parsed: recipe.source?.sha256,
      ...(p.released.length ? { released: p.released } : {}),
    });
    // the parsed text, for the next run of the same text; the one of an older text goes
    const src = recipe.source;
    if (src && !src.kept && src.raw !== undefined) await writeParsed(src.sha256, src.raw);
    if (state?.parsed !== src?.sha256) await removeParsed(state?.parsed);
    // auto addresses of interfaces the recipe no longer has, and of containers released, go back
    // to their pool; those of containers not running now stay theirs
    const keep = new Set([...auto.keys(), ...waiting.flatMap(autoKeys)]);
    const releasedKeys = new Set(
      recipe.containers.filter((c) => p.released.some((r) => r.container === c.name)).flatMap(autoKeys),
    );
    await store.releaseWhere(
      (a) =>
        a.key.startsWith(`${recipe.name}/`) &&
        !keep.has(a.key) &&
        (present.length > 0 || releasedKeys.has(a.key)),
    );
    // interfaces whose carrier hangs on a host parent (macvlan, ipvlan, VLAN): said when missing
    const carrier = rep
      ? await checkCarrier(
          p.runner,
          recipe.containers.flatMap((c) => {
            const t = p.targets.get(c.name);
            return t
              ? c.interfaces
                  .filter((i) => recipe.networks.find((n) => n.name === i.network)?.kind !== 'bridge')
                  .map((i) => ({ label: t.label, netns: t.netns, ifname: i.ifname }))
              : [];
          }),
          { settleMs: pl.records?.some((r) => r.op === 'add') ? 3000 : 0 },
        )
      : undefined;
    return {
      ...report(p, pl, pl.steps.length > 0, auto, titleOf('apply', recipe, opts), rep),
      carrier,
      journal: rep?.journal,
      targets: p.targets,
      ...(releasedNow.length ? { released: releasedNow } : {}),
    };
  } catch (e) {
    const fresh = new Set(created);
    await store.releaseWhere((a) => fresh.has(a.key));
    throw e;
  }
};

/** The containers of `names` that are not there now, with their addresses (static, and leased). */
const releasing = async (
  recipe: Recipe,
  p: Prepared,
  names: readonly string[],
  store: IpamStore,
  autoKeys: (c: Recipe['containers'][number]) => string[],
): Promise<ReleasedContainer[]> => {
  const gone = recipe.containers.filter(
    (c) => names.includes(c.name) && p.missing.some((m) => m.container === c.name && !m.released),
  );
  if (gone.length === 0) return [];
  const leases = await store.list();
  const at = new Date().toISOString();
  return gone.map((c) => {
    const keys = new Set(autoKeys(c));
    return {
      container: c.name,
      target: targetSpecText(c.target),
      addresses: [
        ...c.interfaces.flatMap((i) =>
          i.addressing.kind === 'static' ? i.addressing.addrs.map((a) => a.address) : [],
        ),
        ...leases.filter((a) => keys.has(a.key)).map((a) => a.address.split('/')[0]!),
      ],
      at,
    };
  });
};

/**
 * The part of an applied recipe that belonged to targets removed for good (`watch` saw a
 * container removed, a process exit): planned as the recipe without them — their pool leases go
 * back, the ports published to their addresses are taken out, a bridge that others use stays —
 * and the recipe's state keeps them as released, so status, destroy and a later apply agree.
 * A target that is there again is not released (it is applied as usual).
 * @example await releaseGone('lab.yaml', ['docker:web'])
 */
export const releaseGone = async (
  file: string | Recipe,
  targetIds: readonly string[],
  opts: RecipeOptions = {},
): Promise<RecipeReport> => {
  const recipe = await load(file, opts);
  const runner = runnerOf(opts);
  return lockedRun(
    `pipefitter watch: release ${targetIds.join(', ')} of recipe ${recipe.name}`,
    runner,
    opts,
    async () => {
      const state = await readRecipeState(recipe.name);
      const specs = new Set(
        (state?.targets ?? []).filter((t) => targetIds.includes(t.id)).map((t) => t.spec),
      );
      const names = recipe.containers.filter((c) => specs.has(targetSpecText(c.target))).map((c) => c.name);
      return applyLocked(recipe, { ...opts, runner, skipMissing: true, dryRun: false }, names);
    },
  );
};

export interface Drift {
  readonly where: string;
  readonly what: string;
}

export interface StatusReport {
  readonly recipe: string;
  readonly inSync: boolean;
  readonly drift: readonly Drift[];
  readonly missing: RecipeReport['missing'];
}

/**
 * In sync or drifted, with each difference (what `apply` would do to repair it).
 * @example (await status('lab.yaml')).drift
 */
export const status = async (file: string | Recipe, opts: RecipeOptions = {}): Promise<StatusReport> => {
  const r = await plan(file, opts);
  const drift = r.plan.steps
    .filter((s) => !s.bestEffort)
    .map((s) => ({ where: netnsKey(s.netns), what: s.describes }));
  return {
    recipe: r.recipe,
    // --skip-missing: containers that are not running do not count (listed, not drift); nor do
    // removed ones whose part was released (apply leaves them out too)
    inSync:
      drift.length === 0 && (opts.skipMissing === true || r.missing.every((m) => m.released !== undefined)),
    drift,
    missing: r.missing,
  };
};

/**
 * Remove everything the recipe made, and nothing else — also after the file changed.
 * @example await destroy('recipes/router.yaml')
 */
export const destroy = async (file: string | Recipe, opts: RecipeOptions = {}): Promise<RecipeReport> => {
  const recipe = await load(file, opts);
  if (opts.dryRun) return destroyLocked(recipe, opts);
  const runner = runnerOf(opts);
  return lockedRun(titleOf('destroy', recipe, opts), runner, opts, () =>
    destroyLocked(recipe, { ...opts, runner }),
  );
};

const destroyLocked = async (recipe: Recipe, opts: RecipeOptions): Promise<RecipeReport> => {
  const p = await prepare(
    { ...recipe, containers: recipe.containers.map((c) => ({ ...c, create: false })) },
    opts,
  );
  const state = await readRecipeState(recipe.name);
  // the recipe's addresses are given back after the kernel is cleaned: a corrupt IPAM file
  // refuses here (exit 2, naming it), before anything is touched, not half-way
  const store = opts.ipam ?? openFileStore();
  await store.list();
  const everyone = [...p.targets.values(), ...p.former];
  const pq: Prepared = {
    ...p,
    dropNamespaces: (state?.createdNamespaces ?? []).filter((n) => p.present.has(n)),
    missing: [],
    unforward: everyone.filter((t) => (state?.forwarding ?? []).includes(t.id)),
  };
  const pl0 = await planFor(pq, new Map(), opts, true);
  // IPv4 forwarding back off, when the recipe's NAT turned it on
  const pl: Plan = state?.ipForwardWasOff ? { ...pl0, steps: [...pl0.steps, ipForwardStep(false)] } : pl0;
  const title = titleOf('destroy', recipe, opts);
  if (opts.dryRun) return report(pq, pl, false, new Map(), title);
  // as apply: a target made anew since it was observed (a container restarted, a namespace
  // re-created) is refused, so nothing of someone else's is removed
  const rep = pl.steps.length
    ? await applyPlan(pl, {
        runner: p.runner,
        hooks: { ...opts.hooks, ...(opts.onStep ? { afterStep: opts.onStep } : {}) },
        guards: recheckGuards(everyone),
        title,
      })
    : undefined;
  await removeRecipeState(recipe.name);
  await removeParsed(state?.parsed);
  await store.releaseWhere((a) => a.key.startsWith(`${recipe.name}/`));
  return report(pq, pl, pl.steps.length > 0, new Map(), title, rep);
};
