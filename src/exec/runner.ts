/**
 * The only place that spawns processes. Every external command goes through a Runner:
 * an argv array (never a shell string), a namespace, a timeout, captured output, and a
 * failure reason classified once from stderr.
 */
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { FailureReason } from '../errors.js';
import { PipefitterError } from '../errors.js';
import { missingToolHint } from '../tools.js';
import type { NetnsRef } from '../model/netns.js';
import type { Arg } from '../model/step.js';
import { enterArgv, hostNetnsPath, spellArgs } from '../render/enter.js';
import { changedNetns } from './ns-check.js';
import { notInstalled } from './missing.js';
import { shellJoin } from '../render/quote.js';
import type { BackendChoice, BackendName, NetlinkBackend } from './backend.js';
import { chooseBackend } from './backend.js';

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
  /**
   * With reason `tool-missing`: the programs that were not installed (several: any one would
   * have done). Not always argv[0]: `nsenter … -- nft` misses nft. Hints name their packages.
   */
  readonly missing?: readonly string[] | undefined;
  readonly pid?: number | undefined;
}

/** A long-running command whose stdout is read line by line (an event stream). */
export interface FollowOptions {
  readonly netns: NetnsRef;
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Each line of stdout, without its newline, as it comes. */
  readonly onLine: (line: string) => void;
}

export interface Following {
  /** Settles when the command has ended: how (stdout is not kept; stderr's last 4 KiB are). */
  readonly done: Promise<RunResult>;
  /** SIGTERM to the command; `done` settles once it has exited. Idempotent. */
  stop(): void;
}

export interface Runner {
  run(argv: readonly Arg[], opts: RunOptions): Promise<RunResult>;
  /**
   * Start a long-running command and hand each line of its stdout to `onLine` (`podman events`).
   * Killed when this process exits normally. Absent in runners that only record commands.
   */
  follow?(argv: readonly string[], opts: FollowOptions): Following;
  /** Processes spawned so far (for benchmarks and tests). */
  readonly spawned: number;
  /** Set when the netlink backend runs: namespaces are read and changed in-process. */
  readonly netlink?: NetlinkBackend | undefined;
  /** The backend in use and why. @default ip */
  readonly backend?: BackendChoice | undefined;
  /** Ends the command: closes its netlink sockets. Idempotent. */
  close?(): void;
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

/** What a command that ran left: its exit, its output, and whether it was found at all. */
interface Finished {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** The started file itself was not found (ENOENT). */
  readonly notFound: boolean;
}

export const createRunner = (defaults: { timeoutMs?: number; backend?: BackendName } = {}): Runner => {
  let spawned = 0;
  const backend = chooseBackend(defaults.backend);
  const viaExeca = async (
    file: string,
    args: string[],
    opts: RunOptions,
    timeout: number,
  ): Promise<Finished> => {
    const r = await execa(file, args, {
      input: opts.input,
      reject: false,
      timeout,
      stripFinalNewline: false,
      env: opts.env,
      extendEnv: true,
    });
    const code = (r as { code?: string }).code;
    return {
      exitCode: r.exitCode,
      stdout: String(r.stdout ?? ''),
      stderr: r.failed && !r.stderr ? String(r.shortMessage ?? '') : String(r.stderr ?? ''),
      timedOut: r.timedOut,
      notFound: code === 'ENOENT',
    };
  };
  return {
    get spawned() {
      return spawned;
    },
    backend,
    netlink: backend.netlink,
    close: () => backend.netlink?.session.close(),
    async run(argv, opts) {
      const full = enterArgv(opts.netns, spellArgs(argv, hostNetnsPath()));
      const [file, ...args] = full as [string, ...string[]];
      const command = shellJoin(full);
      // `ip -n NAME` and nsenter enter by path: right before they start, the path must still
      // name the namespace the step was planned for
      const changed = changedNetns([
        opts.netns,
        ...argv.flatMap((a) => (typeof a === 'string' ? [] : [a.netns])),
      ]);
      if (changed)
        return {
          command,
          exitCode: undefined,
          stdout: '',
          stderr: changed.message,
          failed: true,
          reason: 'target-changed',
        };
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
      const timeout = opts.timeoutMs ?? defaults.timeoutMs ?? 60_000;
      return resultOf(command, full, await viaExeca(file, args, opts, timeout));
    },
    follow(argv, opts) {
      const full = enterArgv(opts.netns, argv);
      const [file, ...args] = full as [string, ...string[]];
      spawned++;
      const child = execa(file, args, {
        stdin: 'ignore',
        buffer: false,
        reject: false,
        env: opts.env,
        extendEnv: true,
      });
      createInterface({ input: child.stdout }).on('line', opts.onLine);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr = (stderr + c.toString()).slice(-4096);
      });
      const done = child.then((r) =>
        resultOf(shellJoin(full), full, {
          exitCode: r.exitCode,
          stdout: '',
          stderr: stderr || (r.failed && !r.isTerminated ? String(r.shortMessage ?? '') : ''),
          timedOut: false,
          notFound: (r as { code?: string }).code === 'ENOENT',
        }),
      );
      return { done, stop: () => void child.kill('SIGTERM') };
    },
  };
};

/** A finished command as a RunResult: its failure classified once. */
const resultOf = (command: string, full: readonly string[], r: Finished): RunResult => {
  if (r.exitCode === 0 && !r.timedOut)
    return { command, exitCode: 0, stdout: r.stdout, stderr: r.stderr, failed: false, reason: undefined };
  const missing = r.timedOut
    ? undefined
    : notInstalled(full, { exitCode: r.exitCode, stderr: r.stderr, enoent: r.notFound });
  const reason: FailureReason = missing ? 'tool-missing' : r.timedOut ? 'timeout' : classifyStderr(r.stderr);
  return {
    command,
    exitCode: r.exitCode,
    stdout: r.stdout,
    // the same words however it was started (directly, or behind nsenter)
    stderr:
      missing && (r.notFound || r.exitCode === 127) ? `${missing.join(' or ')}: command not found` : r.stderr,
    failed: true,
    reason,
    missing,
  };
};

/**
 * flock(1) on a descriptor of this process, without waiting: where koffi cannot load, the lock of
 * state/host-lock.ts is taken by a process that shares the open file (its fd 3) and exits; the
 * lock stays with the open file, so with this process, until it is closed or the process ends.
 * @returns true when the lock is ours, false when another holds it
 */
export const flockByProcess = async (fd: number): Promise<boolean> => {
  const r = await execa('flock', ['--exclusive', '--nonblock', '3'], {
    // a descriptor number as the child's fd 3 (node's spawn takes it; execa's types list no
    // number for descriptors past stderr, its runtime passes it on)
    stdio: ['ignore', 'ignore', 'pipe', fd as never],
    reject: false,
  });
  if (r.exitCode === 0) return true;
  if (r.exitCode === 1) return false;
  throw new PipefitterError({
    code: 'E_TOOL_MISSING',
    message: `cannot take the host lock with flock: ${String(r.stderr || r.shortMessage).trim()}`,
    hint: missingToolHint(['flock']),
  });
};
