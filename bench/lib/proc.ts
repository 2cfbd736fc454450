/**
 * Running commands for the bench: every tool is started the same way (execa, no shell, stdin
 * either a given input or closed), so no tool pays for a launcher the others do not.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/** One process to start: argv, optional stdin text and extra environment. */
export interface Cmd {
  readonly file: string;
  readonly args: readonly string[];
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface CmdResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const show = (c: Cmd): string => [c.file, ...c.args].join(' ');

export const exec = async (c: Cmd): Promise<CmdResult> => {
  const r = await execa(c.file, [...c.args], {
    reject: false,
    env: c.env,
    ...(c.input === undefined ? { stdin: 'ignore' as const } : { input: c.input }),
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
};

/** Like exec, but a non-zero exit is an error naming the command and its stderr. */
export const must = async (c: Cmd): Promise<CmdResult> => {
  const r = await exec(c);
  if (r.exitCode !== 0) {
    const err = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
    throw new Error(`${show(c).slice(0, 200)}: exit ${r.exitCode}\n${err}`);
  }
  return r;
};

export const run = (file: string, ...args: string[]): Promise<CmdResult> => must({ file, args });

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The commands as a /bin/sh script, the way a user runs a loop of calls: `set -e`, one line per
 * command, each command's stdin read from a file written beforehand (no here-doc helpers), its
 * environment as prefix assignments. Every tool, the one-shot ones included, runs as one such
 * script, so each pays the same for the shell and its fork+exec per command.
 */
export const writeScript = async (cmds: readonly Cmd[], dir: string): Promise<string> => {
  await mkdir(dir, { recursive: true });
  const lines = ['set -e'];
  for (const [i, c] of cmds.entries()) {
    const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${quote(v)}`);
    let stdin = ' </dev/null';
    if (c.input !== undefined) {
      const f = join(dir, `in.${i}`);
      await writeFile(f, c.input);
      stdin = ` <${quote(f)}`;
    }
    lines.push([...env, quote(c.file), ...c.args.map(quote)].join(' ') + stdin);
  }
  lines.push(':'); // so no shell runs its last command with exec: the same fork for each line
  const file = join(dir, 'run.sh');
  await writeFile(file, lines.join('\n') + '\n');
  return file;
};

/** Runs the commands (as one script); returns the wall time in ms and the output. */
export const timed = async (cmds: readonly Cmd[], dir: string): Promise<{ ms: number; last: CmdResult }> => {
  const script = await writeScript(cmds, dir);
  const t0 = performance.now();
  const last = await must({ file: '/bin/sh', args: [script] });
  const ms = performance.now() - t0;
  await rm(dir, { recursive: true, force: true });
  return { ms, last };
};

/** Maps with at most `n` promises in flight (set-up and checks only, never timed work). */
export const pool = async <T, R>(
  items: readonly T[],
  n: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
};

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
