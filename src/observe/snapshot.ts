/**
 * Observe each namespace once: one `ip -d -j -batch -` process reads links with their
 * addresses, the routing table, forwarding and the neighbour cache together.
 */
import { PipefitterError } from '../errors.js';
import { missingToolHint } from '../tools.js';
import type { NetnsRef } from '../model/netns.js';
import { netnsKey } from '../model/netns.js';
import type { NetnsState, ObservedState } from '../model/observed.js';
import type { Runner } from '../exec/runner.js';
import { decodeForwarding, decodeLinks, decodeNeighbours, decodeRoutes } from './ip-json.js';
import { observeFirewall } from './firewall.js';
import { observeOvs } from './ovs.js';
import { readParentRecords } from '../state/parents.js';
import { NetlinkError } from '../netlink/errno.js';
import { observeNetnsNetlink } from './netlink.js';
import type { NetlinkSession } from '../netlink/session.js';

const QUERIES = 'addr show\nroute show table all\nnetconf show\nneigh show\n';

export const observeNetns = async (
  runner: Runner,
  ns: NetnsRef,
  opts: ObserveOptions = {},
): Promise<NetnsState> => {
  const r = await runner.run(['ip', '-d', '-j', '-batch', '-'], { netns: ns, input: QUERIES });
  if (r.failed)
    throw new PipefitterError({
      code:
        r.reason === 'tool-missing'
          ? 'E_TOOL_MISSING'
          : r.reason === 'perm'
            ? 'E_NOT_ROOT'
            : 'E_TARGET_NOT_FOUND',
      message: `cannot read the state of ${netnsKey(ns)}: ${r.stderr.trim().split('\n')[0] ?? ''}`,
      hint:
        r.reason === 'tool-missing'
          ? missingToolHint(r.missing ?? ['ip'])
          : r.reason === 'perm'
            ? 'run as root'
            : 'check that the target is still running',
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
const readFirewall = (runner: Runner, opts: ObserveOptions): Promise<NetnsState['firewall']> =>
  opts.firewall !== false ? observeFirewall(runner, opts.routed === true) : Promise.resolve(undefined);

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
  readonly firewall?: boolean | undefined;
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
      if (!(e instanceof NetlinkError)) throw e;
      throw new PipefitterError({
        code: e.reason === 'perm' ? 'E_NOT_ROOT' : 'E_TARGET_NOT_FOUND',
        message: `cannot read the state of ${key}: ${e.message}`,
        hint: e.reason === 'perm' ? 'run as root' : 'check that the target is still running',
      });
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
