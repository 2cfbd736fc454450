import { test } from 'node:test';
import { argvOf } from '../../../src/render/ip.js';
import assert from 'node:assert/strict';
import { applyPlan } from '../../../src/exec/apply.js';
import { planAttach } from '../../../src/plan/attach.js';
import { parseAttachInput } from '../../../src/model/input.js';
import type { Plan } from '../../../src/model/step.js';
import { EXIT, exitCodeFor, isPipefitterError } from '../../../src/errors.js';
import type { RunOptions, RunResult, Runner } from '../../../src/exec/runner.js';
import { classifyStderr } from '../../../src/exec/runner.js';
import type { Arg, Command, Step } from '../../../src/model/step.js';
import { RecordingRunner } from '../../helpers/recording-runner.js';
import { schedule } from '../../../src/render/schedule.js';
import { adoptedBridgePlan, netnsTarget, nic, nsState, observed, text } from '../../helpers/plan-fixtures.js';
import { netnsKey } from '../../../src/model/netns.js';

const plan = adoptedBridgePlan;

// Three containers on one bridge: the host side of all of them, then each container in turn,
// with its announcement.
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

/** A command as RecordingRunner records it (a namespace argument as <key>). */
const recorded = (c: Command): string =>
  argvOf(c)
    .map((a) => (typeof a === 'string' ? a : `<${netnsKey(a.netns)}>`))
    .join(' ');

const undoLine = (s: Step): string[] =>
  typeof s.undo === 'string' ? [] : [`${netnsKey(s.undo.netns)}: ${text(argvOf(s.undo))}`];

test('hooks never change the schedule: the same commands in the same order', async () => {
  for (const p of [plan(), fleet()]) {
    const bare = new RecordingRunner();
    const plain = await applyPlan(p, { runner: bare, readBack: false });
    const hooked = new RecordingRunner();
    const seen: number[] = [];
    const withHooks = await applyPlan(p, {
      readBack: false,
      runner: hooked,
      hooks: {
        beforeStep: async (_s, i) => {
          seen.push(i);
          await new Promise((r) => setImmediate(r));
        },
        afterStep: () => undefined,
      },
    });
    assert.deepEqual(hooked.calls, bare.calls, 'same commands, same processes');
    assert.equal(withHooks.processes, plain.processes);
    assert.deepEqual(
      seen,
      p.steps.map((_s, i) => i),
      'every step offered once, in schedule order',
    );
  }
});

