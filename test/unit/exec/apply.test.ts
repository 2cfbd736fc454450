import { test } from 'node:test';
import { argvOf } from '../../../src/render/ip.js';
import assert from 'node:assert/strict';
import { applyPlan } from '../../../src/exec/apply.js';
import { spellArgs } from '../../../src/render/enter.js';
import { planAttach } from '../../../src/plan/attach.js';
import { parseAttachInput } from '../../../src/model/input.js';
import type { Plan } from '../../../src/model/step.js';
import { isPipefitterError } from '../../../src/errors.js';
import { RecordingRunner } from '../../helpers/recording-runner.js';
import { netnsTarget, nic, nsState, observed, route, text } from '../../helpers/plan-fixtures.js';

const r1 = netnsTarget('r1');
// A plan with real undos (an adopted bridge that is down, a replaced default route) and covered ones.
// The bridge has another port: a neighbour there may hold 192.0.2.10, so the address is announced.
const plan = (): Plan => {
  const req = parseAttachInput({
    target: 'x',
    bridge: 'br0',
    ip: '192.0.2.10/24',
    gateway: '192.0.2.1',
    bridgeIp: '192.0.2.254/24',
  });
  if (req.link.kind === 'pair') throw new Error();
  return planAttach(
    [{ target: r1, iface: req.iface, link: req.link }],
    observed(
      nsState([nic('br0', { kind: 'bridge', up: false }), nic('vother', { kind: 'veth', master: 'br0' })]),
      [r1, nsState([nic('eth0')], [route({ dst: 'default', gateway: '172.17.0.1', dev: 'eth0' })])],
    ),
  );
};

test('batches: one process per run of ip steps in the same namespace', async () => {
  const p = plan();
  const runner = new RecordingRunner();
  const report = await applyPlan(p, { runner });
  assert.equal(report.applied.length, p.steps.length);
  // host batch, container batch, the announcement alone
  assert.deepEqual(
    runner.calls.map((c) => [c.netns, c.argv.slice(0, 3).join(' ')]),
    [
      ['host', 'ip -batch -'],
      ['netns:r1', 'ip -batch -'],
      ['netns:r1', 'arping -q -U'],
    ],
  );
  assert.equal(report.processes, 3);
});

test('a failure at every line rolls back exactly the steps that ran, in reverse', async () => {
  const p = plan();
  for (let k = 0; k < p.steps.length; k++) {
    if (p.steps[k]!.bestEffort) continue;
    const runner = new RecordingRunner(k);
    await assert.rejects(
      applyPlan(p, { runner }),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_STEP_FAILED' && e.rolledBack === k,
    );
    const ran = p.steps.slice(0, k);
    const expectedUndos = ran
      .slice()
      .reverse()
      .flatMap((s) =>
        typeof s.undo === 'string'
          ? []
          : [`${s.undo.netns.kind === 'host' ? 'host' : 'netns:r1'}: ${text(argvOf(s.undo))}`],
      );
    // runner.lines = the k forward lines, then the undo lines
    assert.deepEqual(runner.lines.slice(k), expectedUndos, `k=${k}`);
  }
});

test('a hook that throws before step k stops there and rolls back', async () => {
  const p = plan();
  for (let k = 0; k < p.steps.length; k++) {
    const runner = new RecordingRunner();
    await assert.rejects(
      applyPlan(p, {
        runner,
        hooks: {
          beforeStep: (_s, i) => {
            if (i === k) throw new Error('injected');
          },
        },
      }),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_STEP_FAILED' && /injected/.test(e.message),
    );
    assert.deepEqual(
      runner.lines.slice(0, k).map((l) => l.split(': ')[1]),
      p.steps.slice(0, k).map((s) => spellArgs(argvOf(s), 'host').join(' ')),
    );
  }
});

test('a failed best-effort step (the announcement) is a note, not a rollback', async () => {
  const p = plan();
  const k = p.steps.findIndex((s) => s.bestEffort);
  const report = await applyPlan(p, { runner: new RecordingRunner(k, 'arping: command not found') });
  assert.equal(report.applied.length, p.steps.length);
  assert.match(report.notes.join('\n'), /did not work/);
});

test('guards run before anything and can refuse', async () => {
  const runner = new RecordingRunner();
  await assert.rejects(
    applyPlan(plan(), { runner, guards: [() => Promise.reject(new Error('target changed'))] }),
    /target changed/,
  );
  assert.equal(runner.calls.length, 0);
});

test('an irreversible step that ran makes a failed rollback exit 3 with the leftovers named', async () => {
  const p: Plan = {
    steps: [
      {
        id: 'a',
        netns: { kind: 'host' },
        op: { op: 'exec', argv: ['ip', 'link', 'del', 'dev', 'x'] },
        describes: 'delete "x"',
        undo: 'irreversible',
      },
      {
        id: 'b',
        netns: { kind: 'host' },
        op: { op: 'exec', argv: ['ip', 'link', 'add', 'y', 'type', 'bridge'] },
        describes: 'create bridge "y"',
        undo: {
          netns: { kind: 'host' },
          op: { op: 'exec', argv: ['ip', 'link', 'del', 'dev', 'y'] },
          describes: 'delete "y"',
        },
      },
    ],
    noops: [],
    notes: [],
  };
  const runner = new RecordingRunner(1);
  await assert.rejects(
    applyPlan(p, { runner }),
    (e: unknown) =>
      isPipefitterError(e) &&
      e.code === 'E_ROLLBACK_FAILED' &&
      (e.leftovers ?? []).some((l) => l.includes('ip link del dev x')),
  );
});
