/** Issue 13 (defect 10): an observation failure says why — permission, gone, tool missing, other. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitCodeFor } from '../../../src/errors.js';
import { observeFailure } from '../../../src/observe/snapshot.js';
import { RecordingRunner } from '../../helpers/recording-runner.js';
import { observeNetns } from '../../../src/observe/snapshot.js';

test('each reason its code, exit status and words; the real reason kept in the message', () => {
  const cases: [Parameters<typeof observeFailure>[1], string, number, RegExp][] = [
    [
      { reason: 'perm', detail: 'open /proc/1/ns/net: EACCES: permission denied' },
      'E_NOT_ROOT',
      2,
      /permission denied \(open \/proc\/1\/ns\/net: EACCES/,
    ],
    [
      { reason: 'not-found', detail: 'No such file or directory' },
      'E_TARGET_STOPPED',
      2,
      /it is gone \(stopped, or its namespace removed\): No such file/,
    ],
    [
      { reason: 'target-changed', detail: 'now names another' },
      'E_TARGET_CHANGED',
      2,
      /another network namespace/,
    ],
    [
      { reason: 'tool-missing', detail: 'ip: not found', missing: ['ip'] },
      'E_TOOL_MISSING',
      2,
      /ip is not installed/,
    ],
    [
      { reason: 'other', detail: 'No buffer space available' },
      'E_STEP_FAILED',
      1,
      /\(other\): No buffer space available; nothing was changed/,
    ],
    [{ reason: 'timeout', detail: 'no answer from the kernel' }, 'E_STEP_FAILED', 1, /\(timeout\)/],
  ];
  for (const [f, code, exit, text] of cases) {
    const e = observeFailure('pid:42', f);
    assert.equal(e.code, code, f.reason);
    assert.equal(exitCodeFor(e), exit, f.reason);
    assert.match(e.message, /^cannot read the state of pid:42/);
    assert.match(e.message, text);
    assert.doesNotMatch(e.message, /target not found/);
    assert.ok(e.hint, f.reason);
  }
});

test('the ip backend: a permission failure reading a namespace is "permission denied", not "not found"', async () => {
  const runner = new RecordingRunner(0, 'setting the network namespace "x" failed: Permission denied');
  await assert.rejects(
    observeNetns(runner, { kind: 'name', name: 'x' }, { firewall: false }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_NOT_ROOT');
      assert.match(
        e.message,
        /^cannot read the state of netns:x: permission denied \(setting the network namespace/,
      );
      return true;
    },
  );
  const gone = new RecordingRunner(0, 'Cannot open network namespace "x": No such file or directory');
  await assert.rejects(observeNetns(gone, { kind: 'name', name: 'x' }, { firewall: false }), {
    code: 'E_TARGET_STOPPED',
  });
});
