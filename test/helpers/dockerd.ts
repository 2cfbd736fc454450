/**
 * Starting and stopping one private dockerd (20.10, Debian's) whose every file lives in a
 * harness directory `/tmp/pf-docker-<rand>/`. The flags, and why:
 *
 * --data-root DIR/data, --exec-root DIR/exec   images, containers, overlay mounts; runtime state,
 *     netns bind mounts, and the MANAGED containerd (socket, state, root and its generated
 *     containerd.toml all under exec-root/containerd, data-root/containerd)
 * --pidfile DIR/docker.pid, --host unix://DIR/docker.sock
 * --config-file DIR/daemon.json   never /etc/docker/daemon.json; it sets `deprecated-key-path`
 *     (a config key in 20.10, not a flag) so key.json is not written to /etc/docker
 * --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent pf-docker-<rand>   RELATIVE, so runc
 *     nests containers under its own cgroup in every hierarchy (inside the run's memory cgroup)
 *     and teardown can find and rmdir exactly those
 * --storage-driver overlay2 (vfs as fallback)   overlay2 works on ext4 /tmp
 * --log-level warn   the log goes to DIR/dockerd.log
 * Left at their defaults on purpose: --iptables, --ip-forward, --bridge (docker0, so containers
 * get eth0 and a default route), --userland-proxy; and no --live-restore, so dockerd stops its
 * containers when it exits.
 *
 * dockerd runs as `setpriv --pdeathsig TERM -- unshare --mount --propagation private -- sh -c
 * WRAPPER DIR dockerd …`: in its own mount namespace, DIR/run is bound over /run and DIR/opt over
 * /opt (containerd-shim's hard-coded /run/containerd/s sockets, /run/docker/plugins,
 * /opt/containerd, and no system containerd socket to adopt), /proc/sys/kernel/keys is read-only
 * (dockerd would raise the machine-wide root_maxkeys), and every overlay/netns mount vanishes with
 * the namespace's last process. It is spawned straight from the test process, i.e. in the
 * sandbox netns with nsenter semantics, never via `ip netns exec` (which remounts /sys and makes
 * dockerd fail with "Devices cgroup isn't mounted").
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { engine, engineCall } from './docker-engine.js';
import { harnessProcesses, terminate, waitExit } from './daemon-leftovers.js';
import { startFailed, tail } from './daemon-start.js';

export const DOCKERD = '/usr/sbin/dockerd';
/** dockerd looks up containerd, runc, docker-proxy and iptables on PATH: the distro's only. */
export const DAEMON_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
export const DAEMON_TOOLS = ['containerd', 'containerd-shim-runc-v2', 'runc', 'setpriv', 'unshare', 'mount'];

export type StorageDriver = 'overlay2' | 'vfs';

export interface DockerdOptions {
  readonly storageDriver: StorageDriver;
  readonly bip?: string | undefined;
  /** The daemon to start. @default DOCKERD (tests of the failure reports name another) */
  readonly dockerd?: string | undefined;
  /** dockerd's PATH, where setpriv, unshare, sh and dockerd's helpers are found. @default DAEMON_PATH */
  readonly path?: string | undefined;
  /** More dockerd options (tests of the failure reports pass bad ones). */
  readonly extraArgs?: readonly string[] | undefined;
}

/** `mount -n` keeps mount(8) from creating /run/mount/utab on the machine before /run is bound. */
const WRAPPER = [
  'set -e',
  'mount -n --bind "$0/run" /run',
  'mount -n --bind "$0/opt" /opt',
  'mount -n --bind /proc/sys/kernel/keys /proc/sys/kernel/keys',
  'mount -n -o remount,bind,ro /proc/sys/kernel/keys',
  'exec "$@"',
].join('\n');

export const dockerdArgs = (dir: string, o: DockerdOptions): string[] => [
  ...['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')],
  ...['--pidfile', join(dir, 'docker.pid'), '--host', `unix://${join(dir, 'docker.sock')}`],
  ...['--config-file', join(dir, 'daemon.json')],
  ...['--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', basename(dir)],
  ...['--storage-driver', o.storageDriver, '--log-level', 'warn'],
  ...(o.bip ? ['--bip', o.bip] : []),
  ...(o.extraArgs ?? []),
];

export const daemonConfig = (dir: string) => ({ 'deprecated-key-path': join(dir, 'key.json') });

