/**
 * The executor: runs a plan's steps, one process per run of steps in the same namespace,
 * keeps a journal of what ran, and on any failure (or SIGINT) runs the undos of the journal
 * in reverse. This is the only place that undoes anything.
 */
import { changedNetns, refsOf } from './ns-check.js';
import { TargetChanged } from '../netlink/ns-identity.js';
import { PipefitterError } from '../errors.js';
import type { FailureReason, StepFailureInfo } from '../errors.js';
import { netnsKey } from '../model/netns.js';
import type { Command, Plan, Step } from '../model/step.js';
import {
  batchInput,
  batchable,
  groupCommands,
  parseBatchFailures,
  schedule,
  waves,
} from '../render/batch.js';
import { spellArgs } from '../render/enter.js';
import { hintFor } from './hints.js';
import type { Runner } from './runner.js';
import { classifyStderr } from './runner.js';
import { hostNetnsPath } from '../render/enter.js';
import type { NetlinkBackend } from './backend.js';
import { runNetlinkOp } from './netlink-backend.js';
import { NetlinkError } from '../netlink/errno.js';
import { argvOf, commandText } from '../render/ip.js';
import { commitRecords } from '../state/parents.js';

export interface ApplyHooks {
  /**
   * Called before each step runs, with its position in the schedule (the order the executor
   * runs steps in, which may differ from the plan's). All steps of a wave are offered before
   * the wave starts; throwing stops that step's group there (the wave's other groups still run,
   * as on a real failure) and rolls everything back. Tests inject failures with it; it never
   * changes the schedule.
   */
  beforeStep?(step: Step, index: number): void | Promise<void>;
  /** Called after each step is known to have run. */
  afterStep?(step: Step, index: number): void;
}

export interface ApplyOptions {
  readonly runner: Runner;
  readonly hooks?: ApplyHooks | undefined;
  /** Checks run right before the first mutation (e.g. the target is still the same namespace). */
  readonly guards?: readonly (() => Promise<void>)[] | undefined;
}

export interface ApplyReport {
  readonly applied: readonly Step[];
  /** Best-effort steps that failed, and other things worth telling. */
  readonly notes: readonly string[];
  readonly processes: number;
  readonly durationMs: number;
  /** What the steps that pass their output on (`passOutput`) printed, in the order they ran. */
  readonly output: readonly { readonly step: string; readonly stdout: string }[];
}

/** Groups run side by side at most (2 cores: spawning is the cost, and it overlaps with the children's work). */
const PARALLEL = 4;

interface Outcome {
  readonly ran: number;
  /** Standard output of a step that passes it on (it runs alone). */
  readonly stdout?: string | undefined;
  readonly failure?: { readonly info: StepFailureInfo; readonly message: string } | undefined;
}

/** Can the netlink backend run it in-process (everything but programs of their own)? */
const inProcess = (runner: Runner, c: Command): NetlinkBackend | undefined =>
  c.op.op === 'exec' ? undefined : runner.netlink;

/**
 * Run commands in-process, one rtnetlink request each, in order; stop at the first the kernel
 * refuses, reporting it as `ip` would have (the command as its `ip` form, the kernel's words).
 */
const runInProcess = (nl: NetlinkBackend, group: readonly Command[]): Outcome => {
  for (let i = 0; i < group.length; i++) {
    const c = group[i] as Command;
    try {
      runNetlinkOp(nl.session, nl.libc, c.netns, c.op);
    } catch (e) {
      if (!(e instanceof NetlinkError) && !(e instanceof TargetChanged)) throw e;
      return {
        ran: i,
        failure: { info: info(c, commandText(c), undefined, e.message, e.reason), message: e.message },
      };
    }
  }
  return { ran: group.length };
};

