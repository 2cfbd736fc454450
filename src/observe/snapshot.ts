/**
 * Observe each namespace once: one `ip -d -j -batch -` process reads links with their
 * addresses, the routing table, forwarding and the neighbour cache together.
 */
import type { FailureReason } from '../errors.js';
import { PipefitterError } from '../errors.js';
import { missingToolHint } from '../tools.js';
import type { NetnsRef } from '../model/netns.js';
import { netnsKey } from '../model/netns.js';
import type { FirewallState, NetnsState, ObservedState } from '../model/observed.js';
import type { Runner } from '../exec/runner.js';
import { decodeForwarding, decodeLinks, decodeNeighbours, decodeRoutes } from './ip-json.js';
import { observeFirewall } from './firewall.js';
import { observeOvs } from './ovs.js';
import { readParentRecords } from '../state/parents.js';
import { NetlinkError } from '../netlink/errno.js';
import { TargetChanged } from '../netlink/ns-identity.js';
import { observeNetnsNetlink } from './netlink.js';
import type { NetlinkSession } from '../netlink/session.js';

const QUERIES = 'addr show\nroute show table all\nnetconf show\nneigh show\n';

/**
 * Why a namespace could not be read, said as it is: permission (exit 2), the target gone or
 * made anew (exit 2), a tool missing (exit 2), or another failure with its own reason (exit 1).
 * Nothing was changed in any case: observing comes before the first change.
 * @example observeFailure('pid:42', { reason: 'perm', detail: 'EACCES' }).code // 'E_NOT_ROOT'
 */
export const observeFailure = (
  where: string,
  f: { readonly reason: FailureReason; readonly detail: string; readonly missing?: readonly string[] },
): PipefitterError => {
  const cannot = `cannot read the state of ${where}`;
  switch (f.reason) {
    case 'tool-missing':
      return new PipefitterError({
        code: 'E_TOOL_MISSING',
        message: `${cannot}: ${(f.missing ?? ['ip']).join(' or ')} is not installed (${f.detail})`,
        hint: missingToolHint(f.missing ?? ['ip']),
      });
    case 'perm':
      return new PipefitterError({
        code: 'E_NOT_ROOT',
        message: `${cannot}: permission denied (${f.detail})`,
        hint: 'run pipefitter as root (CAP_NET_ADMIN and CAP_SYS_ADMIN); a process holding capabilities pipefitter lacks cannot be entered',
      });
    case 'not-found':
      return new PipefitterError({
        code: 'E_TARGET_STOPPED',
        message: `${cannot}: it is gone (stopped, or its namespace removed): ${f.detail}`,
        hint: 'check that it still runs, and retry',
      });
    case 'target-changed':
      return new PipefitterError({
        code: 'E_TARGET_CHANGED',
        message: `${cannot}: it now has another network namespace (restarted?): ${f.detail}`,
        hint: 'retry',
      });
    case 'exists':
    case 'busy':
    case 'unsupported':
    case 'timeout':
    case 'other':
      return new PipefitterError({
        code: 'E_STEP_FAILED',
        message: `${cannot} (${f.reason}): ${f.detail}; nothing was changed`,
        hint:
          f.reason === 'timeout'
            ? 'the kernel did not answer in time; retry'
            : 'retry; if it fails again, run with --backend ip (or the other backend) and report it',
      });
  }
};

export const observeNetns = async (
  runner: Runner,
  ns: NetnsRef,
  opts: ObserveOptions = {},
): Promise<NetnsState> => {
  const r = await runner.run(['ip', '-d', '-j', '-batch', '-'], { netns: ns, input: QUERIES });
  if (r.failed)
    throw observeFailure(netnsKey(ns), {
      reason: r.reason ?? 'other',
      detail: r.stderr.trim().split('\n')[0] || `exit code ${r.exitCode ?? '?'}`,
      missing: r.missing ?? ['ip'],
    });
  const [links = '', routes = '', netconf = '', neigh = ''] = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '');
  const base: NetnsState = {
    links: decodeLinks(links),
    routes: decodeRoutes(routes),
    forwarding: decodeForwarding(netconf),
    neighbours: decodeNeighbours(neigh),
  };
  return ns.kind === 'host'
    ? { ...base, ...(await hostExtras(runner, base, readFirewall(runner, opts))) }
    : base;
};

/** The host's firewall (iptables), when asked: its processes start at once. */
const readFirewall = (runner: Runner, opts: ObserveOptions): Promise<NetnsState['firewall']> => {
  if (opts.firewall === false) return Promise.resolve(undefined);
  const read = () => observeFirewall(runner, opts.routed === true);
  return typeof opts.firewall === 'function' ? opts.firewall(read) : read();
};

