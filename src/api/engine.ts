/**
 * The one pipeline every entry point uses: resolve targets, observe each namespace once,
 * plan, then either render the plan (dry run) or re-check the targets and apply it.
 * Everything that can refuse happens before the first mutation.
 */
import { PipefitterError } from '../errors.js';
import type { ApplyHooks, ApplyReport } from '../exec/apply.js';
import { applyPlan } from '../exec/apply.js';
import { renderScript } from '../render/script.js';
import type { Runner } from '../exec/runner.js';
import { createRunner } from '../exec/runner.js';
import type { NetnsRef } from '../model/netns.js';
import type { ObservedState } from '../model/observed.js';
import type { Plan } from '../model/step.js';
import type { ResolvedTarget, TargetSpec } from '../model/target.js';
import type { FirewallSource } from '../observe/snapshot.js';
import { observe } from '../observe/snapshot.js';
import { preflight } from './preflight.js';
import type { Lease } from '../observe/lease.js';
import type { CarrierReport } from '../observe/carrier.js';
import type { CommandOutput } from '../observe/passthrough.js';
import type { DockerEndpoint } from '../targets/docker.js';
import { recheckTarget, resolveTarget } from '../targets/resolve.js';
import { hostNotice, withHostLock } from '../state/host-lock.js';
import { recoverInterrupted } from '../exec/apply.js';
import { commitRecords } from '../state/parents.js';
import { settleAbandonedTry } from '../state/try.js';

/** Options every operation takes. */
export interface RunOptions {
  /** Print the plan as a shell script instead of changing anything. @default false */
  readonly dryRun?: boolean | undefined;
  /** Runs the commands; tests may pass a counting one. @default createRunner() */
  readonly runner?: Runner | undefined;
  /** Executor hooks (tests inject failures with beforeStep). */
  readonly hooks?: ApplyHooks | undefined;
  /** Docker Engine endpoint. @default from DOCKER_HOST, else unix:///var/run/docker.sock */
  readonly docker?: DockerEndpoint | undefined;
  /**
   * Told once when another pipefitter holds the host lock (state/host-lock.ts) and this run
   * waits for it, with what that one is doing.
   */
  readonly onLockWait?: ((holder: string) => void) | undefined;
  /**
   * Accept targets in the machine's initial network namespace (that of PID 1): refused
   * otherwise when pipefitter runs inside another namespace. @default false
   */
  readonly allowHostNamespace?: boolean | undefined;
  /**
   * Keep the apply's journal (`pipefitter try`): the change stays pending until confirmed, and is
   * undone by the next changing run if this process dies first (exec/journal.ts). @default false
   */
  readonly keepJournal?: boolean | undefined;
}

export interface Outcome {
  readonly plan: Plan;
  /** The dry-run script (also set for real runs: what was, or would be, run). */
  readonly script: string;
  readonly applied: boolean;
  readonly report?: ApplyReport | undefined;
  readonly targets: readonly ResolvedTarget[];
  /** Processes spawned in total (observation included). */
  readonly processes: number;
  /** After an attach: carrier of every interface made (see observe/carrier.ts). */
  readonly carrier?: readonly CarrierReport[] | undefined;
  /** What a pass-through command (`pipefitter route web show`) printed. */
  readonly output?: CommandOutput | undefined;
  /** Leases that DHCP clients got during this run. */
  readonly leases?:
    readonly { readonly target: string; readonly ifname: string; readonly lease: Lease }[] | undefined;
}

export const requireRoot = (): void => {
  if (process.geteuid?.() !== 0)
    // no subject: the CLI puts "pipefitter: " before every message already
    throw new PipefitterError({
      code: 'E_NOT_ROOT',
      message: 'must run as root',
      hint: 'run it with sudo (it needs CAP_NET_ADMIN and CAP_SYS_ADMIN to enter namespaces)',
    });
};

export const resolveAll = async (
  specs: readonly TargetSpec[],
  runner: Runner,
  opts: Pick<RunOptions, 'docker' | 'allowHostNamespace'> = {},
): Promise<ResolvedTarget[]> =>
  Promise.all(
    specs.map((s) =>
      resolveTarget(s, { runner, docker: opts.docker, allowHostNamespace: opts.allowHostNamespace }),
    ),
  );

export interface PipelineInput {
  readonly targets: readonly ResolvedTarget[];
  /** Namespaces to observe besides the targets' (the host, usually). */
  readonly extraNamespaces: readonly NetnsRef[];
  /**
   * The plan from what was observed. A promise when it waits on something the caller started
   * (a CNI ADD's IPAM plugin): that wait overlaps taking the host lock and observing.
   */
  readonly plan: (observed: ObservedState) => Plan | Promise<Plan>;
  readonly title: string;
  /** The plan may touch bridges, so the host's br_netfilter/iptables state matters. @default true */
  readonly firewall?: boolean | FirewallSource | undefined;
  /** Observe the namespaces first (a pass-through command needs no observation). @default true */
  readonly observe?: boolean | undefined;
}

export const runPipeline = (input: PipelineInput, runner: Runner, opts: RunOptions): Promise<Outcome> => {
  // a run that changes holds the host lock from before it observes until it is done
  if (!opts.dryRun && input.observe !== false)
    return lockedRun(input.title, runner, opts, () => pipeline(input, runner, opts));
  return pipeline(input, runner, opts);
};

/**
 * Run `fn` holding the host lock (state/host-lock.ts), after undoing what runs killed half-way
 * had started (exec/journal.ts): every changing command goes through here.
 */
export const lockedRun = <T>(
  what: string,
  runner: Runner,
  opts: RunOptions,
  fn: () => Promise<T>,
): Promise<T> =>
  withHostLock({ what, onWait: opts.onLockWait }, async () => {
    for (const note of await recoverInterrupted(runner)) hostNotice(note);
    // a `try` whose process is gone: its kernel changes went with its journal just now; its
    // recipe's state files go back too (state/try.ts)
    for (const note of await settleAbandonedTry()) hostNotice(note);
    return fn();
  });

const pipeline = async (input: PipelineInput, runner: Runner, opts: RunOptions): Promise<Outcome> => {
  const spawned0 = runner.spawned;
  const observed =
    input.observe === false
      ? new Map()
      : await observe(runner, [...input.extraNamespaces, ...input.targets.map((t) => t.netns)], {
          firewall: input.firewall,
        });
  const planned = await input.plan(observed);
  const notes = await preflight(planned, runner, opts.dryRun === true);
  const plan = notes.length ? { ...planned, notes: [...planned.notes, ...notes] } : planned;
  const script = renderScript(plan, { title: input.title });
  // nothing to change in the kernel, but a record to drop: one a run killed before it wrote its
  // records left (a detach of an interface gone since, whose parent is down already)
  if (!opts.dryRun && plan.steps.length === 0 && plan.records?.length) await commitRecords(plan.records);
  if (opts.dryRun || plan.steps.length === 0)
    return { plan, script, applied: false, targets: input.targets, processes: runner.spawned - spawned0 };
  const report = await applyPlan(plan, {
    runner,
    title: input.title,
    hooks: opts.hooks,
    guards: input.targets.map((t) => () => recheckTarget(t)),
    keepJournal: opts.keepJournal,
  });
  return {
    plan,
    script,
    applied: true,
    report,
    targets: input.targets,
    processes: runner.spawned - spawned0,
  };
};

export const runnerOf = (opts: RunOptions): Runner => opts.runner ?? createRunner();
