/**
 * listPodmanNames (targets/podman.ts), the podman source of shell completion: `podman ps` run
 * through the runner in the host namespace with a short timeout; a podman that cannot answer
 * gives no names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunOptions, Runner, RunResult } from '../../../src/exec/runner.js';
import type { Arg } from '../../../src/model/step.js';
import { listPodmanNames } from '../../../src/targets/podman.js';

const answering = (
  res: Partial<RunResult>,
): Runner & { calls: { argv: readonly Arg[]; opts: RunOptions }[] } => {
  const calls: { argv: readonly Arg[]; opts: RunOptions }[] = [];
  return {
    calls,
    spawned: 0,
    run: (argv, opts) => {
      calls.push({ argv, opts });
      return Promise.resolve({
        command: 'podman ps',
        exitCode: 0,
        stdout: '',
        stderr: '',
        failed: false,
        reason: undefined,
        ...res,
      });
    },
  };
};

test('listPodmanNames: `podman ps` names, one a line; a podman that fails gives none', async () => {
  const r = answering({ stdout: 'web\n db \n\n' });
  assert.deepEqual(await listPodmanNames(r), ['web', 'db']);
  assert.deepEqual(r.calls[0]?.argv, ['podman', 'ps', '--format', '{{.Names}}']);
  assert.deepEqual([r.calls[0]?.opts.netns, r.calls[0]?.opts.timeoutMs], [{ kind: 'host' }, 1000]);
  await listPodmanNames(r, { timeoutMs: 200 });
  assert.equal(r.calls[1]?.opts.timeoutMs, 200);

  assert.deepEqual(await listPodmanNames(answering({ stdout: '' })), []);
  for (const reason of ['tool-missing', 'timeout', 'other'] as const)
    assert.deepEqual(
      await listPodmanNames(answering({ failed: true, exitCode: 125, reason, stdout: 'partial\n' })),
      [],
      reason,
    );
});
