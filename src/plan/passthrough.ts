/** pipework's `route`, `rule` and `tc` forms: one command, run as given inside the target. */
import type { Plan, Step } from '../model/step.js';
import type { ResolvedTarget } from '../model/target.js';

export type PassthroughTool = 'route' | 'rule' | 'tc';

const ADD_TO_DEL: Readonly<Record<string, string>> = { add: 'del', append: 'del' };

/**
 * ip route ARGS | ip rule ARGS | tc ARGS, inside the target. An `add` is undone by the matching
 * `del`; other verbs cannot be undone (a one-step plan never needs to roll back anyway).
 */
export const planPassthrough = (t: ResolvedTarget, tool: PassthroughTool, args: readonly string[]): Plan => {
  const argv = tool === 'tc' ? ['tc', ...args] : ['ip', tool, ...args];
  const verbAt = tool === 'tc' ? 1 : 0;
  const del = ADD_TO_DEL[args[verbAt] ?? ''];
  const undoArgs = del === undefined ? undefined : args.map((a, i) => (i === verbAt ? del : a));
  const step: Step = {
    id: `${tool}:${args.join(' ')}`,
    netns: t.netns,
    argv,
    describes: `${tool === 'tc' ? 'tc' : `ip ${tool}`} ${args.join(' ')} in ${t.label}`,
    undo:
      undoArgs === undefined
        ? 'irreversible'
        : {
            netns: t.netns,
            argv: tool === 'tc' ? ['tc', ...undoArgs] : ['ip', tool, ...undoArgs],
            describes: `undo ${tool} ${args.join(' ')}`,
          },
  };
  return { steps: [step], noops: [], notes: [] };
};
