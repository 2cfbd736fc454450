/**
 * Where `auto` addresses live between runs. `IpamStore` is the seam: the locked JSON file below
 * is the embedded default, and a distributed backend (etcd) can implement the same interface.
 *
 * File store: `<dir>/allocations.json` ({ version: 1, allocations: [...] }). Every change is a
 * read-modify-write under an exclusive cross-process lock (proper-lockfile: an atomic mkdir of
 * `<dir>/allocations.lock`, kept fresh by an mtime heartbeat, taken over when stale), written to a
 * temporary file in the same directory, fsynced and renamed over the old file, so a reader sees
 * the old or the new file and a crash leaves one of them. A corrupt file is an error, never reset.
 *
 * Staleness is not left to the wall clock alone: proper-lockfile calls a lock stale when its mtime
 * is older than `staleMs`, so a lock whose mtime is in the future (the clock was set back, the
 * directory copied or restored) would never be. A waiter therefore also watches the lock itself:
 * one whose mtime has not moved for `staleMs` of the waiter's monotonic clock is taken over too,
 * since a live holder refreshes it every `staleMs / 2`.
 */
import { mkdir, open, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { Address4, Address6 } from 'ip-address';
import { parseCidr } from '../addr.js';
import { PipefitterError, isPipefitterError, refuse } from '../errors.js';
import { stateRoot } from '../paths.js';
import { removeStaleTemps, tempFileFor } from '../state/atomic.js';
import type { Pool } from './pool.js';
import { addressToCidr, allocate as pick, inPool, poolSize } from './pool.js';

export interface Allocation {
  /** Pool id, e.g. "recipe/network". */
  readonly pool: string;
  /** Owner, unique in the store, e.g. "lab/web/eth1". */
  readonly key: string;
  /** Interface address with prefix, e.g. 192.0.2.100/24. */
  readonly address: string;
  /** ISO time of the allocation. */
  readonly created: string;
}

export interface AllocationRequest {
  readonly poolId: string;
  readonly pool: Pool;
  readonly key: string;
}

export interface IpamStore {
  /** Allocate (or return the existing allocation of) `key` in `poolId`, atomically w.r.t. other processes. */
  allocate(poolId: string, pool: Pool, key: string): Promise<Allocation>;
  /** Several at once under one lock, all or none (a recipe apply allocates all its auto addresses together). */
  allocateMany(reqs: readonly AllocationRequest[]): Promise<Allocation[]>;
  /** allocateMany, also saying which keys got an address now (decided under the lock). */
  allocateReporting(
    reqs: readonly AllocationRequest[],
  ): Promise<{ readonly allocations: Allocation[]; readonly created: string[] }>;
  release(key: string): Promise<Allocation | undefined>;
  releaseWhere(pred: (a: Allocation) => boolean): Promise<Allocation[]>;
  list(): Promise<Allocation[]>;
}

export interface FileStoreOptions {
  /** Give up waiting for the lock after this long. @default 10000 */
  readonly lockTimeoutMs?: number | undefined;
  /** A lock whose heartbeat is older than this belongs to a dead process. @default 5000 (minimum 2000) */
  readonly staleMs?: number | undefined;
}

/** `$PIPEFITTER_STATE_DIR/ipam`, or /var/lib/pipefitter/ipam (src/paths.ts). */
export const defaultIpamDir = (): string => `${stateRoot()}/ipam`;

const FILE = 'allocations.json';
const LOCK = 'allocations.lock';

const errno = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;

/** An unexpected file system error, naming the path; permission problems say how to fix them. */
const fsError = (e: unknown, path: string, doing: string): PipefitterError => {
  if (isPipefitterError(e)) return e;
  const code = errno(e);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return refuse(
      'E_NOT_ROOT',
      path,
      `cannot ${doing} (${code})`,
      'run as root, or set PIPEFITTER_STATE_DIR to a directory you may write',
    );
  return new PipefitterError({
    code: 'E_INTERNAL',
    message: `${path}: cannot ${doing}: ${(e as Error).message}`,
    cause: e,
  });
};

const corrupt = (file: string, why: string): PipefitterError =>
  new PipefitterError({
    code: 'E_STATE_CORRUPT',
    message: `${file}: not a valid IPAM store: ${why}`,
    hint: `pipefitter does not reset it, and changed nothing: repair it, or move it away (mv ${file} ${file}.bad) and run the command again (apply then allocates anew)`,
  });

/** Family and number of an allocation's address (which must carry a prefix), for sorting and checking. */
const addressValue = (address: string): [number, bigint] | undefined => {
  try {
    const c = parseCidr(address, 'address');
    return [c.family, (c.family === 4 ? new Address4(c.address) : new Address6(c.address)).bigInt()];
  } catch {
    return undefined; // reported as a corrupt file by the caller
  }
};

const parseFile = (file: string, text: string): Allocation[] => {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, (e as Error).message);
  }
  const d = data as { version?: unknown; allocations?: unknown };
  if (typeof data !== 'object' || data === null || d.version !== 1 || !Array.isArray(d.allocations))
    throw corrupt(file, 'expected { "version": 1, "allocations": [...] }');
  const keys = new Set<string>();
  const addresses = new Set<string>();
  return (d.allocations as unknown[]).map((x, i) => {
    const a = x as Record<string, unknown>;
    if (
      typeof x !== 'object' ||
      x === null ||
      !['pool', 'key', 'address', 'created'].every((k) => typeof a[k] === 'string')
    )
      throw corrupt(file, `allocations[${i}] needs the strings pool, key, address and created`);
    const al = { pool: a.pool, key: a.key, address: a.address, created: a.created } as Allocation;
    const v = addressValue(al.address);
    if (!v) throw corrupt(file, `allocations[${i}]: "${al.address}" is not an address with prefix`);
    if (keys.has(al.key)) throw corrupt(file, `key "${al.key}" is allocated twice`);
    if (addresses.has(`${v[0]}:${v[1]}`)) throw corrupt(file, `address ${al.address} is allocated twice`);
    keys.add(al.key);
    addresses.add(`${v[0]}:${v[1]}`);
    return al;
  });
};

