/**
 * The Docker harness's own self-test (test/fixtures/docker-harness.selftest.ts): a daemon of
 * its own comes up, runs real containers, and its stop() leaves nothing. The run's daemon lives
 * in the sandbox, so this one gets a namespace of its own: the self-test runs there, as a test
 * file of its own, and must pass. (The run's daemon is checked the same way after the last test,
 * by test/fixtures/docker-daemon.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { dockerSkipReason } from '../helpers/docker.js';
import { withSandbox } from '../helpers/sandbox.js';

const skip = await dockerSkipReason();

test(
  'docker harness: a daemon of its own, in a namespace of its own, leaves nothing after stop()',
  { skip },
  (t) =>
    withSandbox(t, async (sb) => {
      const ns = await sb.netns('dh');
      const env: Record<string, string | undefined> = { ...process.env, PF_SANDBOX: ns };
      delete env.PF_DOCKER_DIR;
      delete env.NODE_TEST_CONTEXT; // set by the runner for its children: the child runs its own file
      const r = await execa(
        'nsenter',
        [
          `--net=/run/netns/${ns}`,
          '--',
          'node',
          '--import',
          'tsx',
          '--import',
          './test/setup.ts',
          '--test',
          '--test-reporter=tap',
          'test/fixtures/docker-harness.selftest.ts',
        ],
        { env, extendEnv: false, reject: false, all: true, timeout: 240_000 },
      );
      for (const line of String(r.all)
        .split('\n')
        .filter((l) => l.startsWith('# docker harness')))
        t.diagnostic(line.slice(2));
      assert.equal(r.exitCode, 0, String(r.all));
      assert.match(String(r.all), /^# pass 1$/m, 'the self-test ran and passed');
    }),
);