/** PF_DOCKER_TRACE=1 prints phase timings on stderr. */
export const trace = (msg: string) => {
  if (process.env.PF_DOCKER_TRACE) {
    console.error(`# docker harness ${new Date().toISOString().slice(11, 23)} ${msg}`);
  }
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const logTail = async (dir: string, lines = 15): Promise<string> => {
  const log = await readFile(join(dir, 'dockerd.log'), 'utf8').catch(() => '');
  return log.trim().split('\n').slice(-lines).join('\n');
};

/**
 * Starts dockerd and waits for /_ping; returns its PID, or throws saying why it did not start:
 * the program that is not installed (setpriv, unshare, sh, dockerd: with its package), dockerd's
 * exit code, the tail of its log (its stdout and stderr).
 */
export const launchDockerd = async (dir: string, o: DockerdOptions): Promise<number> => {
  // The log file is dockerd's own fd, not a pipe through node: dockerd never gets SIGPIPE and
  // never holds this process's event loop open.
  const log = createWriteStream(join(dir, 'dockerd.log'), { flags: 'a' });
  await once(log, 'open');
  const wrap = ['--pdeathsig', 'TERM', '--', 'unshare', '--mount', '--propagation', 'private', '--'];
  const args = [...wrap, 'sh', '-c', WRAPPER, dir, o.dockerd ?? DOCKERD, ...dockerdArgs(dir, o)];
  const p = execa('setpriv', args, {
    env: { PATH: o.path ?? DAEMON_PATH, HOME: '/root', LANG: 'C' },
    extendEnv: false,
    stdin: 'ignore',
    stdout: log,
    stderr: log,
    reject: false,
  });
  log.close();
  // A test that never calls stop() must not hang the run; pdeathsig then shuts dockerd down.
  p.unref();
  let exited = false;
  const ended = p.then((r) => {
    exited = true;
    return r;
  });
  const pid = p.pid;
  const step = `start dockerd (${o.storageDriver}) under setpriv, unshare --mount and sh`;
  const failed = async (why?: string) => {
    const r = exited ? await ended : undefined;
    const text = await readFile(join(dir, 'dockerd.log'), 'utf8').catch(() => '');
    return startFailed({
      daemon: 'dockerd',
      step,
      argv: ['setpriv', ...args],
      exitCode: r?.exitCode,
      signal: r?.signal,
      enoent: (r as { code?: string } | undefined)?.code === 'ENOENT',
      // everything it printed went to its log: the last lines tell why
      stderr: tail(text, 3),
      log: tail(text),
      why,
    });
  };
  if (pid === undefined) {
    await ended;
    throw await failed();
  }
  const socket = join(dir, 'docker.sock');
  for (const end = Date.now() + 30_000; Date.now() < end && !exited; await sleep(50)) {
    const r = await engineCall(socket, '/_ping', { unversioned: true, timeoutMs: 2_000 }).catch(
      () => undefined,
    );
    if (r?.status === 200) return pid;
  }
  if (exited) throw await failed();
  await terminate([pid], 10_000);
  throw await failed('did not answer /_ping within 30 s');
};

/**
 * Removes every container, then SIGTERMs dockerd (which stops its managed containerd), then
 * TERM/KILLs whatever of this harness is still alive (shims, containers). Works on a dead daemon.
 */
export const stopDockerd = async (dir: string, daemonPid: number | undefined): Promise<void> => {
  const socket = join(dir, 'docker.sock');
  const list = (await engine(socket, '/containers/json?all=true', { timeoutMs: 5_000 }).catch(() => [])) as {
    Id: string;
  }[];
  await Promise.all(
    list.map((c) =>
      engine(socket, `/containers/${c.Id}?force=true&v=true`, { method: 'DELETE', timeoutMs: 15_000 }).catch(
        () => undefined,
      ),
    ),
  );
  trace(`teardown: ${list.length} containers removed`);
  if (daemonPid !== undefined) await terminate([daemonPid], 15_000);
  trace('teardown: dockerd exited');
  const rest = await harnessProcesses(dir);
  if (rest.length) {
    trace(`teardown: left after dockerd: ${rest.join(' ')}`);
    await terminate(rest, 3_000);
  }
  const left = await waitExit(await harnessProcesses(dir), 2_000);
  if (left.length) throw new Error(`harness processes left: ${left.join(' ')}`);
};
