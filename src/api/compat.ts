/** pipework's forms, run through the same pipeline as everything else. */
import type { PipeworkCommand } from '../compat/pipework.js';
import { badInput } from '../errors.js';
import { parseTargetSpec, targetSpecText } from '../model/target.js';
import type { PassthroughTool } from '../plan/passthrough.js';
import { planPassthrough } from '../plan/passthrough.js';
import { attachRequests } from './attach.js';
import type { AttachOptions } from './attach.js';
import type { Outcome, RunOptions } from './engine.js';
import { requireRoot, resolveAll, runnerOf, runPipeline } from './engine.js';

/**
 * Run one command inside a target: `ip route …`, `ip rule …` or `tc …`.
 * @example await passthrough('web', 'route', ['add', '198.51.100.0/24', 'via', '192.0.2.254'])
 */
export const passthrough = async (
  target: string,
  tool: PassthroughTool,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<Outcome> => {
  if (args.some((a) => a.includes('\0')))
    throw badInput('E_BAD_VALUE', tool, undefined, 'an argument contains a NUL byte', 'remove it');
  const spec = parseTargetSpec(target, 'guest');
  requireRoot();
  const runner = runnerOf(opts);
  const [t] = await resolveAll([spec], runner, opts.docker);
  const resolved = t!;
  return runPipeline(
    {
      targets: [resolved],
      extraNamespaces: [],
      observe: false,
      plan: () => planPassthrough(resolved, tool, args),
      title: `pipefitter ${tool} ${targetSpecText(spec)}`,
    },
    runner,
    opts,
  );
};

export const runPipework = async (
  cmd: Exclude<PipeworkCommand, { kind: 'wait' }>,
  opts: AttachOptions = {},
): Promise<Outcome> => {
  switch (cmd.kind) {
    case 'attach':
      return attachRequests(
        [cmd.request],
        opts,
        `pipefitter (pipework form) ${targetSpecText(cmd.request.target)}`,
      );
    case 'route':
    case 'rule':
    case 'tc':
      return passthrough(targetSpecText(cmd.target), cmd.kind, cmd.args, opts);
  }
};
