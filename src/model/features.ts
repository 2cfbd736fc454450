/**
 * Kernel features pipefitter may need, how to probe each in a throwaway namespace, and the fix
 * when one is missing. Pure data plus the scan of a plan for what it needs.
 */
import type { Op, Plan } from './step.js';

export interface Feature {
  readonly id: string;
  readonly what: string;
  /** Kernel configuration option and module that provide it. */
  readonly option: string;
  readonly module?: string | undefined;
  /** `ip` batch lines that succeed only with the feature (run after the base lines). */
  readonly ipProbe?: readonly string[] | undefined;
  /** `tc` batch lines, on lo. */
  readonly tcProbe?: readonly string[] | undefined;
}

/**
 * Lines every probe runs first: a veth pair and a bridge to hang the others on, and a second
 * pair for ipvlan (a parent takes macvlan or ipvlan children, not both).
 */
export const PROBE_BASE = [
  'link add pfp0 type veth peer name pfp1',
  'link add pfb0 type bridge',
  'link add pfq0 type veth peer name pfq1',
] as const;

export const FEATURES: readonly Feature[] = [
  { id: 'veth', what: 'veth pairs', option: 'CONFIG_VETH', module: 'veth' },
  { id: 'bridge', what: 'Linux bridges', option: 'CONFIG_BRIDGE', module: 'bridge' },
  {
    id: 'macvlan',
    what: 'macvlan',
    option: 'CONFIG_MACVLAN',
    module: 'macvlan',
    ipProbe: ['link add pfm0 link pfp0 type macvlan mode bridge'],
  },
  {
    id: 'ipvlan',
    what: 'ipvlan',
    option: 'CONFIG_IPVLAN',
    module: 'ipvlan',
    ipProbe: ['link add pfi0 link pfq0 type ipvlan mode l2'],
  },
  {
    id: 'vlan',
    what: '802.1Q VLAN interfaces',
    option: 'CONFIG_VLAN_8021Q',
    module: '8021q',
    ipProbe: ['link add pfv0 link pfp0 type vlan id 10'],
  },
  {
    id: 'bridge-vlan',
    what: 'bridge VLAN filtering',
    option: 'CONFIG_BRIDGE_VLAN_FILTERING',
    module: 'bridge',
    ipProbe: ['link set pfb0 type bridge vlan_filtering 1'],
  },
  {
    id: 'vxlan',
    what: 'VXLAN',
    option: 'CONFIG_VXLAN',
    module: 'vxlan',
    ipProbe: ['link add pfx0 type vxlan id 42 dstport 4789'],
  },
  {
    id: 'dummy',
    what: 'dummy interfaces',
    option: 'CONFIG_DUMMY',
    module: 'dummy',
    ipProbe: ['link add pfd0 type dummy'],
  },
  { id: 'tun', what: 'TUN/TAP', option: 'CONFIG_TUN', module: 'tun', ipProbe: ['tuntap add pft0 mode tap'] },
  {
    id: 'tbf',
    what: 'tc qdisc tbf',
    option: 'CONFIG_NET_SCH_TBF',
    module: 'sch_tbf',
    tcProbe: ['qdisc replace dev lo root tbf rate 1mbit burst 32kbit latency 400ms'],
  },
  {
    id: 'htb',
    what: 'tc qdisc htb',
    option: 'CONFIG_NET_SCH_HTB',
    module: 'sch_htb',
    tcProbe: ['qdisc replace dev lo root handle 1: htb'],
  },
  {
    id: 'netem',
    what: 'tc qdisc netem',
    option: 'CONFIG_NET_SCH_NETEM',
    module: 'sch_netem',
    tcProbe: ['qdisc replace dev lo root netem delay 1ms'],
  },
  {
    id: 'ingress',
    what: 'tc ingress qdisc',
    option: 'CONFIG_NET_SCH_INGRESS',
    module: 'sch_ingress',
    tcProbe: ['qdisc add dev lo ingress'],
  },
];

