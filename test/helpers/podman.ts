/**
 * Real Podman containers for integration tests, in a throwaway Podman environment of the test's
 * own: Podman has no daemon, so an environment is a directory `/tmp/pf-<run id>-podman-<rand>`
 * holding its storage (`--root`, `--runroot`, a storage.conf), its containers.conf (CNI backend
 * with its config and plugin dirs in there, the events log in there, cgroupfs) and a busybox
 * rootfs the containers run from (`podman run --rootfs DIR`: no image, no registry).
 *
 * Podman runs inside the sandbox namespace (`nsenter --net=/run/netns/SANDBOX podman …`), each
 * container with `--network none` (a namespace with only lo) and this machine's rlimits (it caps
 * them below Podman's defaults). pipefitter finds the same containers through `env`
 * (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF): pass it to the CLI.
 *
 * ```ts
 * test('attach to a podman container', (t) => withSandbox(t, async (sb) => {
 *   const p = await startPodman(sb);          // removed after the test, with its containers
 *   const c = await p.run(sb.name('web'));    // netns: /proc/${c.pid}/ns/net
 *   await cli(['attach', `podman:${c.name}`, ...], p.env);
 * }));
 * ```
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { BUSYBOX, busyboxRootfs, isStaticElf } from './busybox-image.js';
import { cli } from './cli.js';
import { REFERENCE } from './cni.js';
import { harnessProcesses } from './daemon-leftovers.js';
import { makeOwnedDir, ownCgroup, removeOwnedDir, sweepStaleOwned } from './owned-env.js';
import type { Sandbox } from './sandbox.js';
import { needTools } from './tools.js';

/** Idles until stopped and exits at once on SIGTERM (a PID 1 `sleep` ignores it: a 10 s stop). */
const IDLE = ['sh', '-c', 'trap "exit 0" TERM INT; sleep 3600 & wait'];

export interface PodmanContainer {
  /** The full ID, as pipefitter records `podman:` targets. */
  readonly id: string;
  readonly name: string;
  /** Host PID of the container's first process; its netns is /proc/PID/ns/net. */
  readonly pid: number;
}

export interface PodmanState {
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  readonly pid: number;
}

export interface PodmanRunOptions {
  /** `--network NAME`: a conflist in `DIR/cni/net.d` (plugins in `DIR/cni/bin`); default `none`. */
  readonly network?: string;
  /** `-p HOSTPORT:PORT` each (the network's conflist needs portmap to publish them). */
  readonly publish?: readonly string[];
  /** The container's command instead of an idle shell. */
  readonly command?: readonly string[];
}

/** A network configuration list (SPEC.md section 3). */
export interface CniConfList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly Record<string, unknown>[];
}

export interface PodmanHarness {
  /** Everything of this environment lives here. */
  readonly dir: string;
  /** CONTAINERS_CONF and CONTAINERS_STORAGE_CONF: give them to every podman and pipefitter run. */
  readonly env: Readonly<Record<string, string>>;
  /** `podman ARGS` in the sandbox namespace, with this environment; rejects on failure. */
  podman(args: readonly string[]): Promise<string>;
  /**
   * `podman run -d` of an idle busybox shell; resolves once it runs with its command.
   * `opts.network`: a network of this environment's network_config_dir (default `none`).
   */
  run(name: string, opts?: PodmanRunOptions): Promise<PodmanContainer>;
  /**
   * A CNI network of this environment, for `run(name, { network: list.name })`: pipefitter
   * installed into its plugin directory (`pipefitter cni install`: the launcher keeps this
   * process's PIPEFITTER_STATE_DIR, PIPEFITTER_BACKEND and PIPEFITTER_CNI_LOG), links there to the
   * `reference` plugins (host-local, loopback, …), and `list` as its conflist.
   */
  cniNetwork(list: CniConfList, reference: readonly string[]): Promise<void>;
  inspect(name: string): Promise<PodmanState>;
  /** `podman restart`: a new process, a new netns. */
  restart(name: string): Promise<PodmanContainer>;
  /** `podman stop`: the container stays, not running. */
  stop(name: string): Promise<void>;
  /** `podman start` of a stopped container. */
  start(name: string): Promise<PodmanContainer>;
  /** `podman rm -f`. Gone already is fine. */
  remove(name: string): Promise<void>;
  /**
   * Removes every container, ends what is left of this environment's processes (conmon, a
   * `podman events` of a watch killed with SIGKILL), unmounts, removes its cgroups and `dir`.
   * Safe to call twice; withSandbox calls it after the test.
   */
  cleanup(): Promise<void>;
}

/** Has the container's first process become its command (not runc's init any more)? */
const execd = async (pid: number): Promise<boolean> => {
  const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
  return comm !== '' && comm !== 'exe' && !comm.startsWith('runc');
};

/** Processes of this environment: naming `dir`, in its cgroup, or with its CONTAINERS_CONF. */
const processesOf = async (dir: string): Promise<number[]> => {
  const pids = new Set(await harnessProcesses(dir));
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const env = await readFile(`/proc/${e}/environ`, 'utf8').catch(() => '');
    if (env.split('\0').includes(`CONTAINERS_CONF=${join(dir, 'containers.conf')}`)) pids.add(Number(e));
  }
  return [...pids].sort((a, b) => a - b);
};

const toml = (s: string): string => JSON.stringify(s);

/** Ends its processes, unmounts, removes its cgroups and, when all that worked, the directory. */
const removeEnvironment = (dir: string, errors: string[]): Promise<void> =>
  removeOwnedDir(dir, processesOf, errors);

