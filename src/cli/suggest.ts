/**
 * "Did you mean …?" for a mistyped subcommand. pipework's forms start with a host interface
 * name (`br1`, `eth3`), so a word that is not a subcommand is normally handed to the pipework
 * parser; a word is taken for a typo of a subcommand only when all of these hold:
 *   - it is close to exactly one subcommand: an edit distance (with transpositions) of 1, or 2
 *     when the word has 5 or more characters and no digit (interface names like `wlan0` end in
 *     one, subcommands have none); or a prefix of 3 or more characters of one;
 *   - the command line does not parse as a pipework form (so `pipefitter show1 web 192.0.2.10/24`,
 *     a bridge named `show1`, still attaches).
 * Pure: no I/O.
 */
import { PipefitterError } from '../errors.js';
import { parsePipework } from '../compat/pipework.js';

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export const editDistance = (a: string, b: string): number => {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = v;
    }
  return (d[a.length] as number[])[b.length] as number;
};

/** The one subcommand `word` is a near miss of, if there is exactly one best. */
export const closestCommand = (word: string, commands: Iterable<string>): string | undefined => {
  const w = word.toLowerCase();
  const max = w.length >= 5 && !/\d/.test(w) ? 2 : 1;
  let best: string[] = [];
  let bestD = Infinity;
  for (const c of commands) {
    if (c === w) return c;
    const d = w.length >= 3 && c.startsWith(w) ? 1 : editDistance(w, c);
    if (d > max) continue;
    if (d < bestD) [best, bestD] = [[c], d];
    else if (d === bestD) best.push(c);
  }
  return best.length === 1 ? best[0] : undefined;
};

const parsesAsPipework = (rest: readonly string[]): boolean => {
  try {
    parsePipework(rest);
    return true;
  } catch {
    return false;
  }
};

/**
 * The refusal for a mistyped subcommand, or undefined when the line is left to the pipework
 * parser. `first` is the first word that is not one of our own flags; `rest` the line without them.
 */
export const unknownCommand = (
  first: string,
  rest: readonly string[],
  commands: ReadonlySet<string>,
): PipefitterError | undefined => {
  if (first.startsWith('-') || commands.has(first)) return undefined;
  const near = closestCommand(first, commands);
  if (near === undefined || parsesAsPipework(rest)) return undefined;
  return new PipefitterError({
    code: 'E_USAGE',
    field: 'command',
    value: first,
    message: `unknown command "${first}": did you mean "${near}"?`,
    hint: `run pipefitter ${near} --help, or pipefitter --help for every command`,
  });
};
