/**
 * The IPAM commands: list, release and collect `auto` addresses — never giving back an address
 * that is still in use, so that the next apply cannot hand it to someone else while it sits on
 * an interface.
 *
 * An allocation (key RECIPE/CONTAINER/IFNAME) is in use when its recipe is live — applied and not
 * destroyed: its state file exists — and either the recipe file (loaded as it was applied, with
 * the same --set values) still declares that container's interface with an `auto` address, or
 * the address sits on an interface that recipe made (its tag names the recipe) in one of the
 * targets the recipe touched. A recipe with no state has nothing in use: its addresses are free
 * to release (what `gc` collects).
 *
 * A lease of the CNI plugin's own IPAM (key `cni:NETWORK/CONTAINERID/IFNAME`, cni/lease.ts) is in
 * use while the record of its attachment exists (state/cni.ts): an ADD writes the record before
 * it leases, and DEL and GC release the lease before they remove the record.
 */
import { PipefitterError, isPipefitterError } from '../errors.js';
import { shellJoin } from '../render/quote.js';
import type { Allocation, IpamStore } from '../ipam/store.js';
import { openFileStore } from '../ipam/store.js';
import { decodeTag } from '../model/owner.js';
import { parseCniLeaseKey } from '../cni/lease.js';
import { ipamKey } from '../model/recipe.js';
import { readCniRecord } from '../state/cni.js';
import { parseTargetSpec } from '../model/target.js';
import { observeNetns } from '../observe/snapshot.js';
import { loadRecipe } from '../recipe/load.js';
import type { RecipeState } from '../state/recipes.js';
import { listRecipeStates, readRecipeState } from '../state/recipes.js';
import { resolveTarget } from '../targets/resolve.js';
import type { RunOptions } from './engine.js';
import { runnerOf } from './engine.js';

export interface IpamOptions extends RunOptions {
  /** Where `auto` addresses are kept. @default the file store under /var/lib/pipefitter/ipam */
  readonly ipam?: IpamStore | undefined;
}

/** An allocation that must not be given back yet, and why. */
export interface AllocationInUse {
  readonly allocation: Allocation;
  readonly recipe: string;
  readonly container: string;
  readonly ifname: string;
  /** e.g. `recipe "lab" is applied and still declares container web, interface eth1` */
  readonly why: string;
  /** The command that frees it, e.g. `pipefitter destroy /srv/lab.yaml --set ns=lab`. */
  readonly destroy: string;
}

export interface ReleaseRequest {
  /** One allocation, by its key RECIPE/CONTAINER/IFNAME. */
  readonly key?: string | undefined;
  /** Every allocation of this recipe. */
  readonly recipe?: string | undefined;
  /** Release even what is still in use. @default false */
  readonly force?: boolean | undefined;
}

export interface ReleaseReport {
  readonly released: readonly Allocation[];
  /** In use, released only because of `force`. */
  readonly forced: readonly AllocationInUse[];
}

const keyParts = (key: string): { recipe: string; container: string; ifname: string } => {
  const [recipe = '', container = '', ifname = ''] = key.split('/');
  return { recipe, container, ifname };
};

