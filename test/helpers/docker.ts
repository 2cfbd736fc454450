/**
 * Real Docker containers for integration tests, from a private dockerd started inside the test
 * sandbox netns and torn down without a trace. How dockerd is isolated, and why, is in
 * ./dockerd.ts; what it changes in the sandbox netns and how that is put back, in ./netns-state.ts.
 *
 * ```ts
 * const skip = await dockerSkipReason();   // not root, not in the sandbox; a missing tool fails instead
 * let docker: DockerHarness | undefined;
 * before(async () => { if (!skip) docker = await useDocker(); });
 * after(() => docker?.stop());
 * test('attach to a container', { skip }, (t) => withSandbox(t, async (sb) => {
 *   const c = await docker!.run(sb.name('web'));   // netns: /proc/${c.pid}/ns/net; removed after the test
 *   await execa('node', ['bin/pipefitter.js', 'attach', c.name, ...], { env: { DOCKER_HOST: docker!.dockerHost } });
 * }));
 * ```
 *
 * One daemon serves the whole run: scripts/run-tests.mjs starts it (test/fixtures/docker-daemon.ts,
 * inside the sandbox, before the first test) when a test file uses Docker, passes it on in
 * PF_DOCKER_DIR, stops it after the last test and fails the run if it left anything.
 * `useDocker()` hands out that daemon; run outside run-tests (no PF_DOCKER_DIR), it starts one
 * for the file. A container run inside withSandbox is the test's: removed after it, and any
 * process in its namespace that is not the container's is something the test left.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxRootfsTar, BUSYBOX, IMAGE, isStaticElf } from './busybox-image.js';
import { harnessProcesses, terminate, waitExit } from './daemon-leftovers.js';
import type { ContainerInspect } from './docker-engine.js';
import { engine, engineCall, importImage } from './docker-engine.js';
import type { StorageDriver } from './dockerd.js';
import {
  DAEMON_PATH,
  DAEMON_TOOLS,
  DOCKERD,
  daemonConfig,
  launchDockerd,
  logTail,
  stopDockerd,
  trace,
} from './dockerd.js';
import type { NetnsState } from './netns-state.js';
import { captureNetnsState, restoreNetnsState } from './netns-state.js';
import { missingTools, toolPath } from './tools.js';
import { removeCgroups, unmountChecked } from './owned-env.js';
import { activeSandbox } from './sandbox.js';

export type { ContainerInspect } from './docker-engine.js';
export type { StorageDriver } from './dockerd.js';
export { harnessProcesses } from './daemon-leftovers.js';
export { IMAGE } from './busybox-image.js';

/** Idles until stopped and exits at once on SIGTERM (a PID 1 `sleep` ignores it: a 10 s stop). */
const IDLE = ['sh', '-c', 'trap "exit 0" TERM INT; sleep 3600 & wait'];
const TOOLS = [...DAEMON_TOOLS, 'ip', 'iptables-save', 'iptables-restore', 'tar'];
const HARNESS_DIRS = '/tmp';
const PREFIX = 'pf-docker-';

export interface RunOptions {
  /** 'bridge' (default): eth0 on docker0 with a default route; 'none': only lo. */
  readonly network?: 'bridge' | 'none';
  /** Instead of an idle shell that exits on SIGTERM. */
  readonly cmd?: readonly string[];
  /** Docker's restart policy; 'always' brings it back when its dockerd starts again. */
  readonly restart?: 'no' | 'always';
}

export interface RunningContainer {
  readonly id: string;
  readonly name: string;
  /** Host PID of the container's init; its netns is /proc/PID/ns/net. */
  readonly pid: number;
}