/** Run a group of commands (same namespace) as one process, or in-process; report how many succeeded. */
const runGroup = async (runner: Runner, group: readonly Command[]): Promise<Outcome> => {
  const first = group[0];
  if (!first) return { ran: 0 };
  // A namespace re-created or a PID reused since the plan: what comes before it runs, it does not.
  // (A batch hands `ip` the namespaces as words, so they are checked here, before it starts.)
  const changedAt = group.findIndex((c) => changedNetns(refsOf(c)) !== undefined);
  if (changedAt >= 0) {
    const before = changedAt > 0 ? await runGroup(runner, group.slice(0, changedAt)) : { ran: 0 };
    if (before.failure) return before;
    const c = group[changedAt] as Command;
    const e = changedNetns(refsOf(c));
    const message = e?.message ?? 'its namespace changed';
    return {
      ran: changedAt,
      failure: { info: info(c, commandText(c), undefined, message, 'target-changed'), message },
    };
  }
  const nl = inProcess(runner, first);
  if (nl && group.every((c) => inProcess(runner, c))) return runInProcess(nl, group);
  if (group.length === 1 || !batchable(first)) {
    const detached = (first as Partial<Step>).detached === true;
    const r = await runner.run(argvOf(first), { netns: first.netns, input: first.input, detached });
    if (!r.failed) return { ran: 1, stdout: (first as Partial<Step>).passOutput ? r.stdout : undefined };
    return {
      ran: 0,
      failure: {
        info: info(first, r.command, r.exitCode, r.stderr, r.reason ?? 'other', r.missing),
        message: firstLine(r.stderr),
      },
    };
  }
  const spelled = group.map((c) => spellArgs(argvOf(c), hostNetnsPath()));
  const tool = argvOf(first)[0] as string;
  const r = await runner.run([tool, '-batch', '-'], { netns: first.netns, input: batchInput(spelled) });
  if (!r.failed) return { ran: group.length };
  const f = parseBatchFailures(r.stderr)[0];
  const idx = f?.index ?? 0;
  const failed = group[idx] ?? first;
  const stderr = f?.message ?? r.stderr;
  return {
    ran: idx,
    failure: {
      info: info(
        failed,
        commandText(failed),
        r.exitCode,
        stderr,
        r.reason === 'tool-missing' ? 'tool-missing' : classifyStderr(stderr),
        r.missing,
      ),
      message: firstLine(stderr),
    },
  };
};

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
 * Calls `beforeStep` for every step of a wave, in schedule order, before the wave starts. A hook
 * that throws cuts its group there, as the kernel refusing that line would: the group runs the
 * steps before it, and the wave's other groups run side by side as they always do. So a test's
 * hook never changes which groups run together, nor which commands share a process.
 */
const runHooks = async (
  hooks: ApplyHooks | undefined,
  wave: readonly (readonly Step[])[],
  first: number,
): Promise<{ cuts: number[]; hookErrors: ({ readonly error: unknown } | undefined)[] }> => {
  const cuts = wave.map((g) => g.length);
  const hookErrors: ({ readonly error: unknown } | undefined)[] = wave.map(() => undefined);
  if (!hooks?.beforeStep) return { cuts, hookErrors };
  let at = first;
  for (let g = 0; g < wave.length; g++) {
    const group = wave[g] as readonly Step[];
    for (let i = 0; i < group.length; i++) {
      try {
        await hooks.beforeStep(group[i] as Step, at + i);
      } catch (error) {
        cuts[g] = i;
        hookErrors[g] = { error };
        break;
      }
    }
    at += group.length;
  }
  return { cuts, hookErrors };
};

/**
 * Apply a plan: all or nothing.
 * @example await applyPlan(plan, { runner: createRunner() })
 */
