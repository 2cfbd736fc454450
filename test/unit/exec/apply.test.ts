import { test } from 'node:test';
import { argvOf } from '../../../src/render/ip.js';
import assert from 'node:assert/strict';
import { applyPlan } from '../../../src/exec/apply.js';
import { spellArgs } from '../../../src/render/enter.js';
import { planAttach } from '../../../src/plan/attach.js';
import { parseAttachInput } from '../../../src/model/input.js';
import type { Plan } from '../../../src/model/step.js';
import { EXIT, exitCodeFor, isPipefitterError } from '../../../src/errors.js';
import type { RunOptions, RunResult, Runner } from '../../../src/exec/runner.js';
import { classifyStderr } from '../../../src/exec/runner.js';
import type { Arg, Step } from '../../../src/model/step.js';
import { RecordingRunner } from '../../helpers/recording-runner.js';
import { netnsTarget, nic, nsState, observed, route, text } from '../../helpers/plan-fixtures.js';
import { netnsKey } from '../../../src/model/netns.js';

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

// Three containers on one bridge: their configurations run side by side with the announcements
// (waves of several groups), the parallel path every real apply takes.
const fleet = (): Plan => {
  const ts = ['r1', 'r2', 'r3'].map(netnsTarget);
  return planAttach(
    ts.map((target, i) => {
      const req = parseAttachInput({
        target: 'x',
        bridge: 'br0',
        ip: `192.0.2.${10 + i}/24`,
        gateway: '192.0.2.1',
      });
      if (req.link.kind === 'pair') throw new Error();
      return { target, iface: req.iface, link: req.link };
    }),
    observed(
      nsState([nic('br0', { kind: 'bridge' }), nic('vother', { kind: 'veth', master: 'br0' })]),
      ...ts.map((t): [typeof t, ReturnType<typeof nsState>] => [t, nsState()]),
    ),
  );
};

const undoLine = (s: Step): string[] =>
  typeof s.undo === 'string' ? [] : [`${netnsKey(s.undo.netns)}: ${text(argvOf(s.undo))}`];

test('hooks never change the schedule: the same processes, grouped and overlapping the same way', async () => {
  for (const p of [plan(), fleet()]) {
    const bare = new RecordingRunner();
    const plain = await applyPlan(p, { runner: bare });
    const hooked = new RecordingRunner();
    const seen: number[] = [];
    const withHooks = await applyPlan(p, {
      runner: hooked,
      hooks: {
        beforeStep: async (_s, i) => {
          seen.push(i);
          await new Promise((r) => setImmediate(r));
        },
        afterStep: () => undefined,
      },
    });
    assert.deepEqual(hooked.calls, bare.calls, 'same commands, same processes, same overlap');
    assert.equal(withHooks.processes, plain.processes);
    assert.deepEqual(
      seen,
      p.steps.map((_s, i) => i),
      'every step offered once, in schedule order',
    );
  }
  const parallel = new RecordingRunner();
  await applyPlan(fleet(), { runner: parallel, hooks: { beforeStep: () => undefined } });
  assert.ok(
    parallel.calls.some((c) => c.overlapped > 0),
    'with a hook set, groups in different namespaces still run side by side',
  );
});

test('a hook failure at every position of a parallel schedule rolls back exactly what ran', async () => {
  const p = fleet();
  let overlappedFailures = 0;
  for (let k = 0; k < p.steps.length; k++) {
    const runner = new RecordingRunner();
    const ran: Step[] = [];
    let offered: Step | undefined;
    await assert.rejects(
      applyPlan(p, {
        runner,
        hooks: {
          beforeStep: (s, i) => {
            if (i === k) {
              offered = s;
              throw new Error(`injected before step ${k}`);
            }
          },
          afterStep: (s) => void ran.push(s),
        },
      }),
      (e: unknown) =>
        isPipefitterError(e) &&
        e.code === 'E_STEP_FAILED' &&
        e.rolledBack === ran.length &&
        e.message.includes(`stopped before ${offered?.describes ?? '?'}`),
      `k=${k}`,
    );
    assert.ok(offered && !ran.includes(offered), `k=${k}: the step it stopped before did not run`);
    const forward = runner.lines.length - ran.flatMap(undoLine).length;
    assert.equal(forward, ran.length, `k=${k}: one line per step that ran`);
    assert.deepEqual(
      runner.lines.slice(forward),
      ran.slice().reverse().flatMap(undoLine),
      `k=${k}: the undos of exactly the steps that ran, in reverse`,
    );
    // a step of another group of the same wave ran although it comes after k in the schedule
    if (ran.some((s) => p.steps.indexOf(s) > k)) overlappedFailures++;
  }
  assert.ok(overlappedFailures > 0, 'some failures hit a wave whose other groups ran on');
});

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

/** The undo lines of `ran`, in the order a rollback must run them: the exact reverse. */
const undoLines = (ran: readonly Step[]): string[] =>
  ran
    .slice()
    .reverse()
    .flatMap((s) =>
      typeof s.undo === 'string'
        ? []
        : [`${s.undo.netns.kind === 'host' ? 'host' : 'netns:r1'}: ${text(argvOf(s.undo))}`],
    );

