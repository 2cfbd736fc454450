/**
 * Turn a target spec into a namespace handle, and check again right before acting that it
 * still is the same namespace (a restarted container has a new one; a reused PID too).
 */
import { statSync } from 'node:fs';
import { refuse } from '../errors.js';
import { NETNS_RUN_DIR, netnsPath } from '../model/netns.js';
import type { ResolvedTarget, TargetSpec } from '../model/target.js';
import { targetSpecText } from '../model/target.js';
import type { Runner } from '../exec/runner.js';
import { HOST } from '../model/netns.js';
import type { DockerEndpoint } from './docker.js';
import { inspectContainer } from './docker.js';
import { initNsIdentity, nsFacts, nsFileProblem, nsIdentity, ownNsIdentity } from './nsfile.js';
import { missingToolHint } from '../tools.js';

export interface ResolveOptions {
  readonly runner: Runner;
  readonly docker?: DockerEndpoint | undefined;
  /**
   * Accept a target in the machine's initial network namespace (that of PID 1), which
   * pipefitter, run inside another namespace, refuses otherwise. @default false
   */
  readonly allowHostNamespace?: boolean | undefined;
}

const notFound = (label: string, problem: string, hint: string): Error =>
  refuse('E_TARGET_NOT_FOUND', label, problem, hint);

/** A namespace file that cannot be used: permission denied, gone, or not a namespace. */
const unusable = (label: string, path: string, gone: string, hint: string): Error =>
  nsFileProblem(path) === 'perm'
    ? refuse(
        'E_NOT_ROOT',
        label,
        `permission denied reading ${path}`,
        'run pipefitter as root; a process holding capabilities that pipefitter lacks cannot be entered',
      )
    : notFound(label, gone, hint);

const withIdentity = async (
  t: Omit<ResolvedTarget, 'nsIdentity' | 'nsInstance'>,
  opts: ResolveOptions,
): Promise<ResolvedTarget> => {
  const path = netnsPath(t.netns) ?? '';
  const facts = nsFacts(path);
  const [id, instance] = [facts?.id, facts?.instance];
  if (id === undefined)
    throw unusable(
      t.label,
      path,
      `${path} is not a network namespace`,
      'check that the container or namespace is still there',
    );
  if (id === (await ownNsIdentity()))
    throw refuse(
      'E_CONFLICT',
      t.label,
      "shares pipefitter's own network namespace (the host's)",
      'name a container with its own network namespace; for the host itself use ip directly',
    );
  if (id === initNsIdentity() && !opts.allowHostNamespace)
    throw refuse(
      'E_CONFLICT',
      t.label,
      "is in the machine's initial network namespace (that of PID 1), not a container's; nothing was changed",
      'name a container with its own network namespace; to configure the host itself from here, pass --allow-host-namespace',
    );
  const netns =
    t.netns.kind === 'host' || instance === undefined ? t.netns : { ...t.netns, identity: instance };
  return { ...t, netns, nsIdentity: id, nsInstance: instance };
};

/** The inode of a mount namespace file, or undefined (no such process). */
const mntIno = (path: string): number | undefined => {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
};
let ownMnt: number | undefined;

const fromPid = async (
  spec: TargetSpec,
  pid: number,
  label: string,
  id: string,
  opts: ResolveOptions,
): Promise<ResolvedTarget> => {
  const mine = (ownMnt ??= mntIno('/proc/self/ns/mnt'));
  const theirs = mntIno(`/proc/${pid}/ns/mnt`);
  const ownMounts = mine !== undefined && theirs !== undefined && mine !== theirs;
  return withIdentity({ spec, id, label, netns: { kind: 'pid', pid }, pid, ownMounts }, opts);
};

const fromDocker = async (
  spec: TargetSpec,
  ref: string,
  required: boolean,
  opts: ResolveOptions,
): Promise<ResolvedTarget | undefined> => {
  const c = await inspectContainer(ref, { required, endpoint: opts.docker });
  return fromDockerContainer(spec, ref, c, required, opts);
};

/**
 * A container as an inspect described it: its namespace through its PID. `pipefitter watch`
 * resolves from the inspect that told it the container runs again, without asking twice.
 */
export const fromDockerContainer = async (
  spec: TargetSpec,
  ref: string,
  c: Awaited<ReturnType<typeof inspectContainer>>,
  required: boolean,
  opts: ResolveOptions,
): Promise<ResolvedTarget | undefined> => {
  const label = `docker:${ref}`;
  if (c === 'unreachable' || c === undefined) {
    if (!required) return undefined;
    throw notFound(label, 'no such container', 'list containers with `docker ps`');
  }
  if (c === 'ambiguous')
    throw refuse(
      'E_TARGET_AMBIGUOUS',
      label,
      'matches more than one container',
      'give more characters of the ID, or the full name',
    );
  if (!c.running)
    throw refuse(
      'E_TARGET_STOPPED',
      label,
      'container is not running',
      `start it first (docker start ${c.name})`,
    );
  if (c.pid <= 0)
    throw refuse(
      'E_TARGET_STOPPED',
      label,
      'container is still starting (PID 0)',
      'retry in a moment, or wait for it to be running',
    );
  return fromPid(spec, c.pid, `docker:${c.name}`, `docker:${c.id}`, opts);
};

const fromNetnsName = (spec: TargetSpec, name: string, opts: ResolveOptions): Promise<ResolvedTarget> =>
  withIdentity({ spec, id: `netns:${name}`, label: `netns:${name}`, netns: { kind: 'name', name } }, opts);

