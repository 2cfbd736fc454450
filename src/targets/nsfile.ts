/** Checks on namespace files: is it really a network namespace, and which one. */
import { stat, statfs } from 'node:fs/promises';

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

export const ownNsIdentity = (): Promise<string | undefined> => nsIdentity('/proc/self/ns/net');
