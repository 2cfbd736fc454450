/**
 * A containerd test's environment and what it puts where `ctr` looks (/etc/cni/net.d,
 * /opt/cni/bin), and the sweep of both when the test process was killed (SIGKILL: its `finally`
 * never ran, so its conflist and plugin links stayed in the host's CNI directories and containerd
 * with its shims ran on).
 *
 * The environment is /tmp/pf-<run id>-containerd-<rand>. `owner` in it names the test process
 * (PID and start time, as the Podman harness does: test/helpers/podman.ts); `host-files` lists,
 * one JSON line each, every path the test makes outside it, written BEFORE the path is made.
 * Removing them (the test's own cleanup and the sweep alike) takes exactly what was made: a
 * symlink only while it points where the test pointed it, a file only while it is a regular file
 * with the content written, a directory only when empty — never a path someone else made since.
 */
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  rmdir,
  stat,
  symlink,
  unlink,
  writeFile,
  appendFile,
} from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  cgroupDirs,
  harnessProcesses,
  mountsUnder,
  removeCgroup,
  terminate,
  unmountUnder,
} from './daemon-leftovers.js';
import { runId } from './sandbox.js';

export type HostFile =
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'link'; readonly path: string; readonly target: string }
  | { readonly kind: 'file'; readonly path: string; readonly content: string };

const OWNER = 'owner';
const HOST_FILES = 'host-files';

/** Environments of containerd tests (any run's). */
const ENVIRONMENT = /^pf-[^/]+-containerd-[^/]+$/;

/** A process's start time (clock ticks after boot): with its PID, names it across PID reuse. */
const startTime = async (pid: number): Promise<string | undefined> => {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return st ? st.slice(st.lastIndexOf(')') + 2).split(' ')[19] : undefined;
};

/** A new environment directory owned by this process (`owner` written before anything else). */
export const makeContainerdEnvironment = async (): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${runId}-containerd-`);
  await writeFile(join(dir, OWNER), `${process.pid} ${await startTime(process.pid)}\n`);
  return dir;
};

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

/** containerd's processes, mounts, cgroups, then the directory (never rm through a mount). */
const removeEnvironment = async (dir: string, errors: string[]): Promise<void> => {
  const attempt = async (what: string, f: () => Promise<unknown>): Promise<void> => {
    await f().catch((e: unknown) => errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`));
  };
  await attempt('host files', () => removeHostFiles(dir));
  await attempt('end processes', async () => terminate(await harnessProcesses(dir), 3_000));
  await attempt('unmount', async () => {
    await unmountUnder(dir);
    const m = await mountsUnder(dir);
    if (m.length) throw new Error(`still mounted: ${m.join(' ')}`);
  });
  await attempt('remove cgroups', async () => {
    for (const d of await cgroupDirs(basename(dir))) await removeCgroup(d);
  });
  if (errors.length === 0) await attempt('remove dir', () => rm(dir, { recursive: true, force: true }));
};

/**
 * Remove the containerd test environments (of any run) whose owning test process is dead, with
 * the host files they recorded. Returns the directories swept, so a leak check can fail on them.
 * An environment whose owner runs (the same PID with the same start time) is left alone, and one
 * without an owner file that is younger than a minute or has processes.
 */
export const sweepStaleContainerd = async (): Promise<string[]> => {
  const swept: string[] = [];
  for (const e of await readdir('/tmp')) {
    if (!ENVIRONMENT.test(e)) continue;
    const dir = join('/tmp', e);
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const owner = (await readFile(join(dir, OWNER), 'utf8').catch(() => '')).trim();
    if (owner === '' && (Date.now() - st.mtimeMs < 60_000 || (await harnessProcesses(dir)).length > 0))
      continue;
    const [pid = '0', started] = owner.split(' ');
    if (Number(pid) > 0 && started !== undefined && (await startTime(Number(pid))) === started) continue;
    const errors: string[] = [];
    await removeEnvironment(dir, errors);
    if (errors.length) throw new Error(`containerd sweep of ${dir} incomplete:\n${errors.join('\n')}`);
    swept.push(dir);
  }
  return swept;
};
