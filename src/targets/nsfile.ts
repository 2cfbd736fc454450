/** Checks on namespace files: is it really a network namespace, and which one. */
import { readFileSync, statSync, statfsSync } from 'node:fs';
import { identityOf } from '../netlink/ns-identity.js';

const NSFS_MAGIC = 0x6e736673;
const PROC_MAGIC = 0x9fa0;

// Synchronous on purpose (and Promise-shaped for the callers): a stat of a namespace file never
// blocks, and the thread pool's round trips cost more than the calls for 500 targets.

/** "dev:ino" of a namespace file, or undefined when it is not a live network namespace. */
export const nsIdentity = (path: string): Promise<string | undefined> => Promise.resolve(devIno(path));

const devIno = (path: string): string | undefined => {
  try {
    const [st, fs] = [statSync(path), statfsSync(path)];
    // A /run/netns entry whose bind mount is gone is an empty regular file on tmpfs.
    if (fs.type !== NSFS_MAGIC && fs.type !== PROC_MAGIC) return undefined;
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
};

/**
 * Which instance of a namespace a file names, to tell one deleted and made anew under the same
 * name: the kernel hands a freed namespace's inode number to the next one at once, so dev:ino
 * alone does not tell them apart. A bind mount (/run/netns/NAME) holds its nsfs inode, whose
 * ctime is when that namespace got it; /proc/PID/ns/net gets a new inode at every lookup, so
 * there the process's start time tells instead. Both from one stat: "dev:ino" and the
 * instance; undefined when it is not a live namespace.
 */
export const nsFacts = (path: string): { readonly id: string; readonly instance: string } | undefined => {
  try {
    const [st, fs] = [statSync(path, { bigint: true }), statfsSync(path)];
    if (fs.type !== NSFS_MAGIC && fs.type !== PROC_MAGIC) return undefined;
    return { id: `${st.dev}:${st.ino}`, instance: identityOf(st, path) };
  } catch {
    return undefined;
  }
};

/** pipefitter's own namespace: read once (a command never leaves it but inside netlink/socket.ts). */
let own: string | undefined;
export const ownNsIdentity = (): Promise<string | undefined> =>
  Promise.resolve((own ??= devIno('/proc/self/ns/net')));

/**
 * Why a namespace file is no namespace to act on: `perm` when reading it was refused (EACCES,
 * EPERM: not root, or a process pipefitter may not inspect), `missing` when there is no such
 * file (the process is gone), `not-netns` when it is some other file.
 */
export const nsFileProblem = (path: string): 'perm' | 'missing' | 'not-netns' => {
  try {
    statSync(path);
    return 'not-netns';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? 'perm' : 'missing';
  }
};

/** PF_KTHREAD in /proc/PID/stat's flags (include/linux/sched.h). */
const PF_KTHREAD = 0x00200000;

/**
 * The flags field of /proc/PID/stat (the 9th; the 2nd, comm, may hold spaces and parentheses).
 * @example statFlags('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0') // 2129984
 */
export const statFlags = (stat: string): number | undefined => {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const flags = Number(fields[6]);
  return Number.isInteger(flags) ? flags : undefined;
};

const kthreadNet = (): string | undefined => {
  try {
    const flags = statFlags(readFileSync('/proc/2/stat', 'utf8'));
    return flags !== undefined && (flags & PF_KTHREAD) !== 0 ? devIno('/proc/2/ns/net') : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The machine's initial network namespace: that of PID 1. Where PID 1 may not be inspected
 * (it holds capabilities pipefitter lacks), that of kthreadd (PID 2, a kernel thread: kernel
 * threads live in the initial namespaces). Undefined when neither can be read.
 */
let init: string | null | undefined;
export const initNsIdentity = (): string | undefined => {
  if (init === undefined) init = devIno('/proc/1/ns/net') ?? kthreadNet() ?? null;
  return init ?? undefined;
};
