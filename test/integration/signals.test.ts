/**
 * What stops a run half-way (issue 13, defect 4), on the CLI as users run it: SIGTERM and
 * SIGHUP (what `timeout`, systemd and Docker send) roll back like SIGINT — exit 130, the state
 * as before, read back — and a reader that goes away (`apply … 2>&1 | head -c 0`, `plan | head -c 0`)
 * ends the output, not the apply: it completes, with no stack trace. The signals come from the
 * fault hook (PIPEFITTER_TEST_FAULT), right after a chosen step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { BIN, cli } from '../helpers/cli.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { withSandbox } from '../helpers/sandbox.js';
import { recipeFile } from '../helpers/recipe-file.js';

/** A recipe of `n` containers on a bridge of their own, in a temp dir removed after the test. */
const recipe = async (t: { after: (fn: () => Promise<void>) => void }, sb: Sandbox, n = 3) => {
  const cs = await Promise.all(Array.from({ length: n }, () => sb.container()));
  const file = await recipeFile(
    t,
    `sig${sb.id}`,
    [`  lan: { bridge: ${sb.name('sg')}, subnet: 198.51.100.0/24, gateway: 198.51.100.1 }`],
    cs.map(
      (c, i) =>
        `  c${i}: { target: 'pid:${c.pid}', interfaces: { eth1: { network: lan, address: 198.51.100.${10 + i}, gateway: true } } }`,
    ),
  );
  return { file, spaces: ['sandbox' as const, ...cs.map((c) => ({ pid: c.pid }))] };
};

test('SIGTERM and SIGHUP during an apply roll it back (exit 130); the next apply and destroy work', async (t) => {
  await withSandbox(t, async (sb) => {
    const { file, spaces } = await recipe(t, sb);
    const before = await snapshot(spaces);
    const plan = JSON.parse((await cli(['plan', file, '--json'])).stdout) as { steps: unknown[] };
    const n = plan.steps.length;
    assert.ok(n > 6, `a plan of several steps (${n})`);
    for (const [fault, signal] of [
      [`term:2`, 'SIGTERM'],
      [`hup:${n - 2}`, 'SIGHUP'],
    ] as const) {
      const r = await cli(['apply', file], { PIPEFITTER_TEST_FAULT: fault });
      assert.equal(r.code, 130, `${fault}: exit 130\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`interrupted \\(${signal}\\)`));
      await expectState(spaces, before, `${fault}: everything rolled back`);
    }
    const ok = await cli(['apply', file, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await cli(['destroy', file])).code, 0);
    await expectState(spaces, before, 'destroyed');
  });
});

test('a reader gone away ends the output, not the run: apply 2>&1 | head -c 0 completes; plan | head -c 0 says nothing on stderr', async (t) => {
  await withSandbox(t, async (sb) => {
    // 10 containers: enough steps for progress lines on stderr while the apply runs (every 25)
    const { file, spaces } = await recipe(t, sb, 10);
    const before = await snapshot(spaces);
    // stdout and stderr into a pipe whose reader has gone: every write fails with EPIPE
    const sh = (cmd: string) =>
      execa('bash', ['-c', `${cmd}; echo "exit \${PIPESTATUS[0]}" >&3`], {
        reject: false,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        env: { PF_BIN: BIN, PF_FILE: file },
      });
    const applied = await sh('node "$PF_BIN" apply "$PF_FILE" 2>&1 | head -c 0');
    assert.match(String(applied.stdio[3]), /exit 0/, `apply: ${String(applied.stdio[3])} ${applied.stderr}`);
    const status = await cli(['status', file, '--json']);
    assert.equal((JSON.parse(status.stdout) as { inSync: boolean }).inSync, true, 'the apply completed');
    const planned = await sh('node "$PF_BIN" plan "$PF_FILE" | head -c 0');
    assert.match(String(planned.stdio[3]), /exit 0/, `plan: ${String(planned.stdio[3])} ${planned.stderr}`);
    assert.doesNotMatch(planned.stderr, /at .*\.js:\d+|Error/, `no stack trace: ${planned.stderr}`);
    const destroyed = await sh('node "$PF_BIN" destroy "$PF_FILE" 2>&1 | head -c 0');
    assert.match(String(destroyed.stdio[3]), /exit 0/, `destroy: ${String(destroyed.stdio[3])}`);
    await expectState(spaces, before, 'destroyed');
  });
});