export interface DockerHarness {
  /** `/tmp/pf-docker-<rand>`: everything of this daemon lives here. */
  readonly dir: string;
  /** Absolute path of the API unix socket. */
  readonly socket: string;
  /** `unix://…`, for DOCKER_HOST. */
  readonly dockerHost: string;
  /** The imported busybox image, `pf-busybox:test`. */
  readonly image: string;
  readonly storageDriver: StorageDriver;
  /** Detached container; resolves once State.Running with a Pid. */
  run(name: string, opts?: RunOptions): Promise<RunningContainer>;
  /** `docker start` of a stopped container (a new PID and netns, as after a restart). */
  start(name: string): Promise<RunningContainer>;
  /** `docker stop`: the container stays, State.Running becomes false. Stopped already is fine. */
  stopContainer(name: string): Promise<void>;
  /** `docker rm -f`. Gone already is fine. */
  remove(name: string): Promise<void>;
  /** GET /containers/NAME/json. */
  inspect(name: string): Promise<ContainerInspect>;
  /**
   * Removes the containers, stops dockerd, containerd and shims, checks nothing is mounted under
   * `dir`, deletes every link made in this netns since start (docker0, veths) and writes back
   * sysctls and iptables, removes the cgroups and `dir`. Safe to call twice.
   */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Default: overlay2, falling back to vfs if dockerd refuses it. */
  readonly storageDriver?: StorageDriver;
  /** `--bip` for docker0; by default dockerd picks (172.17.0.1/16 in an empty sandbox). */
  readonly bip?: string;
  /** More dockerd options, e.g. privateDaemonArgs() for a second daemon beside the run's. */
  readonly extraArgs?: readonly string[];
}

/**
 * For a second dockerd in the same sandbox as the run's: its default network on `bridge` (made
 * by the caller, with an IPv4 address; `--bridge none` would delete the run's docker0), no
 * iptables chains, no forwarding or masquerade, so it changes nothing the run's daemon owns.
 */
export const privateDaemonArgs = (bridge: string): string[] => [
  '--bridge',
  bridge,
  '--iptables=false',
  '--ip-forward=false',
  '--ip-masq=false',
];

/** A harness whose daemon the test may stop and start again (same dirs, same containers). */
export interface PrivateDockerHarness extends DockerHarness {
  /** SIGTERM to dockerd, then waits until it and its containerd and shims have exited. */
  stopDaemon(): Promise<void>;
  /** Starts dockerd again on the same dirs and waits for /_ping. */
  startDaemon(): Promise<void>;
}

const sameFile = async (a: string, b: string): Promise<boolean> => {
  const [x, y] = await Promise.all([stat(a), stat(b)]);
  return x.dev === y.dev && x.ino === y.ino;
};