test('a hook that throws before step k stops there and rolls back exactly what ran, in reverse (exit 1)', async () => {
  const p = plan();
  for (let k = 0; k < p.steps.length; k++) {
    const runner = new RecordingRunner();
    let err: unknown;
    await assert.rejects(
      applyPlan(p, {
        runner,
        hooks: {
          beforeStep: (_s, i) => {
            if (i === k) throw new Error('injected');
          },
        },
      }),
      (e: unknown) => {
        err = e;
        return isPipefitterError(e) && e.code === 'E_STEP_FAILED' && /injected/.test(e.message);
      },
    );
    assert.ok(isPipefitterError(err));
    assert.equal(err.rolledBack, k, `k=${k}: the steps before k were undone`);
    assert.equal(exitCodeFor(err), EXIT.failed);
    assert.deepEqual(
      runner.lines.slice(0, k).map((l) => l.split(': ')[1]),
      p.steps.slice(0, k).map((s) => spellArgs(argvOf(s), 'host').join(' ')),
    );
    assert.deepEqual(runner.lines.slice(k), undoLines(p.steps.slice(0, k)), `k=${k}: the rollback`);
  }
});

/**
 * RecordingRunner's forward failure at line `failAt`, then a rollback in which the undo line
 * `undoFails` fails with `stderr` — alone or inside `ip -force -batch -`, which goes on past it.
 */
class UndoFailingRunner implements Runner {
  readonly lines: string[] = [];
  spawned = 0;
  private rollingBack = false;

  constructor(
    private readonly failAt: number,
    private readonly undoFails: string,
    private readonly stderr: string,
  ) {}

  run(argv: readonly Arg[], opts: RunOptions): Promise<RunResult> {
    this.spawned++;
    const flat = argv.map((a) => (typeof a === 'string' ? a : `<${netnsKey(a.netns)}>`));
    const batch = flat.includes('-batch');
    const lines = batch
      ? (opts.input ?? '')
          .trim()
          .split('\n')
          .map((l) => `ip ${l}`)
      : [flat.join(' ')];
    const ns = netnsKey(opts.netns);
    const result = (stderr: string): Promise<RunResult> =>
      Promise.resolve({
        command: flat.join(' '),
        exitCode: stderr ? 1 : 0,
        stdout: '',
        stderr,
        failed: stderr !== '',
        reason: stderr ? classifyStderr(stderr) : undefined,
      });
    let stderr = '';
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!this.rollingBack && this.lines.length === this.failAt) {
        this.rollingBack = true;
        return result(
          `RTNETLINK answers: Operation not permitted\n${batch ? `Command failed -:${i + 1}\n` : ''}`,
        );
      }
      if (this.rollingBack && line === this.undoFails) {
        this.lines.push(`${ns}: FAILED ${line}`);
        stderr += `${this.stderr}\n${batch ? `Command failed -:${i + 1}\n` : ''}`;
        if (!batch || !flat.includes('-force')) return result(stderr);
        continue;
      }
      this.lines.push(`${ns}: ${line}`);
    }
    return result(stderr);
  }
}

test('an undo that fails: E_ROLLBACK_FAILED, exit 3, the leftover named, every other undo still run', async () => {
  const p = plan();
  const k = p.steps.findIndex((s) => argvOf(s).includes('alias') && s.netns.kind === 'name');
  assert.ok(k > 0);
  const stuck = 'ip addr del 192.0.2.254/24 dev br0';
  const runner = new UndoFailingRunner(k, stuck, 'RTNETLINK answers: Device or resource busy');
  let err: unknown;
  await assert.rejects(applyPlan(p, { runner }), (e: unknown) => {
    err = e;
    return true;
  });
  assert.ok(isPipefitterError(err), String(err));
  assert.equal(err.code, 'E_ROLLBACK_FAILED');
  assert.equal(exitCodeFor(err), EXIT.rollbackFailed);
  assert.equal(EXIT.rollbackFailed, 3);
  assert.deepEqual(err.leftovers, [
    `remove 192.0.2.254/24 from "br0": ip addr del 192.0.2.254/24 dev br0: RTNETLINK answers: Device or resource busy`,
  ]);
  assert.equal(err.rolledBack, k - 1, 'all but the stuck one');
  // the original failure is kept, and the rollback went on past the stuck undo
  assert.match(err.message, /Operation not permitted; the rollback did not complete$/);
  assert.equal(err.failure?.reason, 'perm');
  assert.deepEqual(
    runner.lines.slice(k),
    undoLines(p.steps.slice(0, k)).map((l) => (l === `host: ${stuck}` ? `host: FAILED ${stuck}` : l)),
  );
});

test('an undo that finds its object already gone counts as done: exit 1, not 3', async () => {
  const p = plan();
  const k = p.steps.findIndex((s) => argvOf(s).includes('alias') && s.netns.kind === 'name');
  const runner = new UndoFailingRunner(
    k,
    'ip addr del 192.0.2.254/24 dev br0',
    'RTNETLINK answers: Cannot assign requested address',
  );
  await assert.rejects(
    applyPlan(p, { runner }),
    (e: unknown) =>
      isPipefitterError(e) &&
      e.code === 'E_STEP_FAILED' &&
      exitCodeFor(e) === EXIT.failed &&
      e.rolledBack === k,
  );
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
  let err: unknown;
  await assert.rejects(applyPlan(p, { runner }), (e: unknown) => {
    err = e;
    return true;
  });
  assert.ok(isPipefitterError(err), String(err));
  assert.equal(err.code, 'E_ROLLBACK_FAILED');
  assert.equal(exitCodeFor(err), 3);
  assert.deepEqual(err.leftovers, ['(cannot be undone) delete "x": ip link del dev x']);
  assert.equal(err.rolledBack, 0);
  // b failed, so nothing else was undone
  assert.deepEqual(runner.lines, ['host: ip link del dev x']);
});
