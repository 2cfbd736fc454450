/**
 * Real Docker containers for integration tests, from a private dockerd started inside the test
 * sandbox netns and torn down without a trace.
 *
 * Isolation, and why:
 * - Everything lives in `/tmp/pf-docker-<rand>/`: data-root, exec-root (and with it the managed
 *   containerd's socket, state and root), pidfile, API socket, daemon.json, key.json, log.
 * - dockerd runs in a private mount namespace (`unshare --mount`) in which `<dir>/run` is bound
 *   over /run and `<dir>/opt` over /opt. Without that, containerd-shim writes its sockets to the
 *   hard-coded /run/containerd/s/, dockerd makes /run/docker/plugins, and containerd's opt plugin
 *   makes /opt/containerd. Hiding the real /run/containerd/containerd.sock also stops dockerd
 *   from adopting a system containerd. Overlay and netns mounts stay in that namespace and vanish
 *   with its last process, so a crash cannot leave them mounted on the machine.
 * - /proc/sys/kernel/keys is read-only in that namespace: dockerd would otherwise raise the
 *   machine-wide kernel.keys.root_maxkeys/root_maxbytes (it only warns when it cannot).
 * - `--cgroup-parent` is relative, so runc puts containers under its own cgroup in every
 *   hierarchy (inside the run's memory cgroup); teardown removes those cgroups.
 * - The netns is this process's own, the sandbox: dockerd is spawned directly (nsenter
 *   semantics), never through `ip netns exec`, which remounts /sys and breaks dockerd's cgroup
 *   discovery ("Devices cgroup isn't mounted"). docker0, ip_forward and the iptables chains land
 *   in the sandbox; teardown restores links, sysctls and tables to the snapshot taken before.
 * - `setpriv --pdeathsig TERM`: if the test process dies without stop(), dockerd is told to shut
 *   down (it stops its containers and managed containerd); the leak test then finds the dir.
 *
 * ```ts
 * const docker = await startDocker();
 * t.after(() => docker.stop());
 * const c = await docker.run('web');            // c.pid: enter with nsenter --net=/proc/PID/ns/net
 * ```
 */