export const featureById = (id: string): Feature | undefined => FEATURES.find((f) => f.id === id);

const KIND_FEATURE: Readonly<Record<string, string>> = {
  macvlan: 'macvlan',
  ipvlan: 'ipvlan',
  vlan: 'vlan',
  vxlan: 'vxlan',
  dummy: 'dummy',
};

/** Kernel features an operation needs (only the ones not every kernel has are looked for). */
const featuresOf = (o: Op): string[] => {
  switch (o.op) {
    case 'link.add': {
      const kind = KIND_FEATURE[o.spec.kind];
      return [
        ...(kind ? [kind] : []),
        ...(o.spec.kind === 'bridge' && o.spec.vlanFiltering ? ['bridge-vlan'] : []),
      ];
    }
    case 'link.set':
      return o.patch.vlanFiltering ? ['bridge-vlan'] : [];
    case 'bridge-vlan.add':
    case 'bridge-vlan.del':
      return ['bridge-vlan'];
    case 'link.del':
    case 'addr.add':
    case 'addr.del':
    case 'route.add':
    case 'route.replace':
    case 'route.del':
    case 'sysctl':
    case 'arp.announce':
    case 'exec':
      return [];
  }
};

/** Kernel features a plan's steps need. */
export const requiredFeatures = (plan: Plan): Set<string> =>
  new Set(plan.steps.flatMap((s) => featuresOf(s.op)));

/** Does the plan talk to Open vSwitch (an `ovs-vsctl` step)? */
export const usesOpenvswitch = (plan: Plan): boolean =>
  plan.steps.some((s) => s.op.op === 'exec' && s.op.argv[0] === 'ovs-vsctl');

/** What was found out about Open vSwitch on this machine (observe/ovs.ts probes it). */
export interface OvsState {
  /** ovs-vsctl is on the PATH. */
  readonly installed: boolean;
  /** The database ovs-vsctl talks to, e.g. unix:/var/run/openvswitch/db.sock. */
  readonly database: string;
  /** It answered (undefined: not asked, ovs-vsctl is missing). */
  readonly databaseUp?: boolean | undefined;
  /** Why it did not, as ovs-vsctl said it. */
  readonly databaseError?: string | undefined;
  /** The kernel datapath: loaded (or built in), a module there is to load, or neither. */
  readonly module: 'loaded' | 'loadable' | 'missing';
}

export interface OvsProblem {
  readonly code: 'E_TOOL_MISSING' | 'E_SERVICE_DOWN' | 'E_KIND_UNSUPPORTED';
  readonly problem: string;
  readonly fix: string;
}

export const OVS_PACKAGE = 'openvswitch-switch';

/** Each reason Open vSwitch cannot be used here, with its fix; empty when it can. */
export const ovsProblems = (s: OvsState): OvsProblem[] => {
  const out: OvsProblem[] = [];
  if (!s.installed)
    out.push({
      code: 'E_TOOL_MISSING',
      problem: 'Open vSwitch is not installed (no ovs-vsctl)',
      fix: `install it: apt-get install ${OVS_PACKAGE}`,
    });
  else if (s.databaseUp === false)
    out.push({
      code: 'E_SERVICE_DOWN',
      problem: `Open vSwitch is not running (its database at ${s.database} cannot be reached${s.databaseError ? `: ${s.databaseError}` : ''})`,
      fix: `start Open vSwitch, e.g. \`systemctl start ${OVS_PACKAGE}\` or \`/usr/share/openvswitch/scripts/ovs-ctl start\``,
    });
  if (s.module === 'missing')
    out.push({
      code: 'E_KIND_UNSUPPORTED',
      problem:
        'this kernel has no Open vSwitch datapath (CONFIG_OPENVSWITCH, module openvswitch: not loaded, none to load)',
      fix: 'use a kernel built with CONFIG_OPENVSWITCH (module openvswitch: modprobe openvswitch)',
    });
  return out;
};
