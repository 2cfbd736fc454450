/** Hand-built observed states and targets for planner unit tests (no kernel involved). */
import { argvOf } from '../../src/render/ip.js';
import type { ObservedLink, ObservedRoute, NetnsState, ObservedState } from '../../src/model/observed.js';
import type { ResolvedTarget } from '../../src/model/target.js';
import type { Arg, Plan } from '../../src/model/step.js';
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
