/**
 * One pipefitter at a time changes a host. Every command that observes in order to change —
 * attach, detach, pipework's form, apply, destroy — holds this lock from before it observes
 * until its last change and its state are written, so that no decision (a bridge to make or to
 * reuse, the last port of a bridge, a shared VLAN's users, an address from a pool, what a recipe
 * made) is taken on a state another run is changing. Reading commands (plan, status, show) take
 * no lock.
 *
 * It is flock(2) on `$PIPEFITTER_STATE_DIR/host.lock`: the kernel drops it when the holder's
 * process ends, however it ends (kill -9 included), so it never goes stale and no clock decides.
 * In-process through koffi; where koffi cannot load, flock(1) takes it on a shared descriptor.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeSync, ftruncateSync } from 'node:fs';
import { PipefitterError } from '../errors.js';
import { flockByProcess } from '../exec/runner.js';
import { holdSignals } from '../exec/stop.js';
import { loadLibc } from '../netlink/socket.js';
import { stateRoot } from '../paths.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
const EINTR = 4;

export interface HostLock {
  /** Give it back (idempotent); the process's end gives it back too. */
  release(): void;
}

export interface LockOptions {
  /** What takes it, said to whoever waits (e.g. "pipefitter apply lab.yaml"). */
  readonly what: string;
  /** How long to wait for another holder. @default PIPEFITTER_LOCK_WAIT seconds, or 120 s */
  readonly waitMs?: number | undefined;
  /** Called once when the lock is busy, with what the holder said it was doing. */
  readonly onWait?: ((holder: string) => void) | undefined;
}

/**
 * Where a run tells what it waits for, or what it found left by an interrupted run, when the
 * caller gave no onWait (the CLI sets it: a line on stderr).
 */
let notice: ((text: string) => void) | undefined;
export const setHostNotice = (fn: ((text: string) => void) | undefined): void => {
  notice = fn;
};
export const hostNotice = (text: string): void => notice?.(text);

/** The lock file of this state root. */
export const hostLockPath = (): string => `${stateRoot()}/host.lock`;

const waitDefault = (): number => {
  const v = process.env.PIPEFITTER_LOCK_WAIT;
  if (v === undefined || v === '') return 120_000;
  const s = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(s))
    throw new PipefitterError({
      code: 'E_BAD_VALUE',
      message: `PIPEFITTER_LOCK_WAIT="${v}" is not a number of seconds`,
      hint: 'set it to how long to wait for another pipefitter, e.g. PIPEFITTER_LOCK_WAIT=30',
    });
  return s * 1000;
};

/** In this process, one holder at a time too: later callers queue behind it. */
let queue: Promise<void> = Promise.resolve();

/** Try once; true when the lock is now this open file's. */
const tryLock = async (fd: number): Promise<boolean> => {
  const libc = loadLibc();
  if ('error' in libc) return flockByProcess(fd);
  for (;;) {
    if (libc.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
    const errno = libc.errno();
    if (errno === EINTR) continue;
    if (errno === EWOULDBLOCK) return false;
    throw new PipefitterError({
      code: 'E_INTERNAL',
      message: `cannot lock ${hostLockPath()}: errno ${errno}`,
      hint: 'check the state directory (PIPEFITTER_STATE_DIR)',
    });
  }
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const holderOf = (): string => {
  try {
    return readFileSync(hostLockPath(), 'utf8').trim() || 'another pipefitter';
  } catch {
    return 'another pipefitter';
  }
};

/**
 * Take the host lock, waiting for another holder up to `waitMs`.
 * @throws PipefitterError E_CONFLICT when it stays busy (nothing was touched)
 * @example const lock = await lockHost({ what: 'pipefitter attach web' }); try { … } finally { lock.release(); }
 */
export const lockHost = async (opts: LockOptions): Promise<HostLock> => {
  const waitMs = opts.waitMs ?? waitDefault();
  let releaseQueue!: () => void;
  const mine = new Promise<void>((r) => (releaseQueue = r));
  const before = queue;
  queue = before.then(() => mine);
  await before;
  let fd: number | undefined;
  try {
    const dir = stateRoot();
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      fd = openSync(hostLockPath(), 'a+', 0o600);
    } catch (e) {
      throw new PipefitterError({
        code: 'E_NOT_ROOT',
        message: `cannot open the host lock ${hostLockPath()}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        hint: 'run as root, or set PIPEFITTER_STATE_DIR to a directory you may write',
      });
    }
    const deadline = Date.now() + waitMs;
    let told = false;
    for (let pause = 10; !(await tryLock(fd)); pause = Math.min(pause * 2, 200)) {
      if (!told) {
        if (opts.onWait) opts.onWait(holderOf());
        else hostNotice(`waiting for another pipefitter to finish (${holderOf()})`);
        told = true;
      }
      if (Date.now() >= deadline)
        throw new PipefitterError({
          code: 'E_CONFLICT',
          message: `the host is busy: ${holderOf()} holds ${hostLockPath()} (waited ${Math.round(waitMs / 1000)} s); nothing was changed`,
          hint: 'run it again when that finishes, or wait longer with PIPEFITTER_LOCK_WAIT=SECONDS',
        });
      await sleep(pause);
    }
    // who holds it, for those who wait (the file is only a note: the lock is the flock)
    ftruncateSync(fd, 0);
    writeSync(fd, `pid ${process.pid}: ${opts.what}\n`, 0);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    releaseQueue();
    throw e;
  }
  const held = fd;
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      try {
        ftruncateSync(held, 0);
      } catch {
        // only the note
      }
      closeSync(held); // closing the open file drops the flock
      releaseQueue();
    },
  };
};

/** Run `fn` holding the host lock. */
export const withHostLock = async <T>(opts: LockOptions, fn: () => Promise<T>): Promise<T> => {
  const lock = await lockHost(opts);
  // a stop signal while it is held is seen between steps, never obeyed half-way (exec/stop.ts)
  const releaseSignals = holdSignals();
  try {
    return await fn();
  } finally {
    lock.release();
    releaseSignals();
  }
};
