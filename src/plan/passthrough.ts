/**
 * pipework's `route`, `rule` and `tc` forms: one command, run as given inside the target.
 *
 * A command either reads (`ip route show`, `ip rule`, `tc -s qdisc`, `ip route get …`): it is
 * run as it is and its output is the result, nothing is planned or undone; or it changes
 * something (`add`, `del`, `flush`, …): a one-step plan through the executor, an `add` undone
 * by the matching `del`. A verb is recognised the way iproute2 does it — the first word after
 * the object, matched as a prefix in iproute2's own order (`ip route s` is `show`, `ip route a`
 * is `add`); no word at all lists. Only list/show/lst and get count as reading; every other
 * verb, and every verb this table does not know, is treated as a change.
 */
import type { Plan, Step } from '../model/step.js';
import type { ResolvedTarget } from '../model/target.js';

export type PassthroughTool = 'route' | 'rule' | 'tc';

const ADD_TO_DEL: Readonly<Record<string, string>> = { add: 'del', append: 'del' };

/** iproute2's matches(): the word is a non-empty prefix of the keyword. */
const matches = (word: string, keyword: string): boolean => word.length > 0 && keyword.startsWith(word);

/**
 * Each object's verbs in the order iproute2 tries them (the first keyword the word is a prefix
 * of wins), and whether that verb only reads. From ip/iproute.c, ip/iprule.c, tc/tc_qdisc.c,
 * tc/tc_class.c, tc/tc_filter.c and tc/m_action.c (iproute2 6.1).
 */
const VERBS: Readonly<Record<string, readonly (readonly [string, boolean])[]>> = {
  route: [
    ['add', false],
    ['change', false],
    ['replace', false],
    ['prepend', false],
    ['append', false],
    ['test', false],
    ['delete', false],
    ['list', true],
    ['show', true],
    ['lst', true],
    ['get', true],
    ['flush', false],
  ],
  rule: [
    ['list', true],
    ['lst', true],
    ['show', true],
    ['save', false],
    ['restore', false],
    ['add', false],
    ['delete', false],
    ['flush', false],
  ],
  qdisc: [
    ['add', false],
    ['change', false],
    ['replace', false],
    ['link', false],
    ['delete', false],
    ['list', true],
    ['show', true],
    ['lst', true],
  ],
  class: [
    ['add', false],
    ['change', false],
    ['replace', false],
    ['delete', false],
    ['list', true],
    ['show', true],
    ['lst', true],
  ],
  filter: [
    ['add', false],
    ['delete', false],
    ['change', false],
    ['replace', false],
    ['list', true],
    ['show', true],
    ['lst', true],
    ['get', true],
  ],
  actions: [
    ['add', false],
    ['change', false],
    ['replace', false],
    ['delete', false],
    ['list', true],
    ['show', true],
    ['lst', true],
    ['flush', false],
    ['get', true],
  ],
};
// tc's objects, in tc's order ("c" is class, "f" filter); chain shares filter's verbs
const TC_OBJECTS = ['qdisc', 'class', 'filter', 'chain', 'actions'] as const;
/** tc options that take a value; -batch runs a file of commands, so it counts as a change. */
const TC_OPTION_VALUE = new Set(['-n', '-netns', '-cf', '-conf']);
const TC_BATCH = new Set(['-b', '-batch']);

/** Where the verb of a tc command line is: after its options and its object. */
const tcObjectAndVerb = (args: readonly string[]): { object?: string; verb?: string; batch: boolean } => {
  let i = 0;
  while (i < args.length && (args[i] ?? '').startsWith('-')) {
    const a = args[i] as string;
    if (TC_BATCH.has(a)) return { batch: true };
    i += TC_OPTION_VALUE.has(a) ? 2 : 1;
  }
  const word = args[i];
  if (word === undefined) return { batch: false };
  const object = TC_OBJECTS.find((o) => matches(word, o));
  return { object: object === 'chain' ? 'filter' : object, verb: args[i + 1], batch: false };
};

/** The verb as iproute2 reads it, and whether it only reads; undefined: not a verb we know. */
const classify = (object: string, word: string | undefined): boolean | undefined => {
  if (word === undefined) return true; // no verb: iproute2 lists
  const hit = (VERBS[object] ?? []).find(([keyword]) => matches(word, keyword));
  return hit?.[1];
};

/**
 * Does this pass-through command only read? Unknown verbs and objects count as changes.
 * @example isReadOnlyPassthrough('route', []) // true: `ip route` lists
 * @example isReadOnlyPassthrough('tc', ['-s', 'qdisc']) // true
 * @example isReadOnlyPassthrough('route', ['flush', 'table', 'main']) // false
 */
export const isReadOnlyPassthrough = (tool: PassthroughTool, args: readonly string[]): boolean => {
  if (tool !== 'tc') return classify(tool, args[0]) === true;
  const { object, verb, batch } = tcObjectAndVerb(args);
  return !batch && object !== undefined && classify(object, verb) === true;
};

/**
 * The argv of the command: `ip route ARGS`, `ip rule ARGS` or `tc ARGS`; with `json`, ip's and
 * tc's own `-j` before the object (a reading command's output as JSON).
 */
export const passthroughArgv = (
  tool: PassthroughTool,
  args: readonly string[],
  opts: { readonly json?: boolean } = {},
): string[] => {
  const j = opts.json ? ['-j'] : [];
  return tool === 'tc' ? ['tc', ...j, ...args] : ['ip', ...j, tool, ...args];
};

// without the target: the executor's failure message and the CLI's "done:" line name it once
const describe = (tool: PassthroughTool, args: readonly string[]): string =>
  `${tool === 'tc' ? 'tc' : `ip ${tool}`}${args.length ? ` ${args.join(' ')}` : ''}`;

/**
 * ip route ARGS | ip rule ARGS | tc ARGS, inside the target. A change is a step whose output is
 * passed on; an `add` is undone by the matching `del`, other verbs cannot be undone (a one-step
 * plan never needs to roll back anyway). A read is a step marked `readOnly`: the dry-run script
 * shows it, and it is run as an observation, not by the executor.
 */
export const planPassthrough = (t: ResolvedTarget, tool: PassthroughTool, args: readonly string[]): Plan => {
  const argv = passthroughArgv(tool, args);
  if (isReadOnlyPassthrough(tool, args)) {
    const read: Step = {
      id: `${tool}:${args.join(' ')}`,
      netns: t.netns,
      op: { op: 'exec', argv },
      describes: describe(tool, args),
      undo: 'irreversible',
      readOnly: true,
    };
    return { steps: [read], noops: [], notes: [] };
  }
  const verbAt = tool === 'tc' ? 1 : 0;
  const del = ADD_TO_DEL[args[verbAt] ?? ''];
  const undoArgs = del === undefined ? undefined : args.map((a, i) => (i === verbAt ? del : a));
  const step: Step = {
    id: `${tool}:${args.join(' ')}`,
    netns: t.netns,
    op: { op: 'exec', argv },
    describes: describe(tool, args),
    passOutput: true,
    undo:
      undoArgs === undefined
        ? 'irreversible'
        : {
            netns: t.netns,
            op: { op: 'exec', argv: passthroughArgv(tool, undoArgs) },
            describes: `undo ${tool} ${args.join(' ')}`,
          },
  };
  return { steps: [step], noops: [], notes: [] };
};
