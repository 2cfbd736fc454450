/**
 * The file IPAM store on a real file system: allocate, release, list, atomic batches, a corrupt
 * file, stale and held locks, and the race — ten separate node processes allocating from one pool
 * at the same instant. Needs no root and no network namespace: a unit test (npm run test:unit).
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import lockfile from 'proper-lockfile';
import { parseCidr } from '../../../src/addr.js';
import { inPool, parsePool } from '../../../src/ipam/pool.js';
import type { Allocation } from '../../../src/ipam/store.js';
import { openFileStore } from '../../../src/ipam/store.js';
import { rejection } from '../../helpers/errors.js';

const repo = path.resolve(import.meta.dirname, '../../..');
const fixture = path.join(repo, 'test/fixtures/ipam-race.ts');
const subnet = parseCidr('192.0.2.0/24', 'subnet');

const tempDir = async (t: TestContext): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${process.env.PF_RUN_ID ?? 'x'}-ipam-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

const fileOf = async (dir: string) =>
  JSON.parse(await readFile(`${dir}/allocations.json`, 'utf8')) as {
    version: number;
    allocations: Allocation[];
  };

test('allocate, re-allocate (idempotent), release, list; the file format', async (t) => {
  const dir = path.join(await tempDir(t), 'state/ipam');
  const store = openFileStore(dir);
  const pool = parsePool('192.0.2.100-192.0.2.199', 'pool', subnet);
  assert.deepEqual(await store.list(), [], 'no file yet: empty');

  const a = await store.allocate('lab/lan', pool, 'lab/web/eth1');
  assert.deepEqual([a.pool, a.key, a.address], ['lab/lan', 'lab/web/eth1', '192.0.2.100/24']);
  assert.ok(!Number.isNaN(Date.parse(a.created)));
  assert.deepEqual(await store.allocate('lab/lan', pool, 'lab/web/eth1'), a, 'same key: same allocation');
  const b = await store.allocate('lab/lan', pool, 'lab/db/eth1');
  assert.equal(b.address, '192.0.2.101/24');

  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await stat(`${dir}/allocations.json`)).mode & 0o777, 0o600);
  const text = await readFile(`${dir}/allocations.json`, 'utf8');
  assert.deepEqual(JSON.parse(text), { version: 1, allocations: [a, b] });
  assert.ok(text.startsWith('{\n  "version": 1,\n  "allocations": [\n'), 'pretty JSON');
  assert.deepEqual(await readdir(dir), ['allocations.json'], 'no temporary file or lock left');

  assert.deepEqual(await store.release('lab/web/eth1'), a);
  assert.equal(await store.release('lab/web/eth1'), undefined, 'twice is fine');
  assert.deepEqual(await store.list(), [b]);
  const c = await store.allocate('lab/lan', pool, 'lab/cache/eth1');
  assert.equal(c.address, '192.0.2.100/24', 'a released address is free again');
  assert.deepEqual(
    (await store.releaseWhere((x) => x.key.startsWith('lab/'))).map((x) => x.key),
    ['lab/cache/eth1', 'lab/db/eth1'],
  );
  assert.deepEqual((await fileOf(dir)).allocations, []);
});

test('a key whose pool changed moves into the new pool; addresses are unique across pools', async (t) => {
  const store = openFileStore(await tempDir(t));
  const old = parsePool('192.0.2.0/29', 'pool');
  const a = await store.allocate('lab/lan', old, 'lab/web/eth1');
  assert.equal(a.address, '192.0.2.1/29');
  const wider = parsePool('192.0.2.0/24', 'pool');
  const moved = await store.allocate('lab/lan', wider, 'lab/web/eth1');
  assert.equal(moved.address, '192.0.2.1/24', 'keeps its address, now with the new prefix');
  const other = await store.allocate('other/lan', wider, 'other/x/eth1');
  assert.equal(other.address, '192.0.2.2/24', 'an address of another pool is taken');
  assert.equal((await store.list()).length, 2);
});

test('allocateMany: all or nothing; a full pool says how many are free', async (t) => {
  const dir = await tempDir(t);
  const store = openFileStore(dir);
  const pool = parsePool('192.0.2.10-192.0.2.12', 'pool', subnet);
  await store.allocate('p', pool, 'k0');
  const before = await readFile(`${dir}/allocations.json`, 'utf8');
  const reqs = ['k1', 'k2', 'k3'].map((key) => ({ poolId: 'p', pool, key }));
  const e = await rejection(store.allocateMany(reqs));
  assert.equal(e.code, 'E_CONFLICT');
  assert.match(
    e.message,
    /^IPAM pool p \(192\.0\.2\.10-192\.0\.2\.12\): pool full: 2 of 3 addresses free, 3 asked for$/,
  );
  assert.match(e.hint ?? '', /pipefitter ipam release/);
  assert.equal(await readFile(`${dir}/allocations.json`, 'utf8'), before, 'nothing written');

  const got = await store.allocateMany(reqs.slice(0, 2).reverse());
  assert.deepEqual(
    got.map((a) => [a.key, a.address]),
    [
      ['k2', '192.0.2.11/24'],
      ['k1', '192.0.2.12/24'],
    ],
    'in request order',
  );
  assert.deepEqual(await store.allocateMany([]), []);
});

test('PIPEFITTER_STATE_DIR moves the default store to $PIPEFITTER_STATE_DIR/ipam', async (t) => {
  const root = await tempDir(t);
  const saved = process.env.PIPEFITTER_STATE_DIR;
  process.env.PIPEFITTER_STATE_DIR = root;
  t.after(() => {
    if (saved === undefined) delete process.env.PIPEFITTER_STATE_DIR;
    else process.env.PIPEFITTER_STATE_DIR = saved;
  });
  await openFileStore().allocate('p', parsePool('192.0.2.0/30', 'pool'), 'k');
  assert.equal((await fileOf(`${root}/ipam`)).allocations[0]?.address, '192.0.2.1/30');
});

test('a corrupt file is an error naming it, and is left as it is', async (t) => {
  const dir = await tempDir(t);
  const store = openFileStore(dir);
  const pool = parsePool('192.0.2.0/30', 'pool');
  const file = `${dir}/allocations.json`;
  const dup = { pool: 'p', key: 'a', address: '192.0.2.1/30', created: '2024-01-01T00:00:00.000Z' };
  for (const [body, why] of [
    ['{"version": 1, "allocations": [', 'not a valid IPAM store: '],
    ['{"version": 2, "allocations": []}', 'expected { "version": 1'],
    [
      JSON.stringify({ version: 1, allocations: [{ ...dup, address: '192.0.2.1' }] }),
      'is not an address with prefix',
    ],
    [
      JSON.stringify({ version: 1, allocations: [dup, { ...dup, key: 'b' }] }),
      'address 192.0.2.1/30 is allocated twice',
    ],
  ]) {
    await writeFile(file, body!);
    for (const op of [() => store.allocate('p', pool, 'k'), () => store.list(), () => store.release('a')]) {
      const e = await rejection(op());
      assert.equal(e.code, 'E_STATE_CORRUPT', 'exit 2: bad state, nothing changed');
      assert.ok(e.message.startsWith(`${file}: `) && e.message.includes(why!), e.message);
      assert.match(e.hint ?? '', /does not reset it/);
    }
    assert.equal(await readFile(file, 'utf8'), body, 'never reset');
  }
});

test('a stale lock (its owner died) is taken over; a live one times out naming the lock', async (t) => {
  const dir = await tempDir(t);
  const pool = parsePool('192.0.2.0/30', 'pool');
  const lockPath = `${dir}/allocations.lock`;
  await mkdir(lockPath);
  const old = new Date(Date.now() - 60_000);
  await utimes(lockPath, old, old);
  // taken over at the first try: with a lock timeout of 1 ms, any wait for it would fail
  assert.equal(
    (await openFileStore(dir, { lockTimeoutMs: 1 }).allocate('p', pool, 'k')).address,
    '192.0.2.1/30',
    'no waiting for a dead owner',
  );

  const release = await lockfile.lock(`${dir}/allocations.json`, { realpath: false, lockfilePath: lockPath });
  t.after(() => release().catch(() => undefined));
  const e = await rejection(openFileStore(dir, { lockTimeoutMs: 300 }).allocate('p', pool, 'k2'));
  assert.equal(e.code, 'E_INTERNAL');
  assert.equal(e.message, `${lockPath}: the IPAM lock is still held by another pipefitter after 0.3 s`);
  assert.deepEqual(
    (await openFileStore(dir).list()).map((a) => a.key),
    ['k'],
    'reading needs no lock',
  );
});

test('a lock whose mtime is in the future (clock set back) is taken over once its heartbeat stood still', async (t) => {
  const dir = await tempDir(t);
  const lockPath = `${dir}/allocations.lock`;
  await mkdir(lockPath);
  const future = new Date(Date.now() + 3_600_000);
  await utimes(lockPath, future, future);
  const started = performance.now();
  // before, every command waited for its lock timeout and failed, forever
  const a = await openFileStore(dir, { staleMs: 2000, lockTimeoutMs: 10_000 }).allocate(
    'p',
    parsePool('192.0.2.0/30', 'pool'),
    'k',
  );
  const took = performance.now() - started;
  assert.equal(a.address, '192.0.2.1/30');
  assert.ok(took >= 1900 && took < 6000, `took ${took.toFixed(0)} ms; the staleness is 2000 ms`);
  assert.ok((await stat(lockPath).catch(() => undefined)) === undefined, 'the lock was released');
  // the next command finds no lock at all and does not wait
  const t2 = performance.now();
  await openFileStore(dir, { staleMs: 2000, lockTimeoutMs: 10_000 }).list();
  assert.ok(performance.now() - t2 < 1000);
});

test("a live holder's lock is never taken over, even with its mtime in the future", async (t) => {
  const dir = await tempDir(t);
  const lockPath = `${dir}/allocations.lock`;
  // a holder whose clock is an hour ahead of ours: it writes its heartbeat an hour in our future
  const HOUR = 3_600_000;
  const ahead = {
    ...fs,
    utimes: (p: string, a: Date, m: Date, cb: (e: Error | null) => void) =>
      fs.utimes(p, new Date(a.getTime() + HOUR), new Date(m.getTime() + HOUR), cb),
    stat: (p: string, cb: (e: Error | null, s?: fs.Stats) => void) =>
      fs.stat(p, (e, st) => {
        if (st) st.mtime = new Date(st.mtime.getTime() - HOUR);
        cb(e, st);
      }),
  };
  const release = await lockfile.lock(`${dir}/allocations.json`, {
    realpath: false,
    lockfilePath: lockPath,
    stale: 2000,
    fs: ahead,
  });
  t.after(() => release().catch(() => undefined));
  assert.ok((await stat(lockPath)).mtimeMs > Date.now() + HOUR / 2, 'its mtime is in the future');
  // its heartbeat (every 1 s) moves the mtime: the waiter keeps waiting, and times out
  const e = await rejection(
    openFileStore(dir, { staleMs: 2000, lockTimeoutMs: 4500 }).allocate(
      'p',
      parsePool('192.0.2.0/30', 'pool'),
      'k',
    ),
  );
  assert.match(e.message, /still held by another pipefitter after 4.5 s/);
});

test('a pipefitter killed while holding the lock (SIGKILL) stalls others only until the lock is stale', async (t) => {
  const dir = await tempDir(t);
  const lockPath = `${dir}/allocations.lock`;
  // a process that takes the lock the way the store does, says so, and then hangs
  const holder = execa(
    process.execPath,
    [
      '-e',
      `require('proper-lockfile').lock(process.argv[1], { realpath: false, lockfilePath: process.argv[2], stale: 2000 })
         .then(() => { console.log('locked'); setInterval(() => {}, 1000); });`,
      `${dir}/allocations.json`,
      lockPath,
    ],
    { cwd: repo, reject: false, buffer: false, stderr: 'inherit' },
  );
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    void holder.then((r) => reject(new Error(`the lock holder exited early (exit code ${r.exitCode})`)));
  });
  holder.kill('SIGKILL');
  await holder;
  const lock = await stat(lockPath);
  assert.ok(lock.isDirectory(), 'the dead holder left its lock');
  const started = performance.now();
  // the lock timeout (20 s) is far beyond its staleness (2 s): the allocation succeeds only
  // because the lock was taken over once stale, not because its holder let go
  const a = await openFileStore(dir, { staleMs: 2000, lockTimeoutMs: 20_000 }).allocate(
    'p',
    parsePool('192.0.2.0/30', 'pool'),
    'k',
  );
  const waited = performance.now() - started;
  assert.equal(a.address, '192.0.2.1/30');
  // never before it was stale: the allocation is 2 s (the staleness) or more after the dead
  // holder's last heartbeat (the lock's mtime, which proper-lockfile may round up by up to 1 s),
  // or the lock was seen standing still for 2 s
  assert.ok(
    Date.parse(a.created) - lock.mtimeMs >= 2000 || waited >= 2000,
    `allocated at ${a.created} after waiting ${waited.toFixed(0)} ms, lock last kept fresh at ${new Date(lock.mtimeMs).toISOString()}`,
  );
  t.diagnostic(`took over a killed holder's lock after ${waited.toFixed(0)} ms (stale after 2000 ms)`);
});

test('the file changed under the lock (a writer without it): read again and retried; three times, nothing written', async (t) => {
  const dir = await tempDir(t);
  const file = `${dir}/allocations.json`;
  const store = openFileStore(dir);
  const pool = parsePool('192.0.2.0/29', 'pool');
  await store.allocate('p', pool, 'a');
  await store.allocate('p', pool, 'b');
  /** Another program's write, made between the store's read and its commit (atomically, by rename). */
  const foreignWrite = (allocations: Allocation[]) => {
    writeFileSync(`${file}.foreign`, JSON.stringify({ version: 1, allocations }, null, 2));
    renameSync(`${file}.foreign`, file);
  };
  const c: Allocation = { pool: 'p', key: 'c', address: '192.0.2.5/29', created: '2024-01-01T00:00:00.000Z' };
  const [a, b] = await store.list();
  let writes = 0;
  const released = await store.releaseWhere((x) => {
    if (writes === 0 && x.key === 'a') {
      writes++;
      foreignWrite([a!, b!, c]);
    }
    return x.key === 'a';
  });
  assert.deepEqual(
    released.map((x) => x.key),
    ['a'],
  );
  assert.deepEqual(
    (await fileOf(dir)).allocations.map((x) => x.key),
    ['b', 'c'],
    "read again: the other program's allocation c is kept, a is released",
  );

  // a file that changes every time: given up after three reads, the last foreign write stays
  let n = 0;
  const e = await rejection(
    store.releaseWhere((x) => {
      if (x.key === 'b') foreignWrite([b!, { ...c, created: `2024-01-0${++n}T00:00:00.000Z` }]);
      return x.key === 'b';
    }),
  );
  assert.equal(e.code, 'E_INTERNAL');
  assert.equal(
    e.message,
    `${file}: changed under the IPAM lock ${dir}/allocations.lock three times; nothing was written`,
  );
  assert.equal(n, 3);
  assert.deepEqual(
    (await fileOf(dir)).allocations.map((x) => [x.key, x.created]),
    [
      ['b', b!.created],
      ['c', '2024-01-03T00:00:00.000Z'],
    ],
    'never overwritten',
  );
  assert.deepEqual(await readdir(dir), ['allocations.json'], 'no temporary file or lock left');
});