const destroyCommand = (s: RecipeState): string =>
  shellJoin([
    'pipefitter',
    'destroy',
    s.file,
    ...Object.entries(s.vars ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ]);

/** Keys of `auto` interfaces the recipe file declares today, or undefined when it cannot be read. */
const declaredKeys = async (s: RecipeState): Promise<Set<string> | undefined> => {
  try {
    const r = await loadRecipe(s.file, { set: s.vars ?? {} });
    if (r.name !== s.name) return undefined;
    return new Set(
      r.containers.flatMap((c) =>
        c.interfaces
          .filter((i) => i.addressing.kind === 'auto')
          .map((i) => ipamKey(r.name, c.name, i.ifname)),
      ),
    );
  } catch (e) {
    if (isPipefitterError(e)) return undefined; // gone, changed or invalid: the kernel decides
    throw e;
  }
};

/** Addresses on interfaces the recipe made, in the targets it touched: address → where. */
const madeAddresses = async (s: RecipeState, opts: IpamOptions): Promise<Map<string, string>> => {
  const runner = runnerOf(opts);
  const out = new Map<string, string>();
  for (const t of s.targets) {
    try {
      // only read: a recipe applied with --allow-host-namespace is read there too
      const target = await resolveTarget(parseTargetSpec(t.spec), {
        runner,
        docker: opts.docker,
        allowHostNamespace: true,
      });
      const ns = await observeNetns(runner, target.netns, { firewall: false });
      for (const l of ns.links)
        if (decodeTag(l.alias)?.recipe === s.name)
          for (const a of l.addrs) out.set(a.address, `${l.name} in ${target.label}`);
    } catch (e) {
      if (!isPipefitterError(e)) throw e; // a target that is gone holds nothing
    }
  }
  return out;
};

/**
 * Which of these allocations are still in use (see the module comment), and why.
 * @example (await allocationsInUse(await openFileStore().list())).map((u) => u.why)
 */
export const allocationsInUse = async (
  allocations: readonly Allocation[],
  opts: IpamOptions = {},
): Promise<AllocationInUse[]> => {
  const out: AllocationInUse[] = [];
  const byRecipe = new Map<string, Allocation[]>();
  for (const a of allocations) {
    const cni = parseCniLeaseKey(a.key);
    if (cni) {
      if (await cniRecorded(a))
        out.push({
          allocation: a,
          recipe: `cni:${cni.network}`,
          container: cni.containerId,
          ifname: cni.ifname,
          why: `the CNI attachment of network "${cni.network}", container ${cni.containerId}, interface ${cni.ifname} is still there`,
          destroy: `CNI_COMMAND=DEL of container ${cni.containerId}`,
        });
      continue;
    }
    const r = keyParts(a.key).recipe;
    byRecipe.set(r, [...(byRecipe.get(r) ?? []), a]);
  }
  for (const [recipe, allocs] of byRecipe) {
    const state = await readRecipeState(recipe);
    if (!state) continue;
    const declared = await declaredKeys(state);
    let made: Map<string, string> | undefined;
    for (const a of allocs) {
      const { container, ifname } = keyParts(a.key);
      const base = { allocation: a, recipe, container, ifname, destroy: destroyCommand(state) };
      if (declared?.has(a.key)) {
        out.push({
          ...base,
          why: `recipe "${recipe}" is applied and still declares container ${container}, interface ${ifname}`,
        });
        continue;
      }
      made ??= await madeAddresses(state, opts);
      const where = made.get(a.address.split('/')[0] ?? '');
      if (where) out.push({ ...base, why: `it is on ${where}, which recipe "${recipe}" made` });
    }
  }
  return out;
};

/** A CNI lease's attachment is recorded (an unreadable record counts as there). */
const cniRecorded = async (a: Allocation): Promise<boolean> => {
  const id = parseCniLeaseKey(a.key);
  if (!id) return false;
  return readCniRecord(id.network, id.containerId, id.ifname).then(
    (r) => r !== undefined,
    () => true,
  );
};

const refuseInUse = (field: string, value: string, inUse: readonly AllocationInUse[]): PipefitterError => {
  const first = inUse[0]!;
  const what =
    inUse.length === 1
      ? `${first.allocation.address} is in use: ${first.why}`
      : `${inUse.length} allocations are in use: ${inUse.map((u) => `${u.allocation.key} ${u.allocation.address} (${u.why})`).join('; ')}`;
  const destroys = [...new Set(inUse.map((u) => u.destroy))];
  return new PipefitterError({
    code: 'E_CONFLICT',
    field,
    value,
    message: `${field} ${JSON.stringify(value)}: ${what}; nothing was released`,
    hint: `remove what uses it first (\`${destroys.join('`, `')}\` gives it back), or pass --force to release it anyway (another allocation may then get it while it is still there)`,
  });
};

/**
 * Give back one allocation (by key) or every allocation of a recipe. Refuses (E_CONFLICT, exit 2,
 * nothing released) what is still in use unless `force`, and an unknown key (E_BAD_VALUE); a
 * recipe with nothing allocated releases nothing.
 * @example await releaseAllocations({ key: 'lab/web/eth1' })
 */
export const releaseAllocations = async (
  req: ReleaseRequest,
  opts: IpamOptions = {},
): Promise<ReleaseReport> => {
  if ((req.key === undefined) === (req.recipe === undefined))
    throw new PipefitterError({
      code: 'E_USAGE',
      message: 'ipam release: give a KEY or --recipe NAME',
      hint: 'see `pipefitter ipam ls` for keys',
    });
  const store = opts.ipam ?? openFileStore();
  const all = await store.list();
  const field = req.key !== undefined ? 'ipam release' : 'ipam release --recipe';
  const value = req.key ?? req.recipe ?? '';
  const chosen =
    req.key !== undefined
      ? all.filter((a) => a.key === req.key)
      : all.filter((a) => keyParts(a.key).recipe === req.recipe);
  if (req.key !== undefined && chosen.length === 0)
    throw new PipefitterError({
      code: 'E_BAD_VALUE',
      field: 'KEY',
      value: req.key,
      message: `ipam release: no allocation ${JSON.stringify(req.key)}`,
      hint: 'keys are RECIPE/CONTAINER/IFNAME; `pipefitter ipam ls` lists them',
    });
  const inUse = chosen.length ? await allocationsInUse(chosen, opts) : [];
  if (inUse.length && !req.force) throw refuseInUse(field, value, inUse);
  const keys = new Set(chosen.map((a) => a.key));
  const released = keys.size ? await store.releaseWhere((a) => keys.has(a.key)) : [];
  return { released, forced: inUse };
};

/**
 * Release the addresses of recipes that no longer exist (destroyed, or their state lost), and the
 * CNI leases whose attachment has no record (a DEL whose IPAM part failed).
 * @example (await collectAllocations()).released
 */
export const collectAllocations = async (opts: IpamOptions = {}): Promise<ReleaseReport> => {
  const store = opts.ipam ?? openFileStore();
  const live = new Set((await listRecipeStates()).map((s) => s.name));
  // the very allocation seen without a record: the same key leased anew since is another one
  const stamp = (a: Allocation): string => `${a.key}\0${a.address}\0${a.created}`;
  const orphans = new Set<string>();
  for (const a of await store.list())
    if (parseCniLeaseKey(a.key) && !(await cniRecorded(a))) orphans.add(stamp(a));
  const released = await store.releaseWhere((a) =>
    parseCniLeaseKey(a.key) ? orphans.has(stamp(a)) : !live.has(keyParts(a.key).recipe),
  );
  return { released, forced: [] };
};

/** All allocations, sorted by pool and address. */
export const listAllocations = async (opts: IpamOptions = {}): Promise<Allocation[]> =>
  (opts.ipam ?? openFileStore()).list();