const fromPodman = async (spec: TargetSpec, ref: string, opts: ResolveOptions): Promise<ResolvedTarget> => {
  const label = `podman:${ref}`;
  const r = await opts.runner.run(
    [
      'podman',
      'container',
      'inspect',
      '--format',
      '{{.Id}} {{.State.Running}} {{.State.Pid}} {{.Name}}',
      ref,
    ],
    { netns: HOST },
  );
  if (r.failed) {
    if (r.reason === 'tool-missing')
      throw refuse(
        'E_TOOL_MISSING',
        label,
        `${(r.missing ?? ['podman']).join(' or ')} is not installed`,
        `${missingToolHint(r.missing ?? ['podman'])}; or name the target by pid:N`,
      );
    throw notFound(label, 'no such container', 'list containers with `podman ps`');
  }
  const [id = ref, running, pid, name = ref] = r.stdout.trim().split(' ');
  if (running !== 'true')
    throw refuse(
      'E_TARGET_STOPPED',
      label,
      'container is not running',
      `start it first (podman start ${name})`,
    );
  if (!pid || Number(pid) <= 0)
    throw refuse('E_TARGET_STOPPED', label, 'container is still starting (PID 0)', 'retry in a moment');
  return fromPid(spec, Number(pid), `podman:${name}`, `podman:${id}`, opts);
};

/**
 * Resolve a target spec to its network namespace.
 * @example await resolveTarget({ kind: 'netns', name: 'r1' }, { runner })
 */
export const resolveTarget = async (spec: TargetSpec, opts: ResolveOptions): Promise<ResolvedTarget> => {
  switch (spec.kind) {
    case 'pid': {
      const label = `pid:${spec.pid}`;
      const path = `/proc/${spec.pid}/ns/net`;
      if ((await nsIdentity(path)) === undefined)
        throw unusable(
          label,
          path,
          'no such process',
          'give the PID of a running process inside the container',
        );
      return fromPid(spec, spec.pid, label, label, opts);
    }
    case 'netns': {
      if ((await nsIdentity(`${NETNS_RUN_DIR}/${spec.name}`)) === undefined)
        throw notFound(
          `netns:${spec.name}`,
          `no such namespace in ${NETNS_RUN_DIR}`,
          'list them with `ip netns list`',
        );
      return fromNetnsName(spec, spec.name, opts);
    }
    case 'path': {
      // Another spelling of a pid or a named namespace is that target: the same id (tags,
      // generated names, DHCP state), whichever way it is written.
      const proc = /^\/proc\/([1-9]\d{0,9})\/ns\/net$/.exec(spec.path);
      if (proc) {
        const pid = Number(proc[1]);
        if ((await nsIdentity(spec.path)) === undefined)
          throw unusable(
            spec.path,
            spec.path,
            'no such process',
            'give the namespace file of a running process',
          );
        return fromPid(spec, pid, spec.path, `pid:${pid}`, opts);
      }
      const named = /^(?:\/var)?\/run\/netns\/([A-Za-z0-9_.-]{1,255})$/.exec(spec.path);
      if (named && named[1] !== '.' && named[1] !== '..' && (await nsIdentity(spec.path)) !== undefined)
        return { ...(await fromNetnsName(spec, named[1]!, opts)), label: spec.path };
      if ((await nsIdentity(spec.path)) === undefined)
        throw unusable(
          spec.path,
          spec.path,
          'not a network namespace file',
          'give /proc/PID/ns/net or a bind-mounted namespace such as /run/netns/NAME',
        );
      return withIdentity(
        { spec, id: `path:${spec.path}`, label: spec.path, netns: { kind: 'path', path: spec.path } },
        opts,
      );
    }
    case 'docker':
      return (await fromDocker(spec, spec.ref, true, opts)) as ResolvedTarget;
    case 'podman':
      return fromPodman(spec, spec.ref, opts);
    case 'bare': {
      const [docker, netnsId] = await Promise.all([
        fromDocker(spec, spec.name, false, opts).catch((e: unknown) => e),
        nsIdentity(`${NETNS_RUN_DIR}/${spec.name}`),
      ]);
      if (docker instanceof Error && netnsId === undefined) throw docker;
      const isDocker = docker !== undefined && !(docker instanceof Error);
      const dockerRefused = docker instanceof Error;
      if ((isDocker || dockerRefused) && netnsId !== undefined)
        throw refuse(
          'E_TARGET_AMBIGUOUS',
          spec.name,
          'is both a Docker container and a named network namespace',
          `say which: docker:${spec.name} or netns:${spec.name}`,
        );
      if (isDocker) return docker as ResolvedTarget;
      if (netnsId !== undefined) return fromNetnsName(spec, spec.name, opts);
      throw notFound(
        spec.name,
        'no running Docker container and no network namespace of that name',
        'check `docker ps` and `ip netns list`, or write pid:N',
      );
    }
  }
};

/**
 * Right before the first mutation: is every target still the namespace that was observed?
 * (A rejected promise when not: the check itself is synchronous, one stat.)
 */
export const recheckTarget = (t: ResolvedTarget): Promise<void> =>
  new Promise((resolve) => {
    checkTargetNow(t);
    resolve();
  });

const checkTargetNow = (t: ResolvedTarget): void => {
  const path = netnsPath(t.netns) ?? '';
  const facts = nsFacts(path);
  const [now, instance] = [facts?.id, facts?.instance];
  if (now === undefined)
    throw refuse(
      'E_TARGET_STOPPED',
      t.label,
      'went away before anything was changed (stopped, or restarted: its process is gone)',
      'check that it runs, and retry',
    );
  if (
    (t.nsIdentity !== undefined && now !== t.nsIdentity) ||
    (t.nsInstance !== undefined && instance !== t.nsInstance)
  )
    throw refuse(
      'E_TARGET_CHANGED',
      t.label,
      'now has another network namespace (restarted?); nothing was changed',
      'retry',
    );
};

export { targetSpecText };