import {
  access,
  chmod,
  constants,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import type { ContainerInspect } from './docker-engine.js';
import { engine, engineCall, importImage } from './docker-engine.js';
import { captureNetnsState, restoreNetnsState } from './netns-state.js';
import type { NetnsState } from './netns-state.js';
import {
  cgroupDirs,
  harnessProcesses,
  mountsUnder,
  removeCgroup,
  terminate,
  unmountUnder,
  waitExit,
} from './daemon-leftovers.js';

export type { ContainerInspect } from './docker-engine.js';
export { harnessProcesses } from './daemon-leftovers.js';

export const DOCKERD = '/usr/sbin/dockerd';
export const BUSYBOX = '/bin/busybox';
export const IMAGE = 'pf-busybox:test';
/** dockerd looks up containerd, runc, docker-proxy and iptables on PATH; keep it to the distro's. */
const DAEMON_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const TOOLS = [
  'containerd',
  'containerd-shim-runc-v2',
  'runc',
  'setpriv',
  'unshare',
  'ip',
  'iptables-save',
  'tar',
];
/** Sleeps until stopped, and exits at once on SIGTERM (a PID 1 `sleep` would ignore it for 10 s). */
const IDLE = ['sh', '-c', 'trap "exit 0" TERM INT; sleep 3600 & wait'];

export interface RunOptions {
  /** 'bridge' (default): eth0 on docker0 with a default route; 'none': only lo. */
  readonly network?: 'bridge' | 'none';
  /** Command to run instead of an idle shell that exits on SIGTERM. */
  readonly cmd?: readonly string[];
}

export interface RunningContainer {
  readonly id: string;
  readonly name: string;
  /** Host PID of the container's init; its netns is /proc/PID/ns/net. */
  readonly pid: number;
}

export interface DockerHarness {
  /** The harness directory, `/tmp/pf-docker-<rand>`. */
  readonly dir: string;
  /** Absolute path of the API unix socket. */
  readonly socket: string;
  /** `unix://…` for DOCKER_HOST. */
  readonly dockerHost: string;
  readonly image: string;
  readonly storageDriver: StorageDriver;
  /** Detached container; resolves once State.Running with a Pid. */
  run(name: string, opts?: RunOptions): Promise<RunningContainer>;
  /** `docker stop`: the container stays, State.Running becomes false. */
  stopContainer(name: string): Promise<void>;
  /** `docker rm -f`; a missing container is fine. */
  remove(name: string): Promise<void>;
  /** GET /containers/NAME/json. */
  inspect(name: string): Promise<ContainerInspect>;
  /** Full teardown (see the module comment). Safe to call twice. */
  stop(): Promise<void>;
}

export type StorageDriver = 'overlay2' | 'vfs';

export interface StartOptions {
  /** Default: overlay2, falling back to vfs when dockerd refuses it. */
  readonly storageDriver?: StorageDriver;
  /** `--bip` for docker0; default is dockerd's choice (172.17.0.1/16 in an empty sandbox). */
  readonly bip?: string;
}

type Availability = { ok: true } | { ok: false; reason: string };

const sameFile = async (a: string, b: string): Promise<boolean> => {
  const [x, y] = await Promise.all([stat(a), stat(b)]);
  return x.dev === y.dev && x.ino === y.ino;
};

/** Refuses unless this process sits in the run-tests sandbox, never the machine's own netns. */
const sandboxProblem = async (): Promise<string | undefined> => {
  const name = process.env.PF_SANDBOX;
  if (!name) return 'PF_SANDBOX is unset (run through scripts/run-tests.mjs)';
  try {
    if (!(await sameFile('/proc/self/ns/net', `/run/netns/${name}`))) return `not inside netns ${name}`;
  } catch (e) {
    return `cannot check the netns: ${(e as Error).message}`;
  }
  return undefined;
};

/** A static binary has no PT_INTERP program header; the image has no libc. */
const isStaticElf = async (file: string): Promise<boolean> => {
  const b = await readFile(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const [phentsize, phnum] = [b.readUInt16LE(0x36), b.readUInt16LE(0x38)];
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
};

export const dockerAvailable = async (): Promise<Availability> => {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (uid 0)' };
  for (const f of [DOCKERD, BUSYBOX]) {
    try {
      await access(f, constants.X_OK);
    } catch {
      return { ok: false, reason: `${f} missing (apt-get install docker.io busybox-static)` };
    }
  }
  if (!(await isStaticElf(BUSYBOX)))
    return { ok: false, reason: `${BUSYBOX} is not static (busybox-static)` };
  for (const t of TOOLS) {
    const r = await execa('which', [t], { reject: false, env: { PATH: DAEMON_PATH } });
    if (r.failed) return { ok: false, reason: `${t} not found on ${DAEMON_PATH}` };
  }
  const sb = await sandboxProblem();
  return sb ? { ok: false, reason: sb } : { ok: true };
};

/** Busybox plus one symlink per applet, as a tar for POST /images/create?fromSrc=-. */
const buildRootfsTar = async (root: string): Promise<Uint8Array> => {
  for (const d of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'proc',
    'sys',
    'dev',
    'tmp',
    'root',
    'run',
    'var',
  ]) {
    await mkdir(join(root, d), { recursive: true });
  }
  await chmod(join(root, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  const { stdout } = await execa(BUSYBOX, ['--list-full']);
  for (const applet of stdout.split('\n').filter((a) => a && a !== 'bin/busybox')) {
    await mkdir(join(root, dirname(applet)), { recursive: true });
    await symlink('/bin/busybox', join(root, applet));
  }
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
  const tar = await execa('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], {
    encoding: 'buffer',
  });
  return tar.stdout;
};

/** Mounts in dockerd's private namespace, then exec dockerd. `$0` is the harness dir. */
const WRAPPER = [
  'set -e',
  'mount -n --bind "$0/run" /run',
  'mount -n --bind "$0/opt" /opt',
  'mount -n --bind /proc/sys/kernel/keys /proc/sys/kernel/keys',
  'mount -n -o remount,bind,ro /proc/sys/kernel/keys',
  'exec "$@"',
].join('\n');

const dockerdArgs = (dir: string, driver: StorageDriver, o: StartOptions): string[] => [
  ...['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')],
  ...['--pidfile', join(dir, 'docker.pid'), '--host', `unix://${join(dir, 'docker.sock')}`],
  ...['--config-file', join(dir, 'daemon.json')],
  ...['--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', basename(dir)],
  ...['--storage-driver', driver, '--log-level', 'warn'],
  ...(o.bip ? ['--bip', o.bip] : []),
];

/** PF_DOCKER_TRACE=1 prints phase timings on stderr. */
const trace = (msg: string) => {
  if (process.env.PF_DOCKER_TRACE)
    console.error(`# docker harness ${new Date().toISOString().slice(11, 23)} ${msg}`);
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const logTail = async (dir: string): Promise<string> => {
  const log = await readFile(join(dir, 'dockerd.log'), 'utf8').catch(() => '');
  return log.trim().split('\n').slice(-15).join('\n');
};

/** Starts dockerd and waits for /_ping; returns its PID, or throws with the log's tail. */
const launch = async (dir: string, driver: StorageDriver, o: StartOptions): Promise<number> => {
  // dockerd writes straight to the file (an fd, not a pipe through node), so it never gets
  // SIGPIPE and never holds the test process's event loop.
  const log = createWriteStream(join(dir, 'dockerd.log'), { flags: 'a' });
  await once(log, 'open');
  const env: Record<string, string> = { PATH: DAEMON_PATH, HOME: '/root', LANG: 'C' };
  const argv = ['--pdeathsig', 'TERM', '--', 'unshare', '--mount', '--propagation', 'private', '--'];
  const p = execa('setpriv', [...argv, 'sh', '-c', WRAPPER, dir, DOCKERD, ...dockerdArgs(dir, driver, o)], {
    env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: log,
    stderr: log,
    reject: false,
  });
  log.close();
  // Without stop() the test process may still exit; pdeathsig then shuts dockerd down.
  p.unref();
  let exited = false;
  void p.then(() => (exited = true));
  const pid = p.pid;
  if (pid === undefined) throw new Error('dockerd did not spawn');
  const socket = join(dir, 'docker.sock');
  for (const end = Date.now() + 30_000; Date.now() < end && !exited; await sleep(50)) {
    const r = await engineCall(socket, '/_ping', { unversioned: true, timeoutMs: 2_000 }).catch(
      () => undefined,
    );
    if (r?.status === 200) return pid;
  }
  if (!exited) await terminate([pid], 10_000);
  throw new Error(`dockerd (${driver}) did not come up:\n${await logTail(dir)}`);
};

interface Live {
  readonly dir: string;
  readonly before: NetnsState;
  daemonPid?: number;
  stopped: boolean;
}

export const startDocker = async (o: StartOptions = {}): Promise<DockerHarness> => {
  const a = await dockerAvailable();
  if (!a.ok) throw new Error(`docker harness: ${a.reason}`);
  const live: Live = {
    dir: await mkdtemp('/tmp/pf-docker-'),
    before: await captureNetnsState(),
    stopped: false,
  };
  const { dir } = live;
  const socket = join(dir, 'docker.sock');
  let driver: StorageDriver = o.storageDriver ?? 'overlay2';
  try {
    await Promise.all(['data', 'exec', 'run', 'opt'].map((d) => mkdir(join(dir, d), { mode: 0o700 })));
    await writeFile(
      join(dir, 'daemon.json'),
      JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') }),
    );
    try {
      live.daemonPid = await launch(dir, driver, o);
    } catch (e) {
      if (driver !== 'overlay2' || o.storageDriver) throw e;
      await teardownDaemon(live);
      await rm(join(dir, 'data'), { recursive: true, force: true });
      await mkdir(join(dir, 'data'), { mode: 0o700 });
      driver = 'vfs';
      live.daemonPid = await launch(dir, driver, o);
    }
    trace(`start: dockerd answers /_ping (${driver})`);
    const [repo = '', tag = ''] = IMAGE.split(':');
    await importImage(socket, await buildRootfsTar(join(dir, 'rootfs')), repo, tag);
    await rm(join(dir, 'rootfs'), { recursive: true });
    trace(`start: ${IMAGE} imported`);
  } catch (e) {
    await teardown(live).catch((t: unknown) =>
      console.error(`# docker harness teardown after a failed start: ${String(t)}`),
    );
    throw e;
  }

  const path = (name: string) => `/containers/${encodeURIComponent(name)}`;
  const inspect = async (name: string) => (await engine(socket, `${path(name)}/json`)) as ContainerInspect;
  return {
    dir,
    socket,
    dockerHost: `unix://${socket}`,
    image: IMAGE,
    storageDriver: driver,
    inspect,
    async run(name, opts = {}) {
      const created = (await engine(socket, `/containers/create?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        body: {
          Image: IMAGE,
          Cmd: opts.cmd ?? IDLE,
          Labels: { 'pipefitter.test.harness': dir },
          HostConfig: { NetworkMode: opts.network ?? 'bridge' },
        },
      })) as { Id: string };
      await engine(socket, `${path(created.Id)}/start`, { method: 'POST' });
      for (const end = Date.now() + 10_000; ; await sleep(20)) {
        const s = await inspect(created.Id);
        if (s.State.Running && s.State.Pid > 0)
          return { id: s.Id, name: s.Name.replace(/^\//, ''), pid: s.State.Pid };
        if (Date.now() > end || (!s.State.Running && s.State.Status !== 'created')) {
          throw new Error(`container ${name} did not start: ${s.State.Status} exit ${s.State.ExitCode}`);
        }
      }
    },
    async stopContainer(name) {
      await engine(socket, `${path(name)}/stop?t=5`, { method: 'POST', alsoOk: [304] });
    },
    async remove(name) {
      await engine(socket, `${path(name)}?force=true&v=true`, { method: 'DELETE', alsoOk: [404] });
    },
    stop: () => teardown(live),
  };
};

/** Removes every container, then stops dockerd, its containerd and shims. */
const teardownDaemon = async (live: Live): Promise<void> => {
  const socket = join(live.dir, 'docker.sock');
  const list = await engine(socket, '/containers/json?all=true', { timeoutMs: 5_000 }).catch(() => []);
  await Promise.all(
    (list as { Id: string }[]).map((c) =>
      engine(socket, `/containers/${c.Id}?force=true&v=true`, { method: 'DELETE', timeoutMs: 15_000 }).catch(
        () => undefined,
      ),
    ),
  );
  trace(`teardown: ${(list as unknown[]).length} containers removed`);
  // dockerd on SIGTERM stops its managed containerd; the grace covers container shutdown.
  if (live.daemonPid !== undefined) await terminate([live.daemonPid], 15_000);
  live.daemonPid = undefined;
  trace('teardown: dockerd exited');
  const rest = await harnessProcesses(live.dir);
  trace(`teardown: left after dockerd: ${rest.join(' ') || 'none'}`);
  if (rest.length) await terminate(rest, 3_000);
  const left = await waitExit(await harnessProcesses(live.dir), 2_000);
  if (left.length) throw new Error(`harness processes left: ${left.join(' ')}`);
};

const teardown = async (live: Live): Promise<void> => {
  if (live.stopped) return;
  live.stopped = true;
  const errors: unknown[] = [];
  const attempt = async (what: string, f: () => Promise<void>) => {
    const t0 = performance.now();
    try {
      await f();
    } catch (e) {
      errors.push(new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`));
    }
    trace(`teardown: ${what} ${(performance.now() - t0).toFixed(0)} ms`);
  };
  const log = await logTail(live.dir);
  await attempt('stop daemon', () => teardownDaemon(live));
  await attempt('unmount', async () => {
    await unmountUnder(live.dir);
    const m = await mountsUnder(live.dir);
    if (m.length) throw new Error(`still mounted: ${m.join(' ')}`);
  });
  await attempt('restore netns', () => restoreNetnsState(live.before));
  await attempt('remove cgroups', async () => {
    for (const d of await cgroupDirs(basename(live.dir))) await removeCgroup(d);
  });
  // Never rm through a mount: only when the checks above found none.
  if (errors.length === 0) await attempt('remove dir', () => rm(live.dir, { recursive: true, force: true }));
  if (errors.length) {
    throw new AggregateError(
      errors,
      `docker harness teardown incomplete (${live.dir}):\n${errors.map(String).join('\n')}\n--- dockerd log tail:\n${log}`,
    );
  }
};