export const applyPlan = async (plan: Plan, opts: ApplyOptions): Promise<ApplyReport> => {
  const started = performance.now();
  const spawnedBefore = opts.runner.spawned;
  for (const g of opts.guards ?? []) await g();

  const done: Step[] = [];
  const notes: string[] = [];
  const output: { step: string; stdout: string }[] = [];
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
    let index = 0;
    // The same waves with hooks or without: tests inject failures into the schedule real runs take.
    for (const wave of waves(schedule(plan.steps), PARALLEL)) {
      const { cuts, hookErrors } = await runHooks(opts.hooks, wave, index);
      const todos = wave.map((group, g) => group.slice(0, cuts[g]));
      const outcomes = await Promise.all(
        todos.map(async (todo): Promise<Outcome> => {
          const out = todo.length ? await runGroup(opts.runner, todo) : { ran: 0 };
          if (out.failure && todo.length === 1 && (todo[0] as Step).bestEffort) {
            // Announcements and the like: a failure is worth a note, not a rollback.
            const fix =
              out.failure.info.reason === 'tool-missing'
                ? ` (${hintFor('tool-missing', out.failure.info.step, out.failure.info.missing) ?? ''})`
                : '';
            notes.push(
              `${(todo[0] as Step).describes} did not work (${out.failure.message || out.failure.info.reason}); continuing${fix}`,
            );
            return { ran: 1 };
          }
          return out;
        }),
      );
      let failed: { readonly out: Outcome; readonly todo: readonly Step[] } | undefined;
      let stopped: { readonly step: Step; readonly error: unknown } | undefined;
      outcomes.forEach((out, g) => {
        const todo = todos[g] as Step[];
        for (let i = 0; i < out.ran; i++) {
          const s = todo[i] as Step;
          done.push(s);
          opts.hooks?.afterStep?.(s, index + i);
        }
        if (out.stdout !== undefined) output.push({ step: (todo[0] as Step).id, stdout: out.stdout });
        index += (wave[g] as Step[]).length;
        if (out.failure && !failed && !stopped) failed = { out, todo };
        const h = hookErrors[g];
        if (h && !out.failure && !failed && !stopped)
          stopped = { step: (wave[g] as Step[])[cuts[g] as number] as Step, error: h.error };
      });
      for (const { out, todo } of outcomes.flatMap((out, g) =>
        out.failure && (todos[g] as Step[])[out.ran]?.undoOnFailure
          ? [{ out, todo: todos[g] as Step[] }]
          : [],
      ))
        done.push(todo[out.ran] as Step);
      if (failed?.out.failure) {
        const f = failed.out.failure;
        throw await rollBack(
          opts.runner,
          done,
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
      if (stopped) {
        const { step, error } = stopped;
        throw await rollBack(
          opts.runner,
          done,
          (undone) =>
            new PipefitterError({
              code: 'E_STEP_FAILED',
              message: `stopped before ${step.describes}: ${error instanceof Error ? error.message : typeof error === 'string' ? error : 'a hook refused'}`,
              rolledBack: undone,
              cause: error,
            }),
        );
      }
      if (interrupted)
        throw await rollBack(
          opts.runner,
          done,
          (undone) =>
            new PipefitterError({ code: 'E_INTERRUPTED', message: 'interrupted', rolledBack: undone }),
        );
    }
    // the bookkeeping of a plan that went through; if it cannot be written, nothing stays
    try {
      await commitRecords(plan.records ?? []);
    } catch (e) {
      throw await rollBack(
        opts.runner,
        done,
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
  } finally {
    process.off('SIGINT', onSigint);
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
  };
};

/**
 * Undo `done` in reverse. Undos that find their object already gone count as done. Returns the
 * error to throw: the original one, or E_ROLLBACK_FAILED naming what could not be undone.
 */
export const rollBack = async (
  runner: Runner,
  done: readonly Step[],
  original: (undone: number) => PipefitterError,
): Promise<PipefitterError> => {
  const leftovers: string[] = [];
  const undos: Command[] = [];
  for (const s of [...done].reverse()) {
    if (s.undo === 'covered') continue;
    if (s.undo === 'irreversible') {
      leftovers.push(`(cannot be undone) ${s.describes}: ${commandText(s)}`);
      continue;
    }
    undos.push(s.undo);
  }
  for (const all of groupCommands(undos)) {
    // an undo never reaches a namespace other than the one its step changed
    const group = all.filter((c) => {
      const e = changedNetns(refsOf(c));
      if (e) leftovers.push(`${c.describes}: ${commandText(c)}: ${e.message}`);
      return e === undefined;
    });
    if (group.length === 0) continue;
    // Rollback goes on past a failed one so that one stuck object does not strand the rest.
    const first = group[0] as Command;
    const nl = inProcess(runner, first);
    if (nl && group.every((c) => inProcess(runner, c))) {
      for (const c of group) {
        const out = runInProcess(nl, [c]);
        if (out.failure && out.failure.info.reason !== 'not-found')
          leftovers.push(`${c.describes}: ${commandText(c)}: ${out.failure.message}`);
      }
      continue;
    }
    if (group.length === 1 || !batchable(first)) {
      for (const c of group) {
        const r = await runner.run(argvOf(c), { netns: c.netns, input: c.input });
        if (r.failed && r.reason !== 'not-found')
          leftovers.push(`${c.describes}: ${r.command}: ${firstLine(r.stderr)}`);
      }
      continue;
    }
    const spelled = group.map((c) => spellArgs(argvOf(c), hostNetnsPath()));
    const r = await runner.run([argvOf(first)[0] as string, '-force', '-batch', '-'], {
      netns: first.netns,
      input: batchInput(spelled),
    });
    if (!r.failed) continue;
    const failures = parseBatchFailures(r.stderr);
    if (failures.length === 0)
      leftovers.push(`${group.map((c) => commandText(c)).join('; ')}: ${firstLine(r.stderr)}`);
    for (const f of failures) {
      if (classifyStderr(f.message) === 'not-found') continue;
      const c = group[f.index];
      if (c) leftovers.push(`${c.describes}: ${commandText(c)}: ${firstLine(f.message)}`);
    }
  }
  const undone = done.length;
  const err = original(undone);
  if (leftovers.length === 0) return err;
  return new PipefitterError({
    code: 'E_ROLLBACK_FAILED',
    message: `${err.message}; the rollback did not complete`,
    hint: 'remove what is listed below by hand; `pipefitter show` lists what pipefitter made',
    failure: err.failure,
    rolledBack: undone - leftovers.length,
    leftovers,
    cause: err,
  });
};

export const describeGroups = (plan: Plan): number => schedule(plan.steps).length;
export { netnsKey };
