import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyStderr, createRunner } from '../../../src/exec/runner.js';
import { HOST } from '../../../src/model/netns.js';

// The runner starts each command as a process of its own: argument arrays arrive intact,
// stdin, stdout, stderr and the exit status come back, and failures are classified once.

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
  assert.equal(r.spawned, 24, 'one process per command');
});

test('runner: commands see the environment as it is when they start', async () => {
  const r = createRunner();
  const echo = () => r.run(['sh', '-c', 'echo "$PF_RUNNER_TEST"'], { netns: HOST });
  process.env.PF_RUNNER_TEST = 'before';
  try {
    assert.equal((await echo()).stdout, 'before\n');
    process.env.PF_RUNNER_TEST = 'after';
    assert.equal((await echo()).stdout, 'after\n');
  } finally {
    delete process.env.PF_RUNNER_TEST;
  }
  assert.equal((await echo()).stdout, '\n');
});

test('runner: a missing program is named the same way, whether or not an environment is given', async () => {
  const r = createRunner();
  for (const env of [undefined, {}]) {
    const direct = await r.run(['pf-no-such-tool', '-x'], { netns: HOST, env });
    assert.deepEqual(
      [direct.reason, direct.missing, direct.exitCode, direct.stderr],
      ['tool-missing', ['pf-no-such-tool'], undefined, 'pf-no-such-tool: command not found'],
    );
  }
});

test('stderr is classified once into a reason', () => {
  assert.equal(classifyStderr('RTNETLINK answers: File exists'), 'exists');
  assert.equal(classifyStderr('Cannot find device "eth9"'), 'not-found');
  assert.equal(classifyStderr('RTNETLINK answers: No such process'), 'not-found');
  assert.equal(classifyStderr('RTNETLINK answers: Operation not permitted'), 'perm');
  assert.equal(classifyStderr('Error: Unknown device type.'), 'unsupported');
  assert.equal(classifyStderr('RTNETLINK answers: Device or resource busy'), 'busy');
  assert.equal(classifyStderr('something else'), 'other');
});
