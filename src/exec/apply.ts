/**
 * The executor: runs a plan's steps one at a time, in the scheduled order — a kernel change
 * in-process over rtnetlink under the netlink backend, every other command (and every command
 * under the ip backend) as a process of its own, so a failure always names exactly the command
 * that failed and everything before it is known to have run. It keeps a journal of what ran,
 * and on any failure (or SIGINT, SIGTERM, SIGHUP: what a terminal, `timeout`, systemd and
 * Docker send) runs the undos of the journal in reverse. This is the only place that undoes
 * anything.
 */
import { changedNetns, refsOf } from './ns-check.js';
import { TargetChanged } from '../netlink/ns-identity.js';
import { PipefitterError } from '../errors.js';
import type { FailureReason, StepFailureInfo } from '../errors.js';
import { netnsKey } from '../model/netns.js';
import type { Command, Plan, Step } from '../model/step.js';
import { schedule } from '../render/schedule.js';
import { hintFor } from './hints.js';
import type { Runner } from './runner.js';
import type { NetlinkBackend } from './backend.js';
import { runNetlinkOp } from './netlink-backend.js';
import { NetlinkError } from '../netlink/errno.js';
import { argvOf, commandText } from '../render/ip.js';
import { commitRecords } from '../state/parents.js';
import { holdSignals, letSignalsIn, stopSignal, takeStop } from './stop.js';
import { interruptedRuns, openJournal, settleJournal } from './journal.js';
import { readBackUndone } from './read-back.js';

export interface ApplyHooks {
  /**
   * Called before each step runs, with its position in the schedule (the order the executor
   * runs steps in, which may differ from the plan's). Throwing stops the apply there: the step
   * does not run, and everything done is rolled back. Tests inject failures with it; it never
   * changes the schedule.
   */
  beforeStep?(step: Step, index: number): void | Promise<void>;
  /** Called after each step is known to have run; `total`: the steps of the schedule (progress bars). */
  afterStep?(step: Step, index: number, total: number): void;
}

export interface ApplyOptions {
  readonly runner: Runner;
  readonly hooks?: ApplyHooks | undefined;
  /** Checks run right before the first mutation (e.g. the target is still the same namespace). */
  readonly guards?: readonly (() => Promise<void>)[] | undefined;
  /** What runs, for the journal (exec/journal.ts), e.g. "pipefitter apply lab.yaml". */
  readonly title?: string | undefined;
  /**
   * After a rollback, read the kernel back to check what the undos said (exec/read-back.ts).
   * Off only for unit tests whose runner is a recording fake with no kernel behind it.
   * @default true
   */
  readonly readBack?: boolean | undefined;
  /**
   * Keep the journal when the apply went through (`pipefitter try`): the changes stay pending,
   * undone by the next changing run if this process dies first. A plan with a step that cannot be
   * undone (a deletion) is refused before its first change. @default false
   */
  readonly keepJournal?: boolean | undefined;
}

export interface ApplyReport {
  readonly applied: readonly Step[];
  /** Best-effort steps that failed, and other things worth telling. */
  readonly notes: readonly string[];
  readonly processes: number;
  readonly durationMs: number;
  /** What the steps that pass their output on (`passOutput`) printed, in the order they ran. */
  readonly output: readonly { readonly step: string; readonly stdout: string }[];
  /** With keepJournal: the journal file kept, listing every step as started. */
  readonly journal?: string | undefined;
}

interface Failure {
  readonly info: StepFailureInfo;
  /** The first line of what the kernel or the program said. */
  readonly message: string;
}

/** Can the netlink backend run it in-process (everything but programs of their own)? */
const inProcess = (runner: Runner, c: Command): NetlinkBackend | undefined =>
  c.op.op === 'exec' ? undefined : runner.netlink;

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

const info = (
  c: Command,
  command: string,
  exitCode: number | undefined,
  stderr: string,
  reason: FailureReason,
  missing?: readonly string[],
): StepFailureInfo => ({
  step: c.describes,
  netns: netnsKey(c.netns),
  command,
  exitCode,
  stderr: stderr.trim(),
  reason,
  missing,
});

/**
 * Run one command: one rtnetlink request, or one process. A failure is reported as `ip` would
 * have reported it (the command as its `ip` form, the kernel's words).
 */