test('a hook failure at every position of a many-container schedule rolls back exactly what ran', async () => {
  const p = fleet();
  const order = schedule(p.steps);
  for (let k = 0; k < order.length; k++) {
    const runner = new RecordingRunner();
    const ran: Step[] = [];
    let offered: Step | undefined;
    await assert.rejects(
      applyPlan(p, {
        readBack: false,
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
    assert.equal(offered, order[k], `k=${k}: offered in schedule order`);
    assert.deepEqual(ran, order.slice(0, k), `k=${k}: exactly the steps before it ran, nothing after`);
    const forward = runner.lines.length - ran.flatMap(undoLine).length;
    assert.equal(forward, ran.length, `k=${k}: one line per step that ran`);
    assert.deepEqual(
      runner.lines.slice(forward),
      ran.slice().reverse().flatMap(undoLine),
      `k=${k}: the undos of exactly the steps that ran, in reverse`,
    );
  }
});

test('the ip backend: one process per command, never a batch, so a failure names its command', async () => {
  for (const p of [plan(), fleet()]) {
    const runner = new RecordingRunner();
    const report = await applyPlan(p, { runner, readBack: false });
    assert.equal(report.applied.length, p.steps.length);
    assert.equal(report.processes, p.steps.length);
    assert.deepEqual(
      runner.calls.map((c) => c.argv.join(' ')),
      schedule(p.steps).map(recorded),
    );
    assert.ok(runner.calls.every((c) => !c.argv.includes('-batch') && c.input === undefined));
  }
  // the host side of the three containers first, then each container's own configuration
  const runner = new RecordingRunner();
  await applyPlan(fleet(), { runner, readBack: false });
  const seq = runner.calls.map((c) => c.netns).filter((n, i, a) => n !== a[i - 1]);
  assert.deepEqual(seq, ['host', 'netns:r1', 'netns:r2', 'netns:r3']);
});

test('a failure at every line rolls back exactly the steps that ran, in reverse', async () => {
  const p = plan();
  for (let k = 0; k < p.steps.length; k++) {
    if (p.steps[k]!.bestEffort) continue;
    const runner = new RecordingRunner(k);
    await assert.rejects(
      applyPlan(p, { runner, readBack: false }),
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
        readBack: false,
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
      p.steps.slice(0, k).map(recorded),
    );
    assert.deepEqual(runner.lines.slice(k), undoLines(p.steps.slice(0, k)), `k=${k}: the rollback`);
  }
});

/** RecordingRunner's forward failure at line `failAt`, then a rollback in which `undoFails` fails with `stderr`. */
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
    const line = argv.map((a) => (typeof a === 'string' ? a : `<${netnsKey(a.netns)}>`)).join(' ');
    const ns = netnsKey(opts.netns);
    const result = (stderr: string): Promise<RunResult> =>
      Promise.resolve({
        command: line,
        exitCode: stderr ? 1 : 0,
        stdout: '',
        stderr,
        failed: stderr !== '',
        reason: stderr ? classifyStderr(stderr) : undefined,
      });
    if (!this.rollingBack && this.lines.length === this.failAt) {
      this.rollingBack = true;
      return result('RTNETLINK answers: Operation not permitted\n');
    }
    if (this.rollingBack && line === this.undoFails) {
      this.lines.push(`${ns}: FAILED ${line}`);
      return result(`${this.stderr}\n`);
    }
    this.lines.push(`${ns}: ${line}`);
    return result('');
  }
}

test('an undo that fails: E_ROLLBACK_FAILED, exit 3, the leftover named, every other undo still run', async () => {
  const p = plan();
  const k = p.steps.findIndex((s) => argvOf(s).includes('alias') && s.netns.kind === 'name');
  assert.ok(k > 0);
  const stuck = 'ip addr del 192.0.2.254/24 dev br0';
  const runner = new UndoFailingRunner(k, stuck, 'RTNETLINK answers: Device or resource busy');
  let err: unknown;
  await assert.rejects(applyPlan(p, { runner, readBack: false }), (e: unknown) => {
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
  assert.match(err.hint ?? '', /^remove what is listed below by hand/);
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
    applyPlan(p, { runner, readBack: false }),
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
  const report = await applyPlan(p, {
    runner: new RecordingRunner(k, 'arping: command not found'),
    readBack: false,
  });
  assert.equal(report.applied.length, p.steps.length);
  assert.match(report.notes.join('\n'), /did not work/);
});

test('guards run before anything and can refuse', async () => {
  const runner = new RecordingRunner();
  await assert.rejects(
    applyPlan(plan(), {
      runner,
      readBack: false,
      guards: [() => Promise.reject(new Error('target changed'))],
    }),
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
  await assert.rejects(applyPlan(p, { runner, readBack: false }), (e: unknown) => {
    err = e;
    return true;
  });
  assert.ok(isPipefitterError(err), String(err));
  assert.equal(err.code, 'E_ROLLBACK_FAILED');
  assert.equal(exitCodeFor(err), 3);
  assert.deepEqual(err.leftovers, ['(cannot be undone) delete "x": ip link del dev x']);
  // nothing to remove by hand: the deletion stands, and the run is finished by running it again
  assert.equal(
    err.hint,
    'what is listed below was removed and cannot be put back: run the same command again to finish it',
  );
  assert.equal(err.rolledBack, 0);
  // b failed, so nothing else was undone
  assert.deepEqual(runner.lines, ['host: ip link del dev x']);
});
