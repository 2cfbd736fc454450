/**
 * Untimed side runs: processes spawned (strace -f of every command, distinct PIDs that called
 * execve) and peak resident memory (/usr/bin/time -f %M).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cmd, CmdResult } from './proc.js';
import { must, writeScript } from './proc.js';

const EXECVE = /^(\d+)\s+(?:execve\(|<\.\.\. execve resumed>).*= 0$/;

/** Distinct PIDs with a successful execve in one strace -f output file. */
export const execPids = (trace: string): Set<number> => {
  const pids = new Set<number>();
  for (const line of trace.split('\n')) {
    const m = EXECVE.exec(line);
    if (m) pids.add(Number(m[1]));
  }
  return pids;
};

export interface Traced {
  /** Every process that ran, the started commands themselves included. */
  readonly processes: number;
  /** Without the started commands: what the tool spawned. */
  readonly spawned: number;
  /** Output of the last command. */
  readonly last: CmdResult;
}

/** The commands' script under strace -f; the shell running it is not counted. */
export const traceCmds = async (cmds: readonly Cmd[], dir: string): Promise<Traced> => {
  const script = await writeScript(cmds, join(dir, 'script'));
  const out = join(dir, 'strace.out');
  const last = await must({
    file: 'strace',
    args: ['-f', '-qq', '-e', 'trace=execve', '-o', out, '--', '/bin/sh', script],
  });
  const processes = execPids(await readFile(out, 'utf8')).size - 1;
  await rm(dir, { recursive: true, force: true });
  return { processes, spawned: processes - cmds.length, last };
};

/** Runs one command under /usr/bin/time; returns its peak RSS in KB and its output. */
export const peakRss = async (c: Cmd, dir: string): Promise<{ kb: number; last: CmdResult }> => {
  const out = join(dir, 'time.out');
  const last = await must({ ...c, file: '/usr/bin/time', args: ['-f', '%M', '-o', out, c.file, ...c.args] });
  const kb = Number((await readFile(out, 'utf8')).trim().split('\n').pop());
  await rm(out);
  return { kb, last };
};