const runCommand = async (
  runner: Runner,
  c: Command & Partial<Pick<Step, 'detached' | 'passOutput'>>,
): Promise<{ readonly stdout?: string | undefined; readonly failure?: Failure | undefined }> => {
  // A namespace re-created or a PID reused since the plan: the command does not run there (nor
  // an undo: it never reaches a namespace other than the one its step changed). The netlink
  // backend checks the descriptor it enters as well; a process gets the namespace as a path.
  const changed = changedNetns(refsOf(c));
  if (changed)
    return {
      failure: {
        info: info(c, commandText(c), undefined, changed.message, 'target-changed'),
        message: changed.message,
      },
    };
  const nl = inProcess(runner, c);
  if (nl) {
    try {
      runNetlinkOp(nl.session, nl.libc, c.netns, c.op);
      return {};
    } catch (e) {
      if (!(e instanceof NetlinkError) && !(e instanceof TargetChanged)) throw e;
      return {
        failure: { info: info(c, commandText(c), undefined, e.message, e.reason), message: e.message },
      };
    }
  }
  const r = await runner.run(argvOf(c), { netns: c.netns, input: c.input, detached: c.detached === true });
  if (!r.failed) return { stdout: c.passOutput ? r.stdout : undefined };
  return {
    failure: {
      info: info(c, r.command, r.exitCode, r.stderr, r.reason ?? 'other', r.missing),
      message: firstLine(r.stderr),
    },
  };
};

/**
 * Fault injection for the reliability tests (issue 13): PIPEFITTER_TEST_FAULT=WHAT:K acts at
 * the K-th step of the schedule (from 0): `fail:K` fails before it (the apply rolls back),
 * `kill:K`, `term:K` and `hup:K` send SIGKILL, SIGTERM or SIGHUP to this process right after it ran. Compiled out
 * of release builds (PIPEFITTER_RELEASE=1 npm run build); never set it otherwise.
 */
const faultHook = (): ((index: number, when: 'before' | 'after') => void) | undefined => {
  if (!FAULTS_COMPILED) return undefined;
  const spec = process.env.PIPEFITTER_TEST_FAULT;
  if (!spec) return undefined;
  const m = /^(fail|kill|term|hup):(\d+)$/.exec(spec);
  if (!m)
    throw new PipefitterError({
      code: 'E_BAD_VALUE',
      message: `PIPEFITTER_TEST_FAULT="${spec}" is not fail:K, kill:K, term:K or hup:K`,
      hint: 'unset it (it is for the reliability tests)',
    });
  const [what, k] = [m[1], Number(m[2])];
  return (index, when) => {
    if (index !== k) return;
    if (what === 'fail' && when === 'before') throw new Error(`injected fault before step ${k}`);
    if (what === 'kill' && when === 'after') process.kill(process.pid, 'SIGKILL');
    if (what === 'term' && when === 'after') process.kill(process.pid, 'SIGTERM');
    if (what === 'hup' && when === 'after') process.kill(process.pid, 'SIGHUP');
  };
};
declare const __PF_FAULTS__: boolean | undefined;
const FAULTS_COMPILED = typeof __PF_FAULTS__ === 'undefined' || __PF_FAULTS__;

/**
 * Apply a plan: all or nothing.
 * @example await applyPlan(plan, { runner: createRunner() })
 */