/** By pool, then family, then numerically by address; each address is parsed once. */
const sorted = (allocations: readonly Allocation[]): Allocation[] =>
  allocations
    .map((a) => ({ a, v: addressValue(a.address) ?? [0, 0n] }))
    .sort(
      (x, y) =>
        (x.a.pool < y.a.pool ? -1 : x.a.pool > y.a.pool ? 1 : 0) ||
        x.v[0] - y.v[0] ||
        (x.v[1] < y.v[1] ? -1 : x.v[1] > y.v[1] ? 1 : 0),
    )
    .map(({ a }) => a);

/** The existing allocation still answers the request: same pool id, in the pool, same prefix. */
const keeps = (had: Allocation | undefined, r: AllocationRequest): boolean =>
  had !== undefined &&
  had.pool === r.poolId &&
  inPool(r.pool, had.address) &&
  had.address === addressToCidr(r.pool, had.address);

const poolFull = (
  current: readonly Allocation[],
  reqs: readonly AllocationRequest[],
  r: AllocationRequest,
) => {
  const size = poolSize(r.pool);
  const free = size - BigInt(current.filter((a) => inPool(r.pool, a.address)).length);
  const keyed = new Map(current.map((a) => [a.key, a]));
  const asked = reqs.filter((q) => q.poolId === r.poolId && !keeps(keyed.get(q.key), q)).length;
  return refuse(
    'E_CONFLICT',
    `IPAM pool ${r.poolId} (${r.pool.text})`,
    `pool full: ${free < 0n ? 0n : free} of ${size} addresses free, ${asked} asked for`,
    'widen the pool, or free addresses with `pipefitter ipam release KEY` or `pipefitter ipam gc`',
  );
};

