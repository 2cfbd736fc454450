import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createRunner } from '../../../src/exec/runner.js';
import { HOST } from '../../../src/model/netns.js';

// The runner starts commands through libexec/pipefitter-spawn: argument arrays arrive intact,
// stdin, stdout, stderr and the exit status come back, and failures are classified as before.

test('runner: arguments travel as an array, never as shell text', async () => {
  const r = createRunner();
  const odd = ['a b', '$(touch /nonexistent)', "it's", 'new\nline', '*', ''];
  const out = await r.run(['printf', '%s|', ...odd], { netns: HOST });
  assert.equal(out.failed, false);
  assert.equal(out.stdout, odd.map((x) => `${x}|`).join(''));
  assert.equal(out.exitCode, 0);
});

test('runner: stdin, stderr, exit status and failure reasons', async () => {
  const r = createRunner();
  const cat = await r.run(['cat'], { netns: HOST, input: 'line 1\nline 2\n' });
  assert.equal(cat.stdout, 'line 1\nline 2\n');
  const again = await r.run(['cat'], { netns: HOST, input: 'line 1\nline 2\n' });
  assert.equal(again.stdout, 'line 1\nline 2\n');
  const fail = await r.run(['sh', '-c', 'echo "RTNETLINK answers: File exists" >&2; exit 2'], {
    netns: HOST,
  });
  assert.deepEqual([fail.failed, fail.exitCode, fail.reason], [true, 2, 'exists']);
  assert.match(fail.stderr, /File exists/);
  const missing = await r.run(['pipefitter-no-such-tool'], { netns: HOST });
  assert.deepEqual(
    [missing.failed, missing.reason, missing.missing],
    [true, 'tool-missing', ['pipefitter-no-such-tool']],
  );
  assert.match(missing.stderr, /pipefitter-no-such-tool: command not found/);
  // a script that runs a program that is not there: that program, not sh, is missing
  const inner = await r.run(['sh', '-c', 'pf-no-such-tool -x'], { netns: HOST });
  assert.deepEqual([inner.reason, inner.missing, inner.exitCode], ['tool-missing', ['pf-no-such-tool'], 127]);
  const slow = await createRunner({ timeoutMs: 300 }).run(['sleep', '5'], { netns: HOST });
  assert.deepEqual([slow.failed, slow.reason], [true, 'timeout']);
});

test('runner: many commands side by side keep their outputs apart', async () => {
  const r = createRunner();
  const outs = await Promise.all(
    Array.from({ length: 24 }, (_, i) =>
      r.run(['sh', '-c', `echo out${i}; echo err${i} >&2`], { netns: HOST }),
    ),
  );
  outs.forEach((o, i) => {
    assert.equal(o.stdout, `out${i}\n`);
    assert.equal(o.stderr, `err${i}\n`);
  });
  // every command counts, and so does each helper started for them
  assert.ok(r.spawned >= 24 && r.spawned <= 24 + 4, `spawned ${r.spawned}`);
  // the helper's files go as soon as they are read
  const dirs = (await readdir('/dev/shm')).filter((d) => d.startsWith(`pipefitter-spawn-${process.pid}-`));
  for (const d of dirs)
    assert.deepEqual(
      (await readdir(`/dev/shm/${d}`)).filter((f) => !f.startsWith('in')),
      [],
    );
});

test('runner: commands see the environment as it is when they start', async () => {
  const r = createRunner();
  const echo = () => r.run(['sh', '-c', 'echo "$PF_RUNNER_TEST"'], { netns: HOST });
  process.env.PF_RUNNER_TEST = 'before';
  try {
    // enough commands that the helpers are in use, not only direct starts
    for (const o of await Promise.all(Array.from({ length: 12 }, echo))) assert.equal(o.stdout, 'before\n');
    process.env.PF_RUNNER_TEST = 'after';
    for (const o of await Promise.all(Array.from({ length: 6 }, echo))) assert.equal(o.stdout, 'after\n');
  } finally {
    delete process.env.PF_RUNNER_TEST;
  }
  assert.equal((await echo()).stdout, '\n');
});

test('runner: a missing program is named the same way through the command starter', async () => {
  const r = createRunner();
  // the first commands of a process start directly; these make the rest go through the helpers
  for (let i = 0; i < 9; i++) await r.run(['true'], { netns: HOST });
  const viaHelper = await r.run(['pf-no-such-tool', '-x'], { netns: HOST });
  // the helper's bash reports 127 (a direct start has no exit code: ENOENT)
  assert.deepEqual(
    [viaHelper.reason, viaHelper.missing, viaHelper.exitCode, viaHelper.stderr],
    ['tool-missing', ['pf-no-such-tool'], 127, 'pf-no-such-tool: command not found'],
  );
  const direct = await r.run(['pf-no-such-tool', '-x'], { netns: HOST, env: {} });
  assert.deepEqual(
    [direct.reason, direct.missing, direct.exitCode, direct.stderr],
    ['tool-missing', ['pf-no-such-tool'], undefined, 'pf-no-such-tool: command not found'],
  );
});
