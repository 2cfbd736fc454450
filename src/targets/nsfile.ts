/** Checks on namespace files: is it really a network namespace, and which one. */
import { stat, statfs } from 'node:fs/promises';
import { identityOf } from '../netlink/ns-identity.js';

const NSFS_MAGIC = 0x6e736673;
const PROC_MAGIC = 0x9fa0;

/** "dev:ino" of a namespace file, or undefined when it is not a live network namespace. */
export const nsIdentity = async (path: string): Promise<string | undefined> => {
  try {
    const [st, fs] = await Promise.all([stat(path), statfs(path)]);
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
 * there the process's start time tells instead. undefined when it is not a live namespace.
 */
export const nsInstance = async (path: string): Promise<string | undefined> => {
  try {
    const [st, fs] = await Promise.all([stat(path, { bigint: true }), statfs(path)]);
    if (fs.type !== NSFS_MAGIC && fs.type !== PROC_MAGIC) return undefined;
    return identityOf(st, path);
  } catch {
    return undefined;
  }
};

export const ownNsIdentity = (): Promise<string | undefined> => nsIdentity('/proc/self/ns/net');