/** Answer every request from `current`, all or none: the new list (undefined: unchanged) and the answers. */
const assign = (current: readonly Allocation[], reqs: readonly AllocationRequest[], now: string) => {
  const byKey = new Map(current.map((a) => [a.key, a]));
  let changed = false;
  const created: string[] = [];
  const allocations = reqs.map((r) => {
    const had = byKey.get(r.key);
    if (had && keeps(had, r)) return had;
    if (!had) created.push(r.key);
    // a key whose pool changed moves: its old address is free for it (kept when still in the pool)
    const taken = new Set<string>();
    for (const a of byKey.values()) if (a.key !== r.key) taken.add(a.address);
    const address = pick(r.pool, taken, had?.address);
    if (address === undefined) throw poolFull(current, reqs, r);
    const a: Allocation = {
      pool: r.poolId,
      key: r.key,
      address: addressToCidr(r.pool, address),
      created: now,
    };
    byKey.set(r.key, a);
    changed = true;
    return a;
  });
  return { next: changed ? [...byKey.values()] : undefined, result: { allocations, created } };
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The cause of a commit refused because the lock was no longer ours. */
class LockLost extends Error {}

/**
 * The embedded store: one JSON file, safe under concurrent pipefitter processes.
 * @example const a = await openFileStore().allocate('lab/lan', parsePool('192.0.2.0/24', 'pool'), 'lab/web/eth1')
 */
export const openFileStore = (dir = defaultIpamDir(), opts: FileStoreOptions = {}): IpamStore => {
  const file = `${dir}/${FILE}`;
  const lockPath = `${dir}/${LOCK}`;
  const lockLost = (why: Error): PipefitterError =>
    new PipefitterError({
      code: 'E_INTERNAL',
      message: `${lockPath}: lost the IPAM lock (${why.message}); nothing was written`,
      hint: 'run the command again',
      cause: new LockLost(why.message),
    });
  const timeout = opts.lockTimeoutMs ?? 10_000;
  const stale = Math.max(opts.staleMs ?? 5_000, 2_000);
  // Calls from one process queue here instead of polling the lock against each other.
  let queue: Promise<unknown> = Promise.resolve();

  /** The current allocations and the identity of the file they came from (undefined: no file). */
  const load = async (): Promise<{ allocations: Allocation[]; identity: string | undefined }> => {
    // identity first: a write slipping in between then shows as a change at commit time
    const identity = await identityOf();
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return { allocations: [], identity };
      throw fsError(e, file, 'read the IPAM store');
    }
    return { allocations: parseFile(file, text), identity };
  };

  const identityOf = async (): Promise<string | undefined> => {
    try {
      const s = await stat(file, { bigint: true });
      return `${s.ino}:${s.ctimeNs}:${s.mtimeNs}:${s.size}`;
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw fsError(e, file, 'stat the IPAM store');
    }
  };

  /** Which lock directory this is: made anew by another process's takeover, it is another one. */
  const lockMark = async (): Promise<string | undefined> => {
    try {
      const s = await stat(lockPath, { bigint: true });
      return `${s.ino}:${s.birthtimeNs}`;
    } catch {
      return undefined;
    }
  };

  /** The lock directory and its heartbeat (mtime), exactly as the file system keeps them. */
  const heartbeatMark = async (): Promise<string | undefined> => {
    try {
      const s = await stat(lockPath, { bigint: true });
      return `${s.ino}:${s.birthtimeNs}:${s.mtimeNs}`;
    } catch {
      return undefined;
    }
  };

  interface Held {
    readonly release: () => Promise<void>;
    /** Why the lock is no longer ours, or undefined while it is. */
    readonly lost: () => Promise<Error | undefined>;
  }

  const acquire = async (): Promise<Held> => {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw fsError(e, dir, 'create the IPAM state directory');
    }
    let lost: Error | undefined;
    const deadline = performance.now() + timeout; // the monotonic clock: immune to clock steps
    // the lock as last seen (directory and mtime) and since when, by the monotonic clock
    let seen: { readonly mark: string; readonly since: number } | undefined;
    /** True when the lock's heartbeat stopped for `stale` ms of our own time: it was removed. */
    const frozen = async (): Promise<boolean> => {
      const mark = await heartbeatMark();
      const now = performance.now();
      if (mark === undefined || seen?.mark !== mark) {
        seen = mark === undefined ? undefined : { mark, since: now };
        return false;
      }
      if (now - seen.since < stale) return false;
      seen = undefined;
      // still the very lock that stood still (not one a faster waiter made anew)
      if ((await heartbeatMark()) !== mark) return true;
      await rmdir(lockPath).catch((e: unknown) => {
        if (errno(e) !== 'ENOENT') throw fsError(e, lockPath, 'remove a stale IPAM lock');
      });
      return true;
    };
    for (let delay = 1; ; delay = Math.min(delay * 1.5, 20)) {
      try {
        const release = await lockfile.lock(file, {
          realpath: false,
          lockfilePath: lockPath,
          stale,
          onCompromised: (e) => {
            lost = e;
          },
        });
        const mark = await lockMark();
        return {
          release,
          // proper-lockfile notices a lock removed or taken over at its next heartbeat; the lock
          // directory itself tells at once
          lost: async () =>
            lost ??
            ((await lockMark()) === mark
              ? undefined
              : new Error('the lock directory was removed or replaced')),
        };
      } catch (e) {
        if (errno(e) !== 'ELOCKED') throw fsError(e, lockPath, 'take the IPAM lock');
        if (await frozen()) continue;
        const left = deadline - performance.now();
        if (left <= 0)
          throw new PipefitterError({
            code: 'E_INTERNAL',
            message: `${lockPath}: the IPAM lock is still held by another pipefitter after ${timeout / 1000} s`,
            hint: `retry when the other pipefitter is done; a lock left by a killed process is taken over after ${stale / 1000} s`,
          });
        await sleep(Math.min(left, delay / 2 + (Math.random() * delay) / 2));
      }
    }
  };

  /** Replace the file with `allocations`; false (nothing written) when it changed since `identity`. */
  const commit = async (
    allocations: Allocation[],
    identity: string | undefined,
    lost: Held['lost'],
  ): Promise<boolean> => {
    await removeStaleTemps(dir);
    const tmp = tempFileFor(file);
    const body = JSON.stringify({ version: 1, allocations: sorted(allocations) }, null, 2);
    try {
      const h = await open(tmp, 'wx', 0o600);
      try {
        await h.writeFile(`${body}\n`);
        await h.sync();
      } finally {
        await h.close();
      }
      const gone = await lost();
      if (gone) throw lockLost(gone);
      // Belt and braces for proper-lockfile's stale takeover race (two waiters can both win it,
      // moxystudio/node-proper-lockfile#121): a file changed under us is never overwritten.
      if ((await identityOf()) !== identity) {
        await rm(tmp, { force: true });
        return false;
      }
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw fsError(e, file, 'write the IPAM store');
    }
    const d = await open(dir, 'r');
    try {
      await d.sync(); // the rename itself survives a crash
    } finally {
      await d.close();
    }
    return true;
  };

  /** Run `change` on the current allocations under the lock; it returns the new list (or undefined: unchanged). */
  const update = <T>(
    change: (current: Allocation[]) => { next?: Allocation[] | undefined; result: T },
  ): Promise<T> => {
    const run = async (): Promise<T> => {
      const lock = await acquire();
      let result: T;
      try {
        for (let attempt = 1; ; attempt++) {
          const { allocations, identity } = await load();
          const outcome = change(allocations);
          result = outcome.result;
          if (!outcome.next || (await commit(outcome.next, identity, lock.lost))) break;
          if (attempt === 3)
            throw new PipefitterError({
              code: 'E_INTERNAL',
              message: `${file}: changed under the IPAM lock ${lockPath} three times; nothing was written`,
              hint: 'another program writes the file without the lock; run the command again',
            });
        }
      } catch (e) {
        // the first error is the one to report; a lock left behind goes stale and is taken over.
        // A lost lock is not released: the directory there now may be another process's.
        if (!(e instanceof PipefitterError && e.cause instanceof LockLost))
          await lock.release().catch(() => undefined);
        throw e;
      }
      await lock.release().catch((e: unknown) => {
        // ERELEASED: the lock was lost after the commit, which the identity check made safe
        if (errno(e) !== 'ERELEASED') throw fsError(e, lockPath, 'release the IPAM lock');
      });
      return result;
    };
    const p = queue.then(run, run);
    queue = p.catch(() => undefined);
    return p;
  };

  const allocateReporting = async (reqs: readonly AllocationRequest[]) =>
    reqs.length === 0
      ? { allocations: [], created: [] }
      : update((current) => assign(current, reqs, new Date().toISOString()));
  const allocateMany = async (reqs: readonly AllocationRequest[]): Promise<Allocation[]> =>
    (await allocateReporting(reqs)).allocations;

  const releaseWhere = (pred: (a: Allocation) => boolean): Promise<Allocation[]> =>
    update((current) => {
      const gone = current.filter(pred);
      return { next: gone.length ? current.filter((a) => !gone.includes(a)) : undefined, result: gone };
    });

  return {
    allocateMany,
    allocateReporting,
    allocate: async (poolId, pool, key) => (await allocateMany([{ poolId, pool, key }]))[0]!,
    releaseWhere,
    release: async (key) => (await releaseWhere((a) => a.key === key))[0],
    // Readers need no lock: every write is an atomic rename.
    list: async () => sorted((await load()).allocations),
  };
};