/**
 * Where the host's firewall reading comes from when not read afresh: given the fresh read, it
 * returns a reading (`pipefitter watch` keeps its last one, see api/watch.ts).
 */
export type FirewallSource = (read: () => Promise<FirewallState>) => Promise<FirewallState>;

/** What only the host has: its firewall (iptables), Open vSwitch's ports, pipefitter's parent records. */
const hostExtras = async (
  runner: Runner,
  s: NetnsState,
  firewall: Promise<NetnsState['firewall']>,
): Promise<Pick<NetnsState, 'firewall' | 'ovs' | 'parentsUp'>> => ({
  firewall: await firewall,
  // Open vSwitch keeps its ports in its own database: asked only when it has bridges here
  ovs: s.links.some((l) => l.kind === 'openvswitch') ? await observeOvs(runner) : undefined,
  parentsUp: await readParentRecords(),
});

export interface ObserveOptions {
  /** Read br_netfilter and iptables for the host (only bridges need it). @default true */
  readonly firewall?: boolean | FirewallSource | undefined;
  /** Read the host's IPv4 FORWARD chain even without br_netfilter (a recipe's NAT is routed). */
  readonly routed?: boolean | undefined;
  /**
   * The namespaces (netnsKey) whose forwarding setting the plan reads; undefined: every one.
   * In-process, the others are not asked (the ip backend reads it with the rest anyway).
   */
  readonly forwardingOf?: ReadonlySet<string> | undefined;
  /** Namespaces observed at once. @default 8 */
  readonly concurrency?: number | undefined;
}

/** A namespace that could not be read in-process, as observeFailure says it (other errors as they are). */
export const inProcessFailure = (key: string, e: unknown): unknown => {
  if (e instanceof TargetChanged)
    return observeFailure(key, {
      reason: e.found === undefined ? 'not-found' : 'target-changed',
      detail: e.message,
    });
  if (!(e instanceof NetlinkError)) return e;
  // opening the namespace file is reported as ENOENT whatever the cause: its message tells
  const perm = /\b(EACCES|EPERM)\b/.test(e.message);
  return observeFailure(key, { reason: perm ? 'perm' : e.reason, detail: e.message });
};

/** Every namespace read over netlink, in this process (the caller closes the sockets). */
const observeInProcess = async (
  runner: Runner,
  session: NetlinkSession,
  entries: readonly [string, NetnsRef][],
  opts: ObserveOptions,
): Promise<Map<string, NetnsState>> => {
  const out = new Map<string, NetnsState>();
  // the host's firewall is read by processes: started first, they run while the namespaces are
  // read here (synchronously); the rest of the host's extras come after
  const firewall = entries.some(([, ns]) => ns.kind === 'host') ? readFirewall(runner, opts) : undefined;
  firewall?.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
  const extras: Promise<[string, Awaited<ReturnType<typeof hostExtras>>]>[] = [];
  for (const [key, ns] of entries) {
    let state: NetnsState;
    try {
      // the neighbour cache is asked of the host only (plan/create.ts: a gateway already known)
      state = observeNetnsNetlink(session, ns, {
        neighbours: ns.kind === 'host',
        forwarding: opts.forwardingOf?.has(key) ?? true,
      });
    } catch (e) {
      throw inProcessFailure(key, e);
    }
    out.set(key, state);
    if (ns.kind === 'host') {
      const read = hostExtras(runner, state, firewall!).then((x): [string, typeof x] => [key, x]);
      read.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      extras.push(read);
    }
  }
  for (const [key, x] of await Promise.all(extras)) out.set(key, { ...out.get(key)!, ...x });
  return out;
};

/** Observe several namespaces (each once), a few at a time. */
export const observe = async (
  runner: Runner,
  namespaces: readonly NetnsRef[],
  opts: ObserveOptions = {},
): Promise<ObservedState> => {
  const concurrency = opts.concurrency ?? 8;
  const unique = new Map<string, NetnsRef>();
  for (const ns of namespaces) unique.set(netnsKey(ns), ns);
  const entries = [...unique.entries()];
  const out = new Map<string, NetnsState>();
  const nl = runner.netlink;
  if (nl) {
    // in-process: no process per namespace; the host's firewall and OVS state still take theirs.
    // The sockets are closed when the reading is done (see applyPlan).
    try {
      return await observeInProcess(runner, nl.session, entries, opts);
    } finally {
      nl.session.close();
    }
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const [key, ns] = entries[next++] as [string, NetnsRef];
      out.set(key, await observeNetns(runner, ns, opts));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  return out;
};