export const applyPlan = async (plan: Plan, opts: ApplyOptions): Promise<ApplyReport> => {
  const started = performance.now();
  const spawnedBefore = opts.runner.spawned;
  for (const g of opts.guards ?? []) await g();

  if (opts.keepJournal) {
    const gone = plan.steps.find((s) => s.undo === 'irreversible');
    if (gone)
      throw new PipefitterError({
        code: 'E_CONFLICT',
        message: `${gone.describes}: cannot be tried, it cannot be put back by a revert; nothing was changed`,
        hint: 'run the command itself (without try), or leave out what removes or replaces this',
      });
  }
  const done: Step[] = [];
  const notes: string[] = [];
  const output: { step: string; stdout: string }[] = [];
  const releaseSignals = holdSignals();
  // in-process steps never wait: the event loop is let in now and then, to see a signal
  let lastLook = performance.now();
  const interrupted = async (): Promise<boolean> => {
    if (performance.now() - lastLook > 5) {
      await letSignalsIn();
      lastLook = performance.now();
    }
    return stopSignal() !== undefined;
  };
  const stopped = (undone: number): PipefitterError =>
    new PipefitterError({
      code: 'E_INTERRUPTED',
      message: `interrupted (${takeStop() ?? 'SIGINT'})`,
      rolledBack: undone,
    });
  const faults = faultHook();
  // Hooks or not, the same order: tests inject failures into the schedule real runs take.
  const steps = schedule(plan.steps);
  // written before the first change: a run killed half-way is undone by the next (journal.ts)
  const title = opts.title ?? 'pipefitter';
  // a try's journal says so: its recovery is the try's revert
  const journal = steps.length ? openJournal(opts.keepJournal ? `try: ${title}` : title, steps) : undefined;
  const fail = async (original: (undone: number) => PipefitterError): Promise<never> => {
    throw await rollBack(opts.runner, done, original, opts.readBack !== false);
  };
  try {
    for (let index = 0; index < steps.length; index++) {
      const step = steps[index] as Step;
      if (await interrupted()) await fail(stopped);
      try {
        faults?.(index, 'before');
        await opts.hooks?.beforeStep?.(step, index);
      } catch (error) {
        await fail(
          (undone) =>
            new PipefitterError({
              code: 'E_STEP_FAILED',
              message: `stopped before ${step.describes}: ${error instanceof Error ? error.message : typeof error === 'string' ? error : 'a hook refused'}`,
              rolledBack: undone,
              cause: error,
            }),
        );
      }
      journal?.started(index);
      const out = await runCommand(opts.runner, step);
      const f = out.failure;
      if (f && step.bestEffort) {
        // Announcements and the like: a failure is worth a note, not a rollback.
        const fix =
          f.info.reason === 'tool-missing'
            ? ` (${hintFor('tool-missing', f.info.step, f.info.missing) ?? ''})`
            : '';
        notes.push(`${step.describes} did not work (${f.message || f.info.reason}); continuing${fix}`);
      } else if (f) {
        // a step that can fail half-way has its own undo run first
        if (step.undoOnFailure) done.push(step);
        await fail(
          (undone) =>
            new PipefitterError({
              code: 'E_STEP_FAILED',
              message: `${f.info.step} in ${f.info.netns}: ${f.message || 'failed'}`,
              hint: hintFor(f.info.reason, f.info.step, f.info.missing),
              failure: f.info,
              rolledBack: undone,
            }),
        );
      }
      done.push(step);
      opts.hooks?.afterStep?.(step, index, steps.length);
      faults?.(index, 'after');
      if (out.stdout !== undefined) output.push({ step: step.id, stdout: out.stdout });
    }
    await letSignalsIn();
    if (stopSignal() !== undefined) await fail(stopped);
    // the bookkeeping of a plan that went through; if it cannot be written, nothing stays
    try {
      await commitRecords(plan.records ?? []);
    } catch (e) {
      await fail(
        (undone) =>
          new PipefitterError({
            code: 'E_STEP_FAILED',
            message: `cannot record what was done: ${e instanceof Error ? e.message : String(e)}`,
            hint: 'check that the state directory is writable (PIPEFITTER_STATE_DIR, default /var/lib/pipefitter)',
            rolledBack: undone,
            cause: e,
          }),
      );
    }
    if (opts.keepJournal) journal?.keep();
  } finally {
    journal?.close();
    releaseSignals();
    // the command's sockets go with it: an open one would keep a namespace alive (a container's
    // old one after a restart) and, by path, reach whatever namespace is there next time
    opts.runner.netlink?.session.close();
  }
  return {
    applied: done,
    notes,
    processes: opts.runner.spawned - spawnedBefore,
    durationMs: performance.now() - started,
    output,
    ...(opts.keepJournal && journal ? { journal: journal.file } : {}),
  };
};

/**
 * Before a changing run observes (it holds the host lock): undo what runs killed half-way
 * started (their journals, exec/journal.ts), in reverse. A namespace gone since (its container
 * stopped) took its changes with it. A run whose started steps include one that cannot be undone
 * (a deletion) is left as it is: running its command again finishes it. Returns what to tell.
 * @throws PipefitterError E_ROLLBACK_FAILED listing what could not be undone (the journal is kept
 *   as FILE.stuck)
 */
