/**
 * Which namespace a namespace file names: "dev:ino" of its nsfs inode and when that namespace
 * was born there (the kernel hands a freed namespace's inode number to the next one at once,
 * so dev:ino alone cannot tell a namespace from one made anew under the same name). A bind
 * mount (/run/netns/NAME) holds its nsfs inode, whose ctime is when the namespace got it; for
 * /proc/PID/ns/net the process's start time tells (a reused PID has another). The target
 * resolver records it; both backends compare it right before they act.
 */
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';

/** Field 22 of /proc/PID/stat: when the process started. */
const startTime = (pid: string): string | undefined => {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
};

/** The identity text of a namespace file, from its stat. */
export const identityOf = (st: BigIntStats, path: string): string => {
  const proc = /^\/proc\/(\d+)\//.exec(path);
  const birth = proc ? `start ${startTime(proc[1] ?? '') ?? '?'}` : `ctime ${st.ctimeNs}`;
  return `${st.dev}:${st.ino} ${birth}`;
};

/** The identity of the namespace an open descriptor holds (the one setns() would enter). */
export const fdIdentity = (fd: number, path: string): string =>
  identityOf(fstatSync(fd, { bigint: true }), path);

/** The identity of the namespace `path` names now, or undefined when there is none. */
export const pathIdentity = (path: string): string | undefined => {
  try {
    return identityOf(statSync(path, { bigint: true }), path);
  } catch {
    return undefined;
  }
};

/** The namespace a step was planned for is not the one its file names now. */
export class TargetChanged extends Error {
  readonly reason = 'target-changed' as const;
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly found: string | undefined,
  ) {
    super(
      `${path} ${found === undefined ? 'is gone' : 'now names another network namespace'} (planned for ${expected}${found === undefined ? '' : `, found ${found}`}); nothing was done there`,
    );
    this.name = 'TargetChanged';
  }
}

/** Throws TargetChanged unless `path` still names the namespace `expected` (no expectation: no check). */
export const checkPath = (path: string, expected: string | undefined): void => {
  if (expected === undefined) return;
  const found = pathIdentity(path);
  if (found !== expected) throw new TargetChanged(path, expected, found);
};

/** Throws TargetChanged unless the open descriptor holds the namespace `expected`. */
export const checkFd = (fd: number, path: string, expected: string | undefined): void => {
  if (expected === undefined) return;
  const found = fdIdentity(fd, path);
  if (found !== expected) throw new TargetChanged(path, expected, found);
};

/** Open a namespace file and check, on the descriptor itself, that it holds `expected`. */
export const openChecked = (path: string, expected: string | undefined): number => {
  const fd = openSync(path, 'r');
  try {
    checkFd(fd, path, expected);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
};