/** dockerd must never start in the machine's netns: only inside the run-tests sandbox. */
const sandboxProblem = async (): Promise<string | undefined> => {
  const name = process.env.PF_SANDBOX;
  if (!name) return 'PF_SANDBOX is unset: run through scripts/run-tests.mjs';
  try {
    if (!(await sameFile('/proc/self/ns/net', `/run/netns/${name}`))) return `not inside netns ${name}`;
  } catch (e) {
    return `cannot check the netns: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
};

/**
 * Why Docker tests cannot run here: not root, or not in the test sandbox (a skip, as for every
 * integration test run outside scripts/run-tests.mjs). Undefined when they can.
 */
export const dockerSkipReason = async (): Promise<string | undefined> => {
  if (process.getuid?.() !== 0) return 'needs root (uid 0)';
  return sandboxProblem();
};

/**
 * What of dockerd, its helpers (on its own PATH) and a static busybox is missing, each with its
 * package from the tool table; empty when nothing is. A missing tool fails a test, never skips it.
 */
export const dockerToolsMissing = async (): Promise<string[]> => {
  const problems = await missingTools([DOCKERD, BUSYBOX, ...TOOLS]);
  for (const t of TOOLS)
    if (!problems.some((p) => p.startsWith(`${t} `)) && !(await toolPath(t, DAEMON_PATH)))
      problems.push(`${t} is not on dockerd's PATH ${DAEMON_PATH}`);
  if (problems.length === 0 && !(await isStaticElf(BUSYBOX)))
    problems.push(`${BUSYBOX} is not statically linked: apt-get install busybox-static`);
  return problems;
};

interface Live {
  readonly dir: string;
  readonly before: NetnsState;
  daemonPid: number | undefined;
  stopped: boolean;
}

export const startDocker = async (o: StartOptions = {}): Promise<PrivateDockerHarness> => {
  trace('start: begin');
  const refused = await dockerSkipReason();
  if (refused) throw new Error(`docker harness: ${refused}`);
  const missing = await dockerToolsMissing();
  if (missing.length) throw new Error(`docker harness: ${missing.join('\n')}`);
  const before = await captureNetnsState();
  const live: Live = {
    dir: await mkdtemp(join(HARNESS_DIRS, PREFIX)),
    before,
    daemonPid: undefined,
    stopped: false,
  };
  const { dir } = live;
  const socket = join(dir, 'docker.sock');
  let storageDriver: StorageDriver = o.storageDriver ?? 'overlay2';
  try {
    await Promise.all(['data', 'exec', 'run', 'opt'].map((d) => mkdir(join(dir, d), { mode: 0o700 })));
    await writeFile(join(dir, 'daemon.json'), JSON.stringify(daemonConfig(dir)));
    try {
      live.daemonPid = await launchDockerd(dir, { storageDriver, bip: o.bip, extraArgs: o.extraArgs });
    } catch (e) {
      if (o.storageDriver) throw e;
      trace(`start: overlay2 refused, trying vfs: ${e instanceof Error ? e.message : String(e)}`);
      await stopDockerd(dir, undefined);
      await rm(join(dir, 'data'), { recursive: true, force: true });
      await mkdir(join(dir, 'data'), { mode: 0o700 });
      storageDriver = 'vfs';
      live.daemonPid = await launchDockerd(dir, { storageDriver, bip: o.bip, extraArgs: o.extraArgs });
    }
    trace(`start: dockerd answers /_ping (${storageDriver})`);
    const [repo = '', tag = ''] = IMAGE.split(':');
    await importImage(socket, await busyboxRootfsTar(join(dir, 'rootfs')), repo, tag);
    trace(`start: ${IMAGE} imported`);
  } catch (e) {
    await teardown(live).catch((t: unknown) =>
      console.error(`# docker harness: teardown after failed start: ${String(t)}`),
    );
    throw e;
  }

  return {
    ...handleFor(dir, storageDriver, () => teardown(live)),
    async stopDaemon() {
      if (live.daemonPid !== undefined) await terminate([live.daemonPid], 30_000);
      live.daemonPid = undefined;
      const rest = await waitExit(await harnessProcesses(dir), 10_000);
      if (rest.length) throw new Error(`dockerd stopped, still running: ${rest.join(' ')}`);
    },
    async startDaemon() {
      if (live.daemonPid !== undefined) throw new Error('dockerd runs already');
      live.daemonPid = await launchDockerd(dir, { storageDriver, bip: o.bip, extraArgs: o.extraArgs });
    },
  };
};

/**
 * Has the container's first process become its command? Right after start, runc's init may
 * still be there under its own name ("runc:[2:INIT]", or "exe" for runc's re-executed copy of
 * itself); a snapshot taken then saw "process removed: exe, added: sleep" in the next one.
 */
const execd = async (pid: number): Promise<boolean> => {
  const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
  return comm !== '' && comm !== 'exe' && !comm.startsWith('runc');
};

/** A harness handle on the daemon in `dir`; `stop` is what stopping it means for this handle. */
const handleFor = (dir: string, storageDriver: StorageDriver, stop: () => Promise<void>): DockerHarness => {
  const socket = join(dir, 'docker.sock');
  const path = (name: string) => `/containers/${encodeURIComponent(name)}`;
  const inspect = async (name: string) => (await engine(socket, `${path(name)}/json`)) as ContainerInspect;
  const remove = async (name: string) => {
    await engine(socket, `${path(name)}?force=true&v=true`, { method: 'DELETE', alsoOk: [404] });
  };
  const start = async (ref: string, name: string): Promise<RunningContainer> => {
    await engine(socket, `${path(ref)}/start`, { method: 'POST', alsoOk: [304] });
    // start answers once the task runs, so this normally reads Running on its first pass.
    for (const end = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 20))) {
      const s = await inspect(ref);
      if (s.State.Running && s.State.Pid > 0 && (await execd(s.State.Pid))) {
        // the test's: processes in its namespace other than its own are left behind by the test
        activeSandbox()?.ownSpace(`/proc/${s.State.Pid}/ns/net`, `docker:${name}`, s.State.Pid);
        return { id: s.Id, name: s.Name.replace(/^\//, ''), pid: s.State.Pid };
      }
      if (Date.now() > end || (!s.State.Running && s.State.Status !== 'created')) {
        throw new Error(`container ${name} did not start: ${s.State.Status}, exit ${s.State.ExitCode}`);
      }
    }
  };
  return {
    dir,
    socket,
    dockerHost: `unix://${socket}`,
    image: IMAGE,
    storageDriver,
    inspect,
    async run(name, opts = {}) {
      const created = (await engine(socket, `/containers/create?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        body: {
          Image: IMAGE,
          Cmd: opts.cmd ?? IDLE,
          Labels: { 'pipefitter.test.harness': dir },
          HostConfig: {
            NetworkMode: opts.network ?? 'bridge',
            ...(opts.restart ? { RestartPolicy: { Name: opts.restart } } : {}),
          },
        },
      })) as { Id: string };
      // removed after the test that ran it, before its leftovers are looked for
      activeSandbox()?.defer(() => remove(created.Id));
      return start(created.Id, name);
    },
    start: (name) => start(name, name),
    async stopContainer(name) {
      await engine(socket, `${path(name)}/stop?t=5`, { method: 'POST', alsoOk: [304] });
    },
    remove,
    stop,
  };
};

/**
 * The run's Docker daemon (PF_DOCKER_DIR, started by scripts/run-tests.mjs), or, without one, a
 * daemon of this file's own. stop() of the shared one removes the containers this handle ran
 * and leaves the daemon to the run; of an own one, it stops it.
 */
export const useDocker = async (o: StartOptions = {}): Promise<DockerHarness> => {
  const dir = process.env.PF_DOCKER_DIR;
  if (!dir) return startDocker(o);
  const refused = await dockerSkipReason();
  if (refused) throw new Error(`docker harness: ${refused}`);
  const storage = (process.env.PF_DOCKER_STORAGE ?? 'overlay2') as StorageDriver;
  const socket = join(dir, 'docker.sock');
  const r = await engineCall(socket, '/_ping', { unversioned: true, timeoutMs: 5_000 }).catch(
    (e: unknown) => e,
  );
  if (!(r && typeof r === 'object' && 'status' in r && r.status === 200))
    throw new Error(`docker harness: the run's daemon in ${dir} does not answer /_ping: ${String(r)}`);
  const made: string[] = [];
  const h = handleFor(dir, storage, async () => {
    for (const id of made.splice(0)) await h.remove(id);
  });
  return {
    ...h,
    async run(name, opts) {
      const c = await h.run(name, opts);
      made.push(c.id);
      return c;
    },
  };
};

const teardown = async (live: Live): Promise<void> => {
  if (live.stopped) return;
  live.stopped = true;
  const errors: string[] = [];
  const attempt = async (what: string, f: () => Promise<void>) => {
    const t0 = performance.now();
    await f().catch((e: unknown) => errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`));
    trace(`teardown: ${what} ${(performance.now() - t0).toFixed(0)} ms`);
  };
  const log = await logTail(live.dir);
  await attempt('stop daemon', async () => {
    await stopDockerd(live.dir, live.daemonPid);
    live.daemonPid = undefined;
  });
  // overlay and netns mounts live in dockerd's private mount ns: any here would be a bug
  await attempt('unmount', () => unmountChecked(live.dir));
  await attempt('restore netns', () => restoreNetnsState(live.before));
  await attempt('remove cgroups', () => removeCgroups(live.dir));
  // Never rm through a mount: only when every check above passed.
  if (errors.length === 0) await attempt('remove dir', () => rm(live.dir, { recursive: true, force: true }));
  if (errors.length) {
    throw new Error(
      `docker harness teardown incomplete (${live.dir}):\n${errors.join('\n')}\n--- dockerd.log:\n${log}`,
    );
  }
};

/**
 * Cleans up after harnesses whose test process died without stop() (pdeathsig already stopped
 * their dockerd, but containerd-shims, cgroups and the directory remain). Returns the dirs it
 * swept, so a leak test can fail on them. It cannot restore that process's sandbox netns; that
 * sandbox is deleted by run-tests anyway. Leaves alone any harness whose dockerd still runs.
 */
export const sweepStaleHarnesses = async (): Promise<string[]> => {
  const swept: string[] = [];
  for (const e of await readdir(HARNESS_DIRS)) {
    if (!e.startsWith(PREFIX)) continue;
    const dir = join(HARNESS_DIRS, e);
    const pid = Number((await readFile(join(dir, 'docker.pid'), 'utf8').catch(() => '')).trim());
    const cmd = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    if (cmd.includes(dir)) continue; // its dockerd is alive: someone's running harness
    const age = Date.now() - (await stat(dir)).mtimeMs;
    if (pid === 0 && age < 60_000) continue; // no pidfile yet: maybe starting right now
    await terminate(await harnessProcesses(dir), 3_000);
    await unmountChecked(dir);
    await removeCgroups(dir);
    await rm(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
};
