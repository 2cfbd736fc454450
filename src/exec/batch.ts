/**
 * Consecutive `ip` (or `bridge`) commands for one namespace go to one `ip -batch -` (or
 * `bridge -batch -`) process — never -force going forward: it stops at the first failure and
 * says which line. The batch reader splits lines on blanks and cuts at "#", so a command whose
 * arguments hold such characters runs alone.
 */
import type { Command } from '../model/step.js';
import { netnsKey } from '../model/netns.js';

const BATCH_UNSAFE = /[\s#"'\\]/;

const BATCH_TOOLS = new Set(['ip', 'bridge']);

export const batchable = (c: Command & { bestEffort?: boolean | undefined }): boolean =>
  c.bestEffort !== true &&
  c.input === undefined &&
  typeof c.argv[0] === 'string' &&
  BATCH_TOOLS.has(c.argv[0]) &&
  c.argv.length > 1 &&
  c.argv.every((a) => typeof a !== 'string' || (a !== '' && !BATCH_UNSAFE.test(a)));

/** Split commands into runs that can share one process: same namespace, all batchable. */
export const groupCommands = <T extends Command>(items: readonly T[]): T[][] => {
  const groups: T[][] = [];
  let cur: T[] = [];
  for (const it of items) {
    const prev = cur[cur.length - 1];
    if (
      prev &&
      batchable(prev) &&
      batchable(it) &&
      prev.argv[0] === it.argv[0] &&
      netnsKey(prev.netns) === netnsKey(it.netns)
    ) {
      cur.push(it);
      continue;
    }
    if (cur.length) groups.push(cur);
    cur = [it];
  }
  if (cur.length) groups.push(cur);
  return groups;
};

/** The stdin of `ip -batch -` for already-spelled argvs (each starting with the tool's name). */
export const batchInput = (argvs: readonly (readonly string[])[]): string =>
  argvs.map((a) => a.slice(1).join(' ')).join('\n') + '\n';

export interface BatchFailure {
  /** 0-based index of the failed line. */
  readonly index: number;
  readonly message: string;
}

/** Parse ip's "Command failed -:N" lines; each message is the stderr text printed before it. */
export const parseBatchFailures = (stderr: string): BatchFailure[] => {
  const out: BatchFailure[] = [];
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)\s*$/.exec(line);
    if (m) {
      out.push({ index: Number(m[1]) - 1, message: pending.join('\n').trim() });
      pending = [];
    } else if (line.trim()) pending.push(line);
  }
  return out;
};