/**
 * Removes the Podman environments (of any run) whose owning test process is dead: it was killed
 * mid-test, so its cleanup never ran and conmon, the containers, their mounts and cgroups and
 * the directory stayed. Returns the directories it swept, so a leak test can fail on them.
 * Leaves alone every environment whose owner still runs (the same PID with the same start time),
 * and one without an owner file that is younger than a minute or has processes (whose they are
 * cannot be told).
 */
export const sweepStalePodman = (): Promise<string[]> =>
  sweepStaleOwned('podman', { processes: processesOf, remove: removeEnvironment });

export const startPodman = async (sb: Sandbox): Promise<PodmanHarness> => {
  await needTools('podman', 'runc', 'nsenter', BUSYBOX);
  if (!(await isStaticElf(BUSYBOX)))
    throw new Error(`${BUSYBOX} is not statically linked: apt-get install busybox-static`);
  const sandbox = process.env.PF_SANDBOX;
  if (!sandbox) throw new Error('podman harness: PF_SANDBOX is unset: run through scripts/run-tests.mjs');
  const dir = await makeOwnedDir('podman');
  const cgroup = join(await ownCgroup(), basename(dir));
  let cleaned = false;
  const names = new Set<string>();
  const env = {
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
  };
  const podman = async (args: readonly string[]): Promise<string> => {
    const r = await execa(
      'nsenter',
      [
        `--net=/run/netns/${sandbox}`,
        '--',
        'podman',
        '--root',
        join(dir, 'root'),
        '--runroot',
        join(dir, 'run'),
        ...args,
      ],
      { env, reject: false },
    );
    if (r.exitCode !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.exitCode}: ${r.stderr}`);
    return r.stdout;
  };
  const inspect = async (name: string): Promise<PodmanState> => {
    const out = await podman([
      'container',
      'inspect',
      '--format',
      '{{.Id}} {{.State.Running}} {{.State.Pid}} {{.Name}}',
      name,
    ]);
    const [id = '', running, pid, n = ''] = out.trim().split(' ');
    return { id, name: n, running: running === 'true', pid: Number(pid) };
  };
  /** Waits until it runs its command, and makes its namespace the test's. */
  const running = async (name: string): Promise<PodmanContainer> => {
    for (const end = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 20))) {
      const s = await inspect(name);
      if (s.running && s.pid > 0 && (await execd(s.pid))) {
        sb.ownSpace(`/proc/${s.pid}/ns/net`, `podman:${name}`, s.pid);
        return { id: s.id, name: s.name, pid: s.pid };
      }
      if (Date.now() > end) throw new Error(`podman container ${name} did not start: ${JSON.stringify(s)}`);
    }
  };
  const remove = async (name: string): Promise<void> => {
    await podman(['rm', '-f', '-t', '0', '--ignore', name]);
  };
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    // swept already (sweepStalePodman): a podman run now would make its storage again
    if (!(await stat(dir).catch(() => undefined))) return;
    const errors: string[] = [];
    await podman(['rm', '-a', '-f', '-t', '0']).catch((e: unknown) =>
      errors.push(`remove containers: ${e instanceof Error ? e.message : String(e)}`),
    );
    await removeEnvironment(dir, errors);
    if (errors.length) throw new Error(`podman harness cleanup incomplete (${dir}):\n${errors.join('\n')}`);
  };
  sb.defer(cleanup);

  for (const d of ['root', 'run', 'tmp', 'cni/net.d', 'cni/bin'])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(
    env.CONTAINERS_CONF,
    [
      '[containers]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${toml(join(dir, 'events.log'))}`,
      `tmp_dir = ${toml(join(dir, 'tmp'))}`,
      `volume_path = ${toml(join(dir, 'root/volumes'))}`,
      'runtime = "runc"',
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = [${toml(join(dir, 'cni/bin'))}]`,
      `network_config_dir = ${toml(join(dir, 'cni/net.d'))}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    env.CONTAINERS_STORAGE_CONF,
    [
      '[storage]',
      'driver = "vfs"',
      `graphroot = ${toml(join(dir, 'root'))}`,
      `runroot = ${toml(join(dir, 'run'))}`,
      '',
    ].join('\n'),
  );
  await busyboxRootfs(join(dir, 'rootfs'));

  return {
    dir,
    env,
    podman,
    inspect,
    async run(name, opts = {}) {
      names.add(name);
      await podman([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        opts.network ?? 'none',
        ...(opts.publish ?? []).flatMap((p) => ['-p', p]),
        '--cgroup-parent',
        cgroup,
        '--ulimit',
        'nofile=1024:1024',
        '--ulimit',
        'nproc=1024:1024',
        // --rootfs takes the first argument as the rootfs: every option comes before it
        '--rootfs',
        join(dir, 'rootfs'),
        ...(opts.command ?? IDLE),
      ]);
      return running(name);
    },
    async restart(name) {
      await podman(['restart', '-t', '1', name]);
      return running(name);
    },
    async stop(name) {
      await podman(['stop', '-t', '1', name]);
    },
    async start(name) {
      await podman(['start', name]);
      return running(name);
    },
    async cniNetwork(list, reference) {
      const bin = join(dir, 'cni/bin');
      const installed = await cli(['cni', 'install', '--bin-dir', bin]);
      assert.equal(installed.code, 0, installed.stderr);
      for (const plugin of reference) await symlink(join(REFERENCE, plugin), join(bin, plugin));
      await writeFile(join(dir, 'cni/net.d', `${list.name}.conflist`), JSON.stringify(list));
    },
    remove,
    cleanup,
  };
};
