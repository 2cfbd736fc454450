/**
 * The pending try's record is claimed atomically: of many claims at once, exactly one wins; and it
 * is checked field by field when read, as every state file is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import type { PendingTry } from '../../../src/state/try.js';
import {
  claimPendingTry,
  readPendingTry,
  removePendingTry,
  settleAbandonedTry,
} from '../../../src/state/try.js';
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

test('a pending try that does not check out refuses (E_STATE_CORRUPT, naming the field), never reads as none', async (t) => {
  const dir = await tempStateDir(t, 'try-bad');
  const saved = process.env.PIPEFITTER_RUN_DIR;
  process.env.PIPEFITTER_RUN_DIR = `${dir}/run`;
  t.after(() => {
    if (saved === undefined) delete process.env.PIPEFITTER_RUN_DIR;
    else process.env.PIPEFITTER_RUN_DIR = saved;
  });
  const file = `${dir}/run/try/pending.json`;
  await mkdir(`${dir}/run/try`, { recursive: true });
  // a process that is gone: its try is settled by the next changing run (settleAbandonedTry)
  const whole = {
    version: 1,
    pid: 999_999_999,
    title: 'pipefitter try apply lab.yaml',
    startedAt: '2026-01-01T00:00:00.000Z',
    journal: '/tmp/x.journal',
    recipe: { name: 'lab', ipamKeys: ['lab/web/eth1'] },
    undoRecords: [{ kind: 'parent-user', parent: 'eth0', ifindex: 2, user: 'netns:r1/eth1', op: 'remove' }],
  };
  await writeFile(file, JSON.stringify(whole));
  assert.deepEqual(await readPendingTry(), whole, 'a whole record reads back as written');

  const cases: [string, RegExp][] = [
    ['{"version":1,"pid":', /JSON/],
    [JSON.stringify({ ...whole, pid: 'x' }), /pid must be a positive whole number/],
    [JSON.stringify({ ...whole, recipe: { name: 'lab', ipamKeys: 5 } }), /recipe\.ipamKeys must be a list/],
    [
      JSON.stringify({ ...whole, undoRecords: [{ ...whole.undoRecords[0], op: 'drop' }] }),
      /undoRecords\[0\]\.op must be "add" or "remove"/,
    ],
    [JSON.stringify({ ...whole, title: undefined }), /title must be a non-empty string/],
  ];
  const corrupt = (field: RegExp) => (e: unknown) => {
    const p = e as { code?: string; message?: string; hint?: string };
    assert.equal(p.code, 'E_STATE_CORRUPT', String(e));
    assert.ok(p.message?.startsWith(`${file}: not a valid pending try: `), p.message);
    assert.match(p.message ?? '', field);
    assert.match(p.hint ?? '', /repair it, or move it away \(mv /);
    return true;
  };
  for (const [body, field] of cases) {
    await writeFile(file, body);
    await assert.rejects(readPendingTry(), corrupt(field), body);
    // the next changing run refuses instead of skipping it (its recipe's files would stay as tried)
    await assert.rejects(settleAbandonedTry(), corrupt(field), body);
    // a new try is refused instead of taking over a pending one it cannot read
    await assert.rejects(
      claimPendingTry({ version: 1, pid: 4242, title: 't', startedAt: 'now' }),
      corrupt(field),
      body,
    );
    assert.equal(await readFile(file, 'utf8'), body, 'left as it was');
  }
});
