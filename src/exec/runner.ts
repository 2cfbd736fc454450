/**
 * The only place that spawns processes. Every external command goes through a Runner:
 * an argv array (never a shell string), a namespace, a timeout, captured output, and a
 * failure reason classified once from stderr.
 */
import { execa } from 'execa';
import type { FailureReason } from '../errors.js';
import type { NetnsRef } from '../model/netns.js';
import type { Arg } from '../model/step.js';
import { enterArgv, spellArgs } from './enter.js';
import { shellJoin } from './quote.js';

export interface RunOptions {
  readonly netns: NetnsRef;
  readonly input?: string | undefined;
  /** Throw nothing; report failure in the result. Runner.run never throws for a failed command. */
  readonly timeoutMs?: number | undefined;
  /** Start it and do not wait (a long-running client). */
  readonly detached?: boolean | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
}

export interface RunResult {
  /** The command as run, shell-quoted for humans. */
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly failed: boolean;
  readonly reason: FailureReason | undefined;
  readonly pid?: number | undefined;
}

export interface Runner {
  run(argv: readonly Arg[], opts: RunOptions): Promise<RunResult>;
  /** Processes spawned so far (for benchmarks and tests). */
  readonly spawned: number;
}

/** Classify a failure from stderr; callers branch on this, never on message text. */
export const classifyStderr = (stderr: string): FailureReason => {
  const s = stderr;
  if (/File exists|already exists|already assigned|Address already in use/i.test(s)) return 'exists';
  if (/Device or resource busy|Resource busy/i.test(s)) return 'busy';
  if (/Operation not permitted|Permission denied|must be root/i.test(s)) return 'perm';
  if (
    /Operation not supported|Unknown device type|not supported|Protocol not supported|Unknown link kind|Address family not supported/i.test(
      s,
    )
  )
    return 'unsupported';
  if (
    /Cannot find device|does not exist|No such device|No such process|Cannot assign requested address|not found|No such file|Invalid argument.*netns|Nexthop device is not up/i.test(
      s,
    )
  )
    return 'not-found';
  return 'other';
};

/** Our own namespace, as a path any `ip … netns` argument can use. */
export const hostNetnsPath = (): string => `/proc/${process.pid}/ns/net`;

export const createRunner = (defaults: { timeoutMs?: number } = {}): Runner => {
  let spawned = 0;
  return {
    get spawned() {
      return spawned;
    },
    async run(argv, opts) {
      const full = enterArgv(opts.netns, spellArgs(argv, hostNetnsPath()));
      const [file, ...args] = full as [string, ...string[]];
      const command = shellJoin(full);
      spawned++;
      if (opts.detached) {
        const child = execa(file, args, {
          detached: true,
          stdio: 'ignore',
          cleanup: false,
          env: opts.env,
          extendEnv: true,
        });
        child.unref();
        child.catch(() => undefined);
        return {
          command,
          exitCode: undefined,
          stdout: '',
          stderr: '',
          failed: false,
          reason: undefined,
          pid: child.pid,
        };
      }
      const r = await execa(file, args, {
        input: opts.input,
        reject: false,
        timeout: opts.timeoutMs ?? defaults.timeoutMs ?? 60_000,
        stripFinalNewline: false,
        env: opts.env,
        extendEnv: true,
      });
      const stdout = String(r.stdout ?? '');
      const stderr = String(r.stderr ?? '');
      if (!r.failed)
        return { command, exitCode: r.exitCode, stdout, stderr, failed: false, reason: undefined };
      const code = (r as { code?: string }).code;
      const reason: FailureReason =
        code === 'ENOENT' ? 'tool-missing' : r.timedOut ? 'timeout' : classifyStderr(stderr);
      return {
        command,
        exitCode: r.exitCode,
        stdout,
        stderr: stderr || (code === 'ENOENT' ? `${file}: command not found` : String(r.shortMessage ?? '')),
        failed: true,
        reason,
      };
    },
  };
};