export const recoverInterrupted = async (runner: Runner): Promise<string[]> => {
  const notes: string[] = [];
  for (const r of interruptedRuns()) {
    const who = `an interrupted run (pid ${r.pid}: ${r.title})`;
    if (r.started.some((s) => s.undo === 'irreversible')) {
      notes.push(`${who} had removed things that cannot be put back; run it again to finish it`);
      settleJournal(r, false);
      continue;
    }
    const leftovers: string[] = [];
    const worked: Step[] = [];
    const foundNothing = new Set<Step>();
    for (const s of [...r.started].reverse()) {
      if (s.undo === 'covered' || s.undo === 'irreversible') continue;
      const { failure } = await runCommand(runner, s.undo);
      const gone = failure?.info.reason === 'not-found' || failure?.info.reason === 'target-changed';
      if (failure && !gone)
        leftovers.push(`${s.undo.describes}: ${failure.info.command}: ${failure.message}`);
      else worked.push(s);
      if (failure) foundNothing.add(s);
    }
    const stillThere = await readBackUndone(runner, worked, foundNothing);
    leftovers.push(...stillThere);
    const undone = worked.length - stillThere.length;
    runner.netlink?.session.close();
    settleJournal(r, leftovers.length > 0);
    if (leftovers.length)
      throw new PipefitterError({
        code: 'E_ROLLBACK_FAILED',
        message: `${who} could not be undone completely; nothing else was done`,
        hint: `remove what is listed below by hand; the journal is kept as ${r.file}.stuck`,
        rolledBack: undone,
        leftovers,
      });
    notes.push(
      r.title.startsWith('try: ')
        ? `reverted the pending try (pid ${r.pid}: ${r.title.slice(5)}): ${r.started.length} step${r.started.length === 1 ? '' : 's'} undone`
        : `undid ${who}: ${r.started.length} step${r.started.length === 1 ? '' : 's'} it had started`,
    );
  }
  return notes;
};

/** How a leftover that is a step which cannot be undone (a deletion) starts. */
const IRREVERSIBLE = '(cannot be undone)';

/**
 * Undo `done` in reverse, one undo at a time, going on past a failed one so that one stuck
 * object does not strand the rest. An undo that finds its object already gone counts as done.
 * Then the kernel is read back (`readBack`): what an undo said it removed or put back and is not
 * so is a leftover too.
 * Returns the error to throw: the original one, or E_ROLLBACK_FAILED naming what could not be
 * undone.
 */
export const rollBack = async (
  runner: Runner,
  done: readonly Step[],
  original: (undone: number) => PipefitterError,
  readBack = true,
): Promise<PipefitterError> => {
  const leftovers: string[] = [];
  const worked: Step[] = [];
  const foundNothing = new Set<Step>();
  for (const s of [...done].reverse()) {
    if (s.undo === 'covered') continue;
    if (s.undo === 'irreversible') {
      leftovers.push(`${IRREVERSIBLE} ${s.describes}: ${commandText(s)}`);
      continue;
    }
    const u = s.undo;
    const { failure } = await runCommand(runner, u);
    if (failure && failure.info.reason !== 'not-found')
      leftovers.push(`${u.describes}: ${failure.info.command}: ${failure.message}`);
    else worked.push(s);
    if (failure) foundNothing.add(s);
  }
  // what the undos said is checked against the kernel: a leftover found is listed (exit 3)
  if (readBack) leftovers.push(...(await readBackUndone(runner, worked, foundNothing)));
  const undone = done.length;
  const err = original(undone);
  if (leftovers.length === 0) return err;
  // past a removal and nothing else: it cannot be put back, but the run can be finished
  const onlyRemovals = leftovers.every((l) => l.startsWith(IRREVERSIBLE));
  return new PipefitterError({
    code: 'E_ROLLBACK_FAILED',
    message: `${err.message}; the rollback did not complete`,
    hint: onlyRemovals
      ? 'what is listed below was removed and cannot be put back: run the same command again to finish it'
      : 'remove what is listed below by hand; `pipefitter show` lists what pipefitter made',
    failure: err.failure,
    rolledBack: undone - leftovers.length,
    leftovers,
    cause: err,
  });
};

export { netnsKey };
