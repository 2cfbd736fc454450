/** Hand-built observed states and targets for planner unit tests (no kernel involved). */
import { argvOf } from '../../src/render/ip.js';
import type { ObservedLink, ObservedRoute, NetnsState, ObservedState } from '../../src/model/observed.js';
import type { ResolvedTarget } from '../../src/model/target.js';
import type { Arg, Plan } from '../../src/model/step.js';
import { planAttach } from '../../src/plan/attach.js';
import { parseAttachInput } from '../../src/model/input.js';
import { netnsKey } from '../../src/model/netns.js';

export const lo: ObservedLink = {
  ifindex: 1,
  name: 'lo',
  up: true,
  operstate: 'UNKNOWN',
  mtu: 65536,
  mac: '00:00:00:00:00:00',
  addrs: [],
};

export const nic = (name: string, p: Partial<ObservedLink> = {}): ObservedLink => ({
  ifindex: 10,
  name,
  up: true,
  operstate: 'UP',
  mtu: 1500,
  mac: '02:aa:00:00:00:01',
  addrs: [],
  ...p,
});

export const route = (p: Partial<ObservedRoute> & { dst: string }): ObservedRoute => ({
  family: 4,
  onlink: false,
  type: 'unicast',
  ...p,
});

export const nsState = (links: ObservedLink[] = [], routes: ObservedRoute[] = []): NetnsState => ({
  links: [lo, ...links],
  routes,
});

export const netnsTarget = (name: string): ResolvedTarget => ({
  spec: { kind: 'netns', name },
  id: `netns:${name}`,
  label: `netns:${name}`,
  netns: { kind: 'name', name },
});

export const pidTarget = (pid: number): ResolvedTarget => ({
  spec: { kind: 'pid', pid },
  id: `pid:${pid}`,
  label: `pid:${pid}`,
  netns: { kind: 'pid', pid },
  pid,
});

export const observed = (host: NetnsState, ...others: [ResolvedTarget, NetnsState][]): ObservedState =>
  new Map([['host', host], ...others.map(([t, s]) => [netnsKey(t.netns), s] as [string, NetnsState])]);

const spell = (a: Arg): string => (typeof a === 'string' ? a : `<${netnsKey(a.netns)}>`);

/** An argv as text, namespaces spelled <netns:NAME>. */
export const text = (argv: readonly Arg[]): string => argv.map(spell).join(' ');

/** "netns: argv" lines of a plan, for exact comparisons. */
export const lines = (p: Plan): string[] =>
  p.steps.map((s) => `${netnsKey(s.netns)}: ${argvOf(s).map(spell).join(' ')}`);

/** The before-state of adoptedBridgePlan: the host (bridge br0, down, with a port) and netns r1. */
export const adoptedBridgeBefore = {
  host: nsState([nic('br0', { kind: 'bridge', up: false }), nic('vother', { kind: 'veth', master: 'br0' })]),
  r1: nsState([nic('eth0')], [route({ dst: 'default', gateway: '172.17.0.1', dev: 'eth0' })]),
};

/**
 * A plan with real undos and covered ones: netns:r1 attached to an adopted bridge that is down
 * (brought up, given an address), its default route replaced. The bridge has another port: a
 * neighbour there may hold 192.0.2.10, so the address is announced.
 */
export const adoptedBridgePlan = (): Plan => {
  const req = parseAttachInput({
    target: 'x',
    bridge: 'br0',
    ip: '192.0.2.10/24',
    gateway: '192.0.2.1',
    bridgeIp: '192.0.2.254/24',
  });
  if (req.link.kind === 'pair') throw new Error('not a pair');
  const r1 = netnsTarget('r1');
  return planAttach(
    [{ target: r1, iface: req.iface, link: req.link }],
    observed(adoptedBridgeBefore.host, [r1, adoptedBridgeBefore.r1]),
  );
};
