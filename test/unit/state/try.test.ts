/** The pending try's record is claimed atomically: of many claims at once, exactly one wins. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { PendingTry } from '../../../src/state/try.js';
import { claimPendingTry, readPendingTry, removePendingTry } from '../../../src/state/try.js';
import { tempStateDir } from '../../helpers/state-dir.js';

test('claims at the same instant: exactly one gets the record, the others see it, whole', async (t) => {
  const dir = await tempStateDir(t, 'try');
  const saved = process.env.PIPEFITTER_RUN_DIR;
  process.env.PIPEFITTER_RUN_DIR = `${dir}/run`;
  t.after(() => {
    if (saved === undefined) delete process.env.PIPEFITTER_RUN_DIR;
    else process.env.PIPEFITTER_RUN_DIR = saved;
  });
  const rec = (pid: number): PendingTry => ({
    version: 1,
    pid,
    title: `pipefitter try attach pid:${pid}`,
    startedAt: new Date().toISOString(),
  });
  for (let round = 0; round < 20; round++) {
    const claims = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((pid) => claimPendingTry(rec(pid))));
    const won = claims.flatMap((c, i) => (c === undefined ? [i + 1] : []));
    assert.equal(won.length, 1, `round ${round}: one claim wins, not ${won.join(',')}`);
    const winner = await readPendingTry();
    assert.equal(winner?.pid, won[0]);
    for (const c of claims) if (c !== undefined) assert.equal(c.other?.pid, won[0], 'the others name it');
    assert.deepEqual(await readdir(`${dir}/run/try`), ['pending.json'], 'no file of a claim is left');
    await removePendingTry();
  }
});
