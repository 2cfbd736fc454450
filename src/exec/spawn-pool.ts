/**
 * Starting commands through libexec/pipefitter-spawn (see SpawnPool). Pure of execa: the runner
 * hands in how to launch the helper.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { SPAWN_HELPER } from '../libexec.js';

/** A started helper: its pipes, what keeps the event loop alive, and its end. */
export interface Launched {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly handles: readonly { ref(): void; unref(): void }[];
  readonly ended: Promise<unknown>;
}

export type Launch = (file: string, dir: string) => Launched;

/** What a spawned command left: its exit, its output, and whether it was found at all. */
export interface Finished {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** The started file itself was not found (ENOENT); the helper's shell reports exit 127 instead. */
  readonly notFound: boolean;
}

/** Helpers started at most (side-by-side commands; the executor runs up to 4, observation 8). */
const HELPERS = 4;

interface Helper {
  readonly send: (fields: readonly string[]) => void;
  readonly hold: (on: boolean) => void;
  /** Let it end (end of its input). */
  readonly close: () => void;
  onLine?: ((kind: string, value: string) => void) | undefined;
  alive: boolean;
  /** Started under an environment that has changed since: it ends once free. */
  retired: boolean;
}

/** The environment commands inherit; helpers started under another one are replaced. */
const envKey = (): string => JSON.stringify(Object.entries(process.env));

/**
 * Starts commands through libexec/pipefitter-spawn: each helper forks itself for a command, a
 * fraction of what forking this Node process costs (measured: a no-op `ip` call goes from ~18 ms
 * to ~10 ms on the 2-core benchmark machine). Commands still travel as argument arrays. Falls
 * back to execa when the helper cannot run.
 */
export class SpawnPool {
  constructor(private readonly launch: Launch) {}

  private dir: string | undefined;
  private readonly idle: Helper[] = [];
  private started = 0;
  private readonly waiting: ((h: Helper | undefined) => void)[] = [];
  private seq = 0;
  private env: string | undefined;
  broken = false;

  private workDir(): string {
    if (this.dir === undefined) {
      // memory-backed where there is one; a read-only or missing /dev/shm falls back to the temp dir
      const name = `pipefitter-spawn-${process.pid}-`;
      let dir: string;
      try {
        dir = mkdtempSync(join('/dev/shm', name));
      } catch {
        dir = mkdtempSync(join(tmpdir(), name));
      }
      this.dir = dir;
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    return this.dir;
  }

  private start(): Helper {
    const p = this.launch(SPAWN_HELPER, this.workDir());
    p.stdin.on('error', () => undefined);
    const h: Helper = {
      alive: true,
      retired: false,
      close: () => p.stdin.end(),
      send: (fields) => p.stdin.write(fields.map((f) => `${f}\0`).join('')),
      hold: (on) => {
        for (const x of p.handles)
          if (on) x.ref();
          else x.unref();
      },
    };
    createInterface({ input: p.stdout }).on('line', (line) => {
      const [, kind = '', value = ''] = line.split(' ');
      h.onLine?.(kind, value);
    });
    void p.ended.finally(() => {
      h.alive = false;
      // a helper that ends unasked means the helper cannot serve here: run everything directly
      if (!h.retired) this.broken = true;
      const at = this.idle.indexOf(h);
      if (at >= 0) {
        this.idle.splice(at, 1);
        this.started--;
      }
      h.onLine?.('gone', '');
    });
    h.hold(false);
    return h;
  }

  /** A free helper, and whether it was started for this call (a process of its own). */
  private async acquire(): Promise<{ h: Helper | undefined; fresh: boolean }> {
    const h = this.idle.pop();
    if (h) return { h, fresh: false };
    if (this.started < HELPERS) {
      this.started++;
      try {
        return { h: this.start(), fresh: true };
      } catch {
        this.broken = true;
        return { h: undefined, fresh: false };
      }
    }
    return {
      h: await new Promise<Helper | undefined>((resolve) => this.waiting.push(resolve)),
      fresh: false,
    };
  }

  private release(h: Helper): void {
    h.hold(false);
    if (!h.alive || h.retired) {
      if (h.alive) h.close();
      this.started--;
      // whoever waits for a helper gets none, and runs its command directly
      this.waiting.shift()?.(undefined);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(h);
    else this.idle.push(h);
  }

  /** Commands inherit the environment of the helper: a changed process.env retires them all. */
  private checkEnv(): void {
    const now = envKey();
    if (this.env !== undefined && this.env !== now) {
      for (const h of this.idle.splice(0)) {
        h.retired = true;
        h.close();
        this.started--;
      }
      for (const h of this.busy) h.retired = true;
    }
    this.env = now;
  }

  private readonly busy = new Set<Helper>();

  /** Inputs by content: the same queries for a hundred namespaces are written once. */
  private readonly inputs = new Map<string, Promise<string>>();

  /** The file holding `input`, and whether it goes once the command ran. */
  private inputFile(input: string): { file: Promise<string>; once: boolean } {
    const cached = this.inputs.get(input);
    if (cached) return { file: cached, once: false };
    const path = join(this.workDir(), `in${++this.seq}`);
    const file = writeFile(path, input).then(() => path);
    // a few distinct inputs are kept (observation queries); others go once used
    if (this.inputs.size >= 64) return { file, once: true };
    this.inputs.set(input, file);
    return { file, once: false };
  }

  /**
   * Run one command; undefined when the helper is gone before it started (run it elsewhere).
   * `onHelper` is called when a helper process was started for it.
   */
  async run(
    argv: readonly string[],
    input: string | undefined,
    timeoutMs: number,
    onHelper: () => void,
  ): Promise<Finished | undefined> {
    this.checkEnv();
    const { h, fresh } = await this.acquire();
    if (fresh) onHelper();
    if (!h?.alive) return undefined;
    this.busy.add(h);
    const dir = this.workDir();
    const id = `c${++this.seq}`;
    const base = join(dir, id);
    const fed = input === undefined ? undefined : this.inputFile(input);
    const stdin = fed ? await fed.file : '';
    h.hold(true);
    const outcome = await new Promise<{ status?: number; timedOut: boolean; started: boolean }>((resolve) => {
      let pid: number | undefined;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      }, timeoutMs);
      h.onLine = (kind, value) => {
        if (kind === 'pid') pid = Number(value);
        else {
          clearTimeout(timer);
          h.onLine = undefined;
          resolve({
            status: kind === 'exit' ? Number(value) : undefined,
            timedOut,
            started: pid !== undefined,
          });
        }
      };
      h.send([id, String(argv.length), ...argv, stdin]);
    });
    this.busy.delete(h);
    this.release(h);
    if (outcome.status === undefined && !outcome.started) return undefined;
    const [stdout, stderr] = await Promise.all(
      ['out', 'err'].map((x) => readFile(`${base}.${x}`, 'utf8').catch(() => '')),
    );
    await Promise.all(
      [`${base}.out`, `${base}.err`, ...(fed?.once ? [stdin] : [])].map((f) =>
        unlink(f).catch(() => undefined),
      ),
    );
    const exitCode = outcome.status;
    return {
      exitCode,
      stdout: stdout ?? '',
      stderr: stderr ?? '',
      timedOut: outcome.timedOut,
      // started by the helper's bash, never ENOENT: the runner reads its exit 127 and stderr
      notFound: false,
    };
  }
}
