/** pipework's forms, run through the same pipeline as everything else. */
import type { PipeworkCommand } from '../compat/pipework.js';
import { PipefitterError, badInput, isPipefitterError } from '../errors.js';
import { argumentHint, isArgumentError } from '../exec/hints.js';
import { parseTargetSpec, targetSpecText } from '../model/target.js';
import { enterArgv } from '../render/enter.js';
import { shellJoin } from '../render/quote.js';
import { renderScript } from '../render/script.js';
import { readPassthrough } from '../observe/passthrough.js';
import type { PassthroughTool } from '../plan/passthrough.js';
import { passthroughArgv, planPassthrough } from '../plan/passthrough.js';
import { attachRequests } from './attach.js';
import type { AttachOptions } from './attach.js';
import type { Outcome, RunOptions } from './engine.js';
import { requireRoot, resolveAll, runnerOf, runPipeline } from './engine.js';

export interface PassthroughOptions extends RunOptions {
  /**
   * For a command that only reads, ask ip/tc for JSON (`-j`): `output.json` then holds the parsed
   * objects (when the tool has JSON for that command). @default false
   */
  readonly json?: boolean | undefined;
}

/**
 * The one step of a pass-through change failed because ip or tc refused its arguments: that is
 * bad input (exit 2), and nothing was changed (the step is the plan's only one).
 */
const argumentRefusal = (e: unknown, target: string): PipefitterError | undefined => {
  if (!isPipefitterError(e) || e.code !== 'E_STEP_FAILED' || !e.failure || (e.rolledBack ?? 0) > 0)
    return undefined;
  const f = e.failure;
  if (!isArgumentError(f.stderr, f.exitCode)) return undefined;
  return new PipefitterError({
    code: 'E_BAD_VALUE',
    message: `${f.step} in ${target}: ${f.stderr.split('\n')[0] ?? ''}; nothing was changed`,
    hint: argumentHint(f.step, target),
    failure: f,
  });
};

/**
 * Run one command inside a target: `ip route …`, `ip rule …` or `tc …`. A command that only
 * reads (show/list/get, or no verb) is run as it is and its output returned in `output`; one
 * that changes something goes through the executor (all or nothing, an `add` undone by `del`),
 * its output in `output` too.
 * @example (await passthrough('web', 'route', ['show'])).output?.stdout
 * @example await passthrough('web', 'route', ['add', '198.51.100.0/24', 'via', '192.0.2.254'])
 */
export const passthrough = async (
  target: string,
  tool: PassthroughTool,
  args: readonly string[],
  opts: PassthroughOptions = {},
): Promise<Outcome> => {
  if (args.some((a) => a.includes('\0')))
    throw badInput('E_BAD_VALUE', tool, undefined, 'an argument contains a NUL byte', 'remove it');
  const spec = parseTargetSpec(target, 'guest');
  requireRoot();
  const runner = runnerOf(opts);
  const spawned0 = runner.spawned;
  const [t] = await resolveAll([spec], runner, opts);
  const resolved = t!;
  const title = `pipefitter ${tool} ${targetSpecText(spec)}${args.length ? ` ${shellJoin(args)}` : ''}`;
  const planned = planPassthrough(resolved, tool, args);
  const step = planned.steps[0]!;
  if (step.readOnly) {
    const script = renderScript(planned, { title });
    const base = { plan: planned, script, applied: false, targets: [resolved] };
    if (opts.dryRun) return { ...base, processes: runner.spawned - spawned0 };
    const output = await readPassthrough(runner, step, {
      jsonArgv: opts.json ? passthroughArgv(tool, args, { json: true }) : undefined,
      target: resolved.label,
    });
    return { ...base, output, processes: runner.spawned - spawned0 };
  }
  const o = await runPipeline(
    { targets: [resolved], extraNamespaces: [], observe: false, plan: () => planned, title },
    runner,
    opts,
  ).catch((e: unknown) => {
    throw argumentRefusal(e, resolved.label) ?? e;
  });
  const printed = o.report?.output.find((x) => x.step === step.id);
  if (!printed) return o;
  return {
    ...o,
    output: {
      command: shellJoin(enterArgv(step.netns, passthroughArgv(tool, args))),
      stdout: printed.stdout,
    },
  };
};

/**
 * A parsed pipework command line. `argv`, the words as typed, titles the dry-run script (it is
 * the command that makes the plan).
 */
export const runPipework = async (
  cmd: Exclude<PipeworkCommand, { kind: 'wait' }>,
  opts: AttachOptions & PassthroughOptions = {},
  argv?: readonly string[],
): Promise<Outcome> => {
  switch (cmd.kind) {
    case 'attach':
      return attachRequests(
        [cmd.request],
        opts,
        argv
          ? shellJoin(['pipefitter', ...argv])
          : `pipefitter (pipework form) ${targetSpecText(cmd.request.target)}`,
        [argv ? { form: 'pipework', argv } : undefined],
      );
    case 'route':
    case 'rule':
    case 'tc':
      return passthrough(targetSpecText(cmd.target), cmd.kind, cmd.args, opts);
  }
};