test('a lock lost under the store (removed, or taken over by another) aborts the write; the other holder keeps its lock', async (t) => {
  const dir = await tempDir(t);
  const file = `${dir}/allocations.json`;
  const lockPath = `${dir}/allocations.lock`;
  const store = openFileStore(dir);
  await store.allocate('p', parsePool('192.0.2.0/29', 'pool'), 'a');
  const before = await readFile(file, 'utf8');
  for (const how of ['removed', 'taken over'] as const) {
    let done = false;
    const e = await rejection(
      store.releaseWhere((x) => {
        if (!done) {
          done = true;
          rmSync(lockPath, { recursive: true });
          if (how === 'taken over') mkdirSync(lockPath);
        }
        return x.key === 'a';
      }),
    );
    assert.equal(e.code, 'E_INTERNAL', how);
    assert.equal(
      e.message,
      `${lockPath}: lost the IPAM lock (the lock directory was removed or replaced); nothing was written`,
      how,
    );
    assert.equal(await readFile(file, 'utf8'), before, `${how}: nothing written`);
    if (how === 'taken over') {
      assert.ok((await stat(lockPath)).isDirectory(), "the other holder's lock is left alone");
      rmdirSync(lockPath); // the other holder lets go
    }
    assert.deepEqual(await readdir(dir), ['allocations.json'], `${how}: no temporary file left`);
  }
  assert.equal((await store.release('a'))?.key, 'a', 'the store works on');
});

interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
  addresses: string[];
  ms: number[];
  startedAt?: number;
  doneAt?: number;
}

/** Start `n` node processes, release them at one instant, and collect what each got. */
const race = async (t: TestContext, n: number, mode: 'each' | 'many', poolText: string, count: number) => {
  const base = await tempDir(t);
  const dir = `${base}/ipam`;
  const barrier = `${base}/barrier`;
  await mkdir(barrier);
  const procs = Array.from({ length: n }, (_, i) =>
    execa(
      process.execPath,
      ['--import', 'tsx', fixture, dir, barrier, String(i), mode, poolText, poolText, String(count)],
      {
        cwd: repo,
      },
    ),
  );
  const deadline = Date.now() + 30_000;
  while ((await readdir(barrier)).length < n) {
    if (Date.now() > deadline) throw new Error('contenders did not get ready');
    await new Promise((r) => setTimeout(r, 5));
  }
  const goAt = performance.timeOrigin + performance.now();
  await writeFile(`${barrier}/go`, '');
  const outcomes = (await Promise.all(procs)).map((p) => JSON.parse(p.stdout) as Outcome);
  const file = await fileOf(dir);
  return { outcomes, file, goAt };
};

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${at(1).toFixed(1)} ms`;
};

test('the race: 10 processes × 5 allocations at one instant get 50 distinct addresses', async (t) => {
  const poolText = '192.0.2.64/26'; // 62 hosts
  const pool = parsePool(poolText, 'pool');
  const { outcomes, file, goAt } = await race(t, 10, 'each', poolText, 5);
  assert.deepEqual(
    outcomes.filter((o) => !o.ok),
    [],
  );
  const got = outcomes.flatMap((o) => o.addresses);
  assert.equal(got.length, 50);
  assert.equal(new Set(got).size, 50, 'no address twice');
  assert.ok(
    got.every((a) => inPool(pool, a)),
    'all in the pool',
  );
  assert.deepEqual(
    file.allocations.map((a) => a.address).sort(),
    [...got].sort(),
    'the file lists exactly those',
  );
  assert.equal(new Set(file.allocations.map((a) => a.key)).size, 50);

  const perCall = outcomes.flatMap((o) => o.ms);
  const total = Math.max(...outcomes.map((o) => o.doneAt!)) - goAt;
  t.diagnostic(`10 processes x 5 allocate() calls: per call ${stats(perCall)}`);
  t.diagnostic(
    `all 50 done ${total.toFixed(1)} ms after the start signal: ${(total / 50).toFixed(2)} ms per allocation`,
  );
});

test('the race on a pool too small, in batches: whole batches win, losers get "pool full"', async (t) => {
  // a /27 has 30 hosts; 10 processes ask for 5 each, all or nothing, so exactly 6 win
  const poolText = '192.0.2.32/27';
  const pool = parsePool(poolText, 'pool');
  const { outcomes, file, goAt } = await race(t, 10, 'many', poolText, 5);
  const won = outcomes.filter((o) => o.ok);
  const lost = outcomes.filter((o) => !o.ok);
  assert.deepEqual([won.length, lost.length], [6, 4]);
  for (const o of lost) {
    assert.equal(o.code, 'E_CONFLICT');
    assert.match(
      o.message ?? '',
      /^IPAM pool race \(192\.0\.2\.32\/27\): pool full: 0 of 30 addresses free, 5 asked for$/,
    );
    assert.deepEqual(o.addresses, [], 'a loser got nothing');
  }
  const got = won.flatMap((o) => o.addresses);
  assert.equal(new Set(got).size, 30, 'every address once');
  assert.ok(got.every((a) => inPool(pool, a)));
  assert.deepEqual(file.allocations.map((a) => a.address).sort(), [...got].sort());
  const total = Math.max(...won.map((o) => o.doneAt!)) - goAt;
  t.diagnostic(
    `10 processes x allocateMany(5) on 30 addresses: per batch ${stats(outcomes.flatMap((o) => o.ms))}, winners done after ${total.toFixed(1)} ms`,
  );
});

test('the race on a pool too small, one by one: exactly 30 of 50 succeed, none twice', async (t) => {
  const poolText = '192.0.2.32/27';
  const pool = parsePool(poolText, 'pool');
  const { outcomes, file } = await race(t, 10, 'each', poolText, 5);
  const got = outcomes.flatMap((o) => o.addresses);
  assert.equal(got.length, 30);
  assert.equal(new Set(got).size, 30);
  assert.ok(got.every((a) => inPool(pool, a)));
  assert.deepEqual(file.allocations.map((a) => a.address).sort(), [...got].sort());
  for (const o of outcomes.filter((x) => !x.ok)) {
    assert.equal(o.code, 'E_CONFLICT');
    assert.match(o.message ?? '', /pool full: 0 of 30 addresses free, 1 asked for$/);
  }
  assert.ok(outcomes.some((o) => !o.ok));
});
