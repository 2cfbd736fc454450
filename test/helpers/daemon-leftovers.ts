/**
 * Finding and removing what a daemon started by a test leaves on the machine outside its own
 * directory: processes, cgroups and mounts. Every lookup is keyed by the daemon's unique
 * directory (`/tmp/pf-docker-<rand>`), so nothing else is ever matched, signalled or removed.
 */
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * PIDs of a harness: every process whose command line names `dir` (dockerd, containerd, the
 * containerd-shims) and every process in the cgroup named after it (the containers' processes).
 */
export const harnessProcesses = async (dir: string): Promise<number[]> => {
  const cg = basename(dir);
  const pids: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = (await readFile(`/proc/${e}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      const cgroup = await readFile(`/proc/${e}/cgroup`, 'utf8');
      if (
        cmd.includes(dir) ||
        cgroup.split('\n').some((l) => l.endsWith(`/${cg}`) || l.includes(`/${cg}/`))
      ) {
        pids.push(Number(e));
      }
    } catch {
      // exited while we looked
    }
  }
  return pids.sort((a, b) => a - b);
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits up to `ms` for every PID to exit; returns those still alive. */
export const waitExit = async (pids: readonly number[], ms: number): Promise<number[]> => {
  const end = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length && Date.now() < end) {
    await sleep(50);
    left = left.filter(alive);
  }
  return left;
};

/** SIGTERM, then SIGKILL after `graceMs`, to exactly these PIDs. */
export const terminate = async (pids: readonly number[], graceMs: number): Promise<void> => {
  const signal = (p: number, s: NodeJS.Signals) => {
    try {
      process.kill(p, s);
    } catch {
      // already gone
    }
  };
  pids.forEach((p) => signal(p, 'SIGTERM'));
  const stubborn = await waitExit(pids, graceMs);
  stubborn.forEach((p) => signal(p, 'SIGKILL'));
  const left = await waitExit(stubborn, 5_000);
  if (left.length) throw new Error(`processes survived SIGKILL: ${left.join(' ')}`);
};

interface Hierarchy {
  readonly mountpoint: string;
  readonly root: string;
  readonly controllers: readonly string[]; // [] for the cgroup2 hierarchy
  readonly v2: boolean;
}

const unescape = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

const mountinfo = async () =>
  (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pre = '', post = ''] = l.split(' - ');
      const f = pre.split(' ');
      const [fstype = '', , superopts = ''] = post.split(' ');
      return { root: unescape(f[3] ?? ''), mountpoint: unescape(f[4] ?? ''), fstype, superopts };
    });

const hierarchies = async (): Promise<Hierarchy[]> =>
  (await mountinfo())
    .filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2')
    .map((m) => ({
      mountpoint: m.mountpoint,
      root: m.root,
      v2: m.fstype === 'cgroup2',
      controllers:
        m.fstype === 'cgroup2' ? [] : m.superopts.split(',').filter((o) => o !== 'rw' && o !== 'ro'),
    }));

/**
 * Directories of the cgroup `name` in every mounted hierarchy. The harness gives dockerd a
 * RELATIVE --cgroup-parent, which runc places under its own cgroup in each hierarchy; that keeps
 * the containers inside whatever cgroup (memory limit) the test run itself was put in.
 */
export const cgroupDirs = async (name: string): Promise<string[]> => {
  const own = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').filter(Boolean);
  const dirs: string[] = [];
  for (const h of await hierarchies()) {
    const line = own.find((l) => {
      const [, ctrls = ''] = l.split(':');
      if (h.v2) return ctrls === '';
      const want = ctrls.split(',');
      return want.length > 0 && want.every((c) => h.controllers.includes(c));
    });
    if (!line) continue;
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    const rel = h.root !== '/' && path.startsWith(h.root) ? path.slice(h.root.length) : path;
    dirs.push(join(h.mountpoint, rel, name));
  }
  return dirs;
};

/** rmdir a cgroup and its children, deepest first; a missing one is fine. */
export const removeCgroup = async (dir: string): Promise<void> => {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeCgroup(join(dir, e.name));
  await rmdir(dir);
};

/** Mount points at or under `dir` in THIS process's mount namespace. */
export const mountsUnder = async (dir: string): Promise<string[]> =>
  (await mountinfo()).map((m) => m.mountpoint).filter((p) => p === dir || p.startsWith(`${dir}/`));

/** Lazily unmounts everything at or under `dir`, deepest first. */
export const unmountUnder = async (dir: string): Promise<void> => {
  for (const p of (await mountsUnder(dir)).sort((a, b) => b.length - a.length)) {
    await execa('umount', ['-l', '-n', p], { reject: false });
  }
};
