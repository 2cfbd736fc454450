/**
 * A run killed half-way (issue 13, defect 3): `kill -9` right after step K of a recipe apply —
 * one that creates namespaces (`create: true`) and links that are tagged only by a later step —
 * and of an attach. The next changing command finds the run's journal, undoes what it had
 * started (saying so), and then does its own work: `destroy` leaves the state as before, `apply`
 * converges (in sync), all read back from the kernel, namespaces and state files included.
 * Positions: a spread over the schedule (PF_CRASH_ALL=1: every step).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from '../helpers/cli.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';
import { recipeFile } from '../helpers/recipe-file.js';

/** Positions to kill at in a schedule of n steps. */
const positions = (n: number): number[] =>
  process.env.PF_CRASH_ALL === '1'
    ? Array.from({ length: n }, (_, k) => k)
    : [...new Set([0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1])].filter((k) => k >= 0 && k < n);

const killedAt = async (args: string[], k: number): Promise<void> => {
  const r = await cli(args, { PIPEFITTER_TEST_FAULT: `kill:${k}` });
  // killed by SIGKILL: no exit code, nothing printed after the step
  assert.equal(r.code, -1, `killed after step ${k}: ${r.code} ${r.stderr}`);
};

test('a recipe apply killed after any step: the next destroy or apply undoes what it started, then does its work', async (t) => {
  await withSandbox(t, async (sb) => {
    const c = await sb.container();
    const [r1, r2] = [sb.nsName('k1'), sb.nsName('k2')];
    const file = await recipeFile(
      t,
      `crash${sb.id}`,
      [`  lan: { bridge: ${sb.name('kb')}, subnet: 198.51.100.0/24, gateway: 198.51.100.1 }`],
      [
        `  r1: { target: 'netns:${r1}', create: true, interfaces: { eth1: { network: lan, address: 198.51.100.11 } } }`,
        `  r2: { target: 'netns:${r2}', create: true, interfaces: { eth1: { network: lan, address: 198.51.100.12 } } }`,
        `  c: { target: 'pid:${c.pid}', interfaces: { eth1: { network: lan, address: 198.51.100.13, gateway: true } } }`,
      ],
    );
    t.after(async () => {
      await cli(['destroy', file]);
    });
    const spaces = ['sandbox' as const, { pid: c.pid }];
    const before = await snapshot(spaces);
    const n = (JSON.parse((await cli(['plan', file, '--json'])).stdout) as { steps: unknown[] }).steps.length;
    assert.ok(n >= 10, `a plan of several steps (${n})`);
    for (const [i, k] of positions(n).entries()) {
      await killedAt(['apply', file], k);
      if (i % 2 === 0) {
        const d = await cli(['destroy', file]);
        assert.equal(d.code, 0, `destroy after a kill at ${k}: ${d.stderr}`);
        assert.match(d.stderr, /undid an interrupted run/, `destroy after a kill at ${k} says it`);
        await expectState(spaces, before, `killed at step ${k}, then destroy: as before`);
      } else {
        const a = await cli(['apply', file, '--json']);
        assert.equal(a.code, 0, `apply after a kill at ${k}: ${a.stderr}`);
        assert.match(a.stderr, /undid an interrupted run/);
        const s = await cli(['status', file, '--json']);
        assert.equal(
          (JSON.parse(s.stdout) as { inSync: boolean }).inSync,
          true,
          `in sync after a kill at ${k}`,
        );
        assert.equal((await cli(['destroy', file])).code, 0);
        await expectState(spaces, before, `killed at step ${k}, apply, destroy: as before`);
      }
    }
  });
});

test('an attach killed after any step: the next attach undoes it and converges; detach leaves the state as before', async (t) => {
  await withSandbox(t, async (sb) => {
    const c = await sb.container();
    const spaces = ['sandbox' as const, { pid: c.pid }];
    const before = await snapshot(spaces);
    const args = [
      'attach',
      `pid:${c.pid}`,
      '--bridge',
      sb.name('ka'),
      '--ip',
      '203.0.113.10/24',
      '--gateway',
      '203.0.113.1',
    ];
    const n = (JSON.parse((await cli([...args, '--dry-run', '--json'])).stdout) as { steps: unknown[] }).steps
      .length;
    for (const k of positions(n)) {
      await killedAt(args, k);
      const a = await cli([...args, '--json']);
      assert.equal(a.code, 0, `attach after a kill at ${k}: ${a.stderr}`);
      assert.match(a.stderr, /undid an interrupted run/);
      assert.equal((await cli(['detach', `pid:${c.pid}`])).code, 0);
      await expectState(spaces, before, `attach killed at step ${k}, attach, detach: as before`);
    }
  });
});
