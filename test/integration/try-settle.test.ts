/**
 * `try --confirm` / `try --revert` to a pending try whose process is there but does not act on
 * the request (stuck): refused (E_CONFLICT, exit 2) naming it, with what to do about it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { settleTry } from '../../src/api/try.js';
import { exitCodeFor } from '../../src/errors.js';
import { claimPendingTry, readPendingTry } from '../../src/state/try.js';
import { rejection } from '../helpers/errors.js';
import { tempStateDir } from '../helpers/state-dir.js';

test('a pending try that does not answer: E_CONFLICT (exit 2) naming it, and the hint says how to end it', async (t) => {
  const dir = await tempStateDir(t, 'settle');
  const saved = process.env.PIPEFITTER_RUN_DIR;
  process.env.PIPEFITTER_RUN_DIR = `${dir}/run`;
  // a live process that is not a try: it never takes the request
  const stuck = execa('sleep', ['60'], { reject: false });
  t.after(async () => {
    if (saved === undefined) delete process.env.PIPEFITTER_RUN_DIR;
    else process.env.PIPEFITTER_RUN_DIR = saved;
    stuck.kill();
    await stuck;
  });
  const pid = stuck.pid!;
  const title = 'pipefitter try attach netns:x --ifname eth1';
  assert.equal(
    await claimPendingTry({ version: 1, pid, title, startedAt: new Date().toISOString() }),
    undefined,
  );

  const confirm = await rejection(settleTry('confirm', { answerMs: 1000 }));
  assert.equal(confirm.code, 'E_CONFLICT');
  assert.equal(exitCodeFor(confirm), 2);
  assert.equal(
    confirm.message,
    `the pending try (pid ${pid}: ${title}): did not answer the --confirm within 1 s`,
  );
  assert.equal(
    confirm.hint,
    `if pid ${pid} is stuck: kill -9 ${pid}, then pipefitter try --confirm again (it keeps a dead try's change)`,
  );
  const revert = await rejection(settleTry('revert', { answerMs: 1000 }));
  assert.equal(revert.code, 'E_CONFLICT');
  assert.match(
    revert.hint ?? '',
    new RegExp(
      `^if pid ${pid} is stuck: kill ${pid} \\(a try reverts on SIGTERM\\), or kill -9 ${pid} and pipefitter try --revert again$`,
    ),
  );
  assert.equal((await readPendingTry())?.pid, pid, 'the pending try is left as it was');
});
