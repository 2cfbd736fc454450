/**
 * A containerd test's environment and what it puts where `ctr` looks (/etc/cni/net.d,
 * /opt/cni/bin), and the sweep of both when the test process was killed (SIGKILL: its `finally`
 * never ran, so its conflist and plugin links stayed in the host's CNI directories and containerd
 * with its shims ran on).
 *
 * The environment is /tmp/pf-<run id>-containerd-<rand>. `owner` in it names the test process
 * (PID and start time, as for the Podman harness: test/helpers/owned-env.ts); `host-files` lists,
 * one JSON line each, every path the test makes outside it, written BEFORE the path is made.
 * Removing them (the test's own cleanup and the sweep alike) takes exactly what was made: a
 * symlink only while it points where the test pointed it, a file only while it is a regular file
 * with the content written, a directory only when empty — never a path someone else made since.
 */
import {
  appendFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rmdir,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { harnessProcesses } from './daemon-leftovers.js';
import { attemptInto, makeOwnedDir, removeOwnedDir, sweepStaleOwned } from './owned-env.js';

export type HostFile =
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'link'; readonly path: string; readonly target: string }
  | { readonly kind: 'file'; readonly path: string; readonly content: string };

const HOST_FILES = 'host-files';

/** A new environment directory owned by this process (`owner` written before anything else). */
export const makeContainerdEnvironment = (): Promise<string> => makeOwnedDir('containerd');

const exists = async (path: string): Promise<boolean> =>
  (await lstat(path).catch(() => undefined)) !== undefined;

/**
 * Make `f` (a directory only when missing: then true), recording it in the environment first.
 * @throws when the path exists already (a directory excepted): never taken over
 */
export const makeHostFile = async (dir: string, f: HostFile): Promise<boolean> => {
  if (await exists(f.path)) {
    if (f.kind === 'dir' && (await stat(f.path)).isDirectory()) return false;
    throw new Error(`${f.path} exists already: not overwriting it`);
  }
  await appendFile(join(dir, HOST_FILES), `${JSON.stringify(f)}\n`);
  if (f.kind === 'dir') await mkdir(f.path);
  else if (f.kind === 'link') await symlink(f.target, f.path);
  else await writeFile(f.path, f.content, { flag: 'wx' });
  return true;
};

/** The host paths the environment recorded, in the order made. */
export const hostFilesOf = async (dir: string): Promise<HostFile[]> =>
  (await readFile(join(dir, HOST_FILES), 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as HostFile];
      } catch {
        return []; // a line cut short by the kill: its path was not made yet
      }
    });

/** Is `f` still what the environment made? */
const stillOurs = async (f: HostFile): Promise<boolean> => {
  const st = await lstat(f.path).catch(() => undefined);
  if (!st) return false;
  if (f.kind === 'dir') return st.isDirectory();
  if (f.kind === 'link') return st.isSymbolicLink() && (await readlink(f.path)) === f.target;
  return st.isFile() && (await readFile(f.path, 'utf8').catch(() => undefined)) === f.content;
};

/**
 * Remove the host paths the environment made, newest first; a directory only when empty (another
 * test may use it). Returns the paths removed.
 */
export const removeHostFiles = async (dir: string): Promise<string[]> => {
  const removed: string[] = [];
  for (const f of (await hostFilesOf(dir)).reverse()) {
    if (!(await stillOurs(f))) continue;
    if (f.kind === 'dir') {
      if (
        (await readdir(f.path)).length === 0 &&
        (await rmdir(f.path).then(
          () => true,
          () => false,
        ))
      )
        removed.push(f.path);
    } else {
      await unlink(f.path);
      removed.push(f.path);
    }
  }
  return removed;
};

/**
 * Remove a containerd test's environment: the host files it recorded, then containerd's
 * processes, mounts and cgroups, then the directory (never rm through a mount). Failures go to
 * `errors`.
 */
export const removeContainerdEnvironment = async (dir: string, errors: string[]): Promise<void> => {
  await attemptInto(errors)('host files', () => removeHostFiles(dir));
  await removeOwnedDir(dir, harnessProcesses, errors);
};

/**
 * Remove the containerd test environments (of any run) whose owning test process is dead, with
 * the host files they recorded. Returns the directories swept, so a leak check can fail on them.
 * An environment whose owner runs (the same PID with the same start time) is left alone, and one
 * without an owner file that is younger than a minute or has processes.
 */
export const sweepStaleContainerd = (): Promise<string[]> =>
  sweepStaleOwned('containerd', { processes: harnessProcesses, remove: removeContainerdEnvironment });
