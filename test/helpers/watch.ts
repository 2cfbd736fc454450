/**
 * `pipefitter watch --json` as a child process for the watch tests: its JSON lines collected as
 * they come, waited for in order (`next`) or in any order (`find`), and `stop` ends it the way
 * systemd does (SIGTERM) and asserts a clean end: exit 0, a `stopped` line, no `failed` line.
 * A watch not stopped by the test is killed when the test ends.
 */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import type { ResultPromise } from 'execa';
import { execa } from 'execa';
import { BIN } from './cli.js';
import { tempStateDir } from './state-dir.js';

/** One line of watch's log (src/api/watch.ts WatchEvent). */
export interface WatchLine {
  readonly time: string;
  readonly event: string;
  readonly message: string;
  readonly unit?: string;
  readonly target?: string;
  readonly ms?: number;
  readonly sinceEventMs?: number;
  readonly code?: string;
}

export interface WatchProcess {
  readonly child: ResultPromise;
  /** Every line so far, in order. */
  readonly lines: readonly WatchLine[];
  /** The first matching line after the last one `next` returned (lines in order). */
  next(match: (l: WatchLine) => boolean, timeoutMs?: number): Promise<WatchLine>;
  /** The first matching line not returned yet, wherever it is (lines in any order). */
  find(match: (l: WatchLine) => boolean, timeoutMs?: number): Promise<WatchLine>;
  /** SIGTERM, then: exit 0, a `stopped` line and (unless allowed) no `failed` line. */
  stop(opts?: { allowFailed?: boolean }): Promise<void>;
  stderr(): string;
}

/**
 * Start `pipefitter watch --json ARGS` with this environment (PIPEFITTER_STATE_DIR, DOCKER_HOST…).
 * @example const w = startWatch(t, env, ['--interval', '5m']); await w.next((l) => l.event === 'started');
 */
export const startWatch = (
  t: { after: (fn: () => void) => void },
  env: Record<string, string>,
  args: readonly string[] = [],
): WatchProcess => {
  const child: ResultPromise = execa('node', [BIN, 'watch', '--json', ...args], {
    env,
    reject: false,
    buffer: false,
  });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const lines: WatchLine[] = [];
  const taken = new Set<WatchLine>();
  let cursor = 0;
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    lines.push(JSON.parse(text) as WatchLine);
    for (const w of [...waiters]) w();
  });
  const dump = (): string => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`;

  const wait = (
    pick: () => WatchLine | undefined,
    take: (l: WatchLine) => void,
    timeoutMs: number,
  ): Promise<WatchLine> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const l = pick();
        if (!l) return;
        waiters.delete(check);
        clearTimeout(timer);
        take(l);
        resolve(l);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`watch: no matching line in ${timeoutMs} ms; got:\n${dump()}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  return {
    child,
    lines,
    next: (match, timeoutMs = 20_000) =>
      wait(
        () => lines.slice(cursor).find(match),
        (l) => {
          taken.add(l);
          cursor = lines.indexOf(l) + 1;
        },
        timeoutMs,
      ),
    find: (match, timeoutMs = 20_000) =>
      wait(
        () => lines.find((l) => !taken.has(l) && match(l)),
        (l) => taken.add(l),
        timeoutMs,
      ),
    async stop(opts = {}) {
      child.kill('SIGTERM');
      const end = await child;
      assert.equal(end.exitCode, 0, `watch exit ${end.exitCode} on SIGTERM:\n${dump()}`);
      assert.ok(
        lines.some((l) => l.event === 'stopped'),
        `watch said nothing on SIGTERM:\n${dump()}`,
      );
      if (!opts.allowFailed)
        assert.deepEqual(
          lines.filter((l) => l.event === 'failed'),
          [],
          'no action of watch failed',
        );
    },
    stderr: () => stderr,
  };
};

/**
 * A temporary state directory and the environment the CLI and `watch` of one test run with:
 * pipefitter's state and run directories in it, and the container runtime's variables given.
 * @example const { stateDir, env } = await watchEnv(t, 'watch', { DOCKER_HOST: d().dockerHost });
 */
export const watchEnv = async (
  t: { after: (fn: () => Promise<void>) => void },
  label: string,
  runtime: Record<string, string>,
): Promise<{ stateDir: string; env: Record<string, string> }> => {
  const stateDir = await tempStateDir(t, label);
  return {
    stateDir,
    env: {
      PIPEFITTER_STATE_DIR: stateDir,
      PIPEFITTER_RUN_DIR: `${stateDir}/run`,
      ...runtime,
      PATH: process.env.PATH ?? '',
    },
  };
};
