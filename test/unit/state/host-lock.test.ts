/**
 * The host lock (state/host-lock.ts): one holder at a time, across processes and within one;
 * a waiter is told who holds it and gives up after its wait with E_CONFLICT; a holder killed
 * with SIGKILL leaves no stale lock behind (flock: the kernel drops it), whatever the clock says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { hostLockPath, lockHost, withHostLock } from '../../../src/state/host-lock.js';
import { flockByProcess } from '../../../src/exec/runner.js';
import { isPipefitterError } from '../../../src/errors.js';

const ROOT = resolve(import.meta.dirname, '../../..');

const withStateDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-lock-'));
  const before = process.env.PIPEFITTER_STATE_DIR;
  process.env.PIPEFITTER_STATE_DIR = dir;
  try {
    await fn(dir);
  } finally {
    if (before === undefined) delete process.env.PIPEFITTER_STATE_DIR;
    else process.env.PIPEFITTER_STATE_DIR = before;
    rmSync(dir, { recursive: true, force: true });
  }
};

/** Another process holding the lock until it is killed; resolves once it holds it. */
const holder = async (dir: string) => {
  const p = execa(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `const { lockHost } = await import(${JSON.stringify(join(ROOT, 'src/state/host-lock.ts'))});
       await lockHost({ what: 'the test holder' });
       process.stdout.write('held\\n');
       setInterval(() => {}, 1000);`,
    ],
    { cwd: ROOT, env: { PIPEFITTER_STATE_DIR: dir }, reject: false, buffer: false },
  );
  await new Promise<void>((res, rej) => {
    p.stdout?.on('data', (d: Buffer) => String(d).includes('held') && res());
    p.catch(rej);
    void p.then(() => rej(new Error('the holder ended before it held the lock')));
  });
  return { p }; // wrapped: an async function returning the subprocess would wait for its end
};

test('host lock: a waiter is told who holds it, gives up with E_CONFLICT, and gets it once the holder is killed', async () => {
  await withStateDir(async (dir) => {
    const { p } = await holder(dir);
    try {
      // a clock far ahead on the lock file changes nothing: no mtime decides
      utimesSync(hostLockPath(), new Date(Date.now() + 86_400_000), new Date(Date.now() + 86_400_000));
      let told = '';
      const t0 = Date.now();
      const e = await lockHost({ what: 'the test', waitMs: 300, onWait: (h) => (told = h) }).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(isPipefitterError(e) && e.code === 'E_CONFLICT', `E_CONFLICT, got ${String(e)}`);
      assert.match(e.message, /the test holder/);
      assert.match(e.message, /nothing was changed/);
      assert.match(told, new RegExp(`pid ${p.pid}: the test holder`));
      assert.ok(Date.now() - t0 >= 300, 'it waited');
      // killed: the kernel drops the lock at once
      p.kill('SIGKILL');
      await p;
      const t1 = Date.now();
      const lock = await lockHost({ what: 'the test', waitMs: 5000 });
      assert.ok(Date.now() - t1 < 1000, 'taken at once after the holder died');
      lock.release();
    } finally {
      p.kill('SIGKILL');
    }
  });
});

test('host lock: callers in one process queue, one holder at a time, each released on error too', async () => {
  await withStateDir(async () => {
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    const job = (k: number) =>
      withHostLock({ what: `job ${k}` }, async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 20));
        order.push(k);
        inside--;
        if (k === 2) throw new Error('job 2 fails');
        return k;
      });
    const results = await Promise.allSettled([1, 2, 3, 4].map(job));
    assert.equal(most, 1, 'never two holders');
    assert.deepEqual(order, [1, 2, 3, 4], 'in the order asked');
    assert.equal(results[1]?.status, 'rejected');
    assert.deepEqual(
      results
        .filter((r): r is PromiseFulfilledResult<number> => r.status === 'fulfilled')
        .map((r) => r.value),
      [1, 3, 4],
    );
  });
});

test('host lock: flock(1) on a shared descriptor (the fallback without koffi) holds until the descriptor closes', async () => {
  await withStateDir(async (dir) => {
    const file = join(dir, 'host.lock');
    const fd = openSync(file, 'a+');
    assert.equal(await flockByProcess(fd), true, 'taken by the flock process, kept by this one');
    const other = openSync(file, 'a+');
    try {
      assert.equal(await flockByProcess(other), false, 'another open file cannot take it');
      const e = await lockHost({ what: 'the test', waitMs: 100 }).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(isPipefitterError(e) && e.code === 'E_CONFLICT', 'nor can lockHost');
      closeSync(fd);
      assert.equal(await flockByProcess(other), true, 'free once the descriptor is closed');
    } finally {
      closeSync(other);
    }
  });
});
