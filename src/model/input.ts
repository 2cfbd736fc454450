/**
 * Plain, string-typed inputs (CLI flags, library callers, later recipes) parsed once into
 * typed requests. Everything after this works on checked values only.
 */
import type { Cidr, IpAddr } from '../addr.js';
import { parseDestination, parseHostCidr, parseIp } from '../addr.js';
import { badInput } from '../errors.js';
import type { IfName } from '../names.js';
import { parseIfName } from '../names.js';
import type { MacvlanMode } from '../values.js';
import {
  IPVLAN_FLAGS,
  IPVLAN_MODES,
  MACVLAN_MODES,
  parseChoice,
  parseMac,
  parseMtu,
  parseVlanId,
} from '../values.js';
import type { AttachRequest, DetachRequest, LinkIntent } from './attachment.js';
import type { DhcpClient, DhcpSpec, IfaceSpec, RouteSpec } from './iface.js';
import { DEFAULT_IFNAME, DHCP_CLIENTS } from './iface.js';
import type { TargetSpec } from './target.js';
import { parseTargetSpec } from './target.js';
import type { Shape } from './input-shape.js';
import { checkShape } from './input-shape.js';

type Many = string | readonly string[] | undefined;
const many = (v: Many): readonly string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);

/** Container-side settings, as strings. */
export interface IfaceInput {
  /** @default "eth1" */
  readonly ifname?: string | undefined;
  /** One or more addresses with prefix, IPv4 and/or IPv6, e.g. "192.0.2.10/24". */
  readonly ip?: Many;
  /** Default gateway(s), at most one per family; each replaces the default route of its family. */
  readonly gateway?: Many;
  /** Extra routes "DST:VIA" or "DST@VIA" (or "DST" for a device route). */
  readonly route?: Many;
  readonly mac?: string | undefined;
  /** @default the MTU of the host link (bridge or parent) */
  readonly mtu?: string | number | undefined;
  /** Announce addresses with gratuitous ARP / unsolicited NA when the link comes up. @default true */
  readonly announce?: boolean | undefined;
  /** Address by DHCP: true or "dhcp" (the first installed client), "udhcpc", "dhclient", "dhcpcd". */
  readonly dhcp?: boolean | string | undefined;
  /** Keep the DHCP client running to renew the lease; detach stops it. @default false */
  readonly dhcpForeground?: boolean | undefined;
  /** Options passed to the DHCP client as they are. */
  readonly dhcpOption?: Many;
  /** Hostname sent with the DHCP request. @default none */
  readonly dhcpHostname?: string | undefined;
  /** Write the lease's DNS servers into the container's resolv.conf. @default false */
  readonly dhcpDns?: boolean | undefined;
}

/** What `pipefitter attach` takes. Exactly one of bridge, macvlan, ipvlan, vlan, phys. */
export interface AttachInput extends IfaceInput {
  readonly target: string;
  readonly bridge?: string | undefined;
  /** An Open vSwitch bridge (made when missing); --vlan-id tags the port, --trunk makes it a trunk. */
  readonly ovs?: string | undefined;
  readonly macvlan?: string | undefined;
  readonly ipvlan?: string | undefined;
  readonly vlan?: string | undefined;
  readonly phys?: string | undefined;
  /** macvlan mode (bridge, private, vepa, passthru) or ipvlan mode (l2, l3, l3s). */
  readonly mode?: string | undefined;
  /** ipvlan flag (bridge, private, vepa). @default "bridge" */
  readonly ipvlanFlag?: string | undefined;
  /**
   * With --vlan: the VLAN id of the new interface. With --bridge: the port's access VLAN.
   * With --macvlan/--ipvlan: put the link on PARENT.VLAN (made and shared as needed).
   */
  readonly vlanId?: string | number | undefined;
  /** With --bridge: VLANs the port carries tagged, e.g. "10,20". */
  readonly trunk?: string | readonly (string | number)[] | undefined;
  /** With --vlan: the parent is an interface inside the target (e.g. a trunk), not a host NIC. @default false */
  readonly inside?: boolean | undefined;
  /** Create the bridge when missing. @default true */
  readonly createBridge?: boolean | undefined;
  readonly bridgeIp?: Many;
  readonly hostIfname?: string | undefined;
  /** With --macvlan (mode bridge): a macvlan of the host on the same parent, with a route to each address. */
  readonly hostShim?: boolean | undefined;
}

/** What `pipefitter link A:IF B:IF` takes: a veth straight between two containers. */
export interface PairInput {
  /** "TARGET:IFNAME" or "TARGET" (ifname eth1). */
  readonly a: string;
  readonly b: string;
  readonly ip?: Many;
  readonly peerIp?: Many;
  readonly gateway?: Many;
  readonly peerGateway?: Many;
  readonly route?: Many;
  readonly peerRoute?: Many;
  readonly mtu?: string | number | undefined;
  readonly mac?: string | undefined;
  readonly peerMac?: string | undefined;
  readonly announce?: boolean | undefined;
}

export interface DetachInput {
  readonly target: string;
  /** @default "eth1" */
  readonly ifname?: string | undefined;
  readonly force?: boolean | undefined;
}

const parseRoute = (text: string, field: string): RouteSpec => {
  // DST@VIA, or DST/PREFIX:VIA (the colon after a prefix length cannot be part of an IPv6 address)
  let dst = text;
  let via: string | undefined;
  const at = text.indexOf('@');
  if (at >= 0) {
    dst = text.slice(0, at);
    via = text.slice(at + 1);
  } else {
    const m = /^(.+\/\d{1,3}|default):(.+)$/.exec(text);
    if (m) {
      dst = m[1] as string;
      via = m[2];
    }
  }
  if (dst === '')
    throw badInput(
      'E_BAD_ROUTE',
      field,
      text,
      'route destination missing',
      'write DST:VIA, e.g. 198.51.100.0/24:192.0.2.254',
    );
  const d = parseDestination(dst, field);
  const v = via === undefined || via === '' ? undefined : parseIp(via, field);
  if (v && d !== 'default' && v.family !== d.family)
    throw badInput(
      'E_FAMILY',
      field,
      text,
      'destination and gateway are of different IP families',
      'use an IPv4 gateway for an IPv4 destination, IPv6 for IPv6',
    );
  return { dst: d, via: v };
};

/** One route per destination (and metric): a second one would silently replace the first. */
export const uniqueRoutes = (
  given: readonly { readonly text: string; readonly route: RouteSpec }[],
  field: string,
): RouteSpec[] => {
  const seen = new Map<string, string>();
  for (const { text, route } of given) {
    const key = `${route.dst === 'default' ? 'default' : route.dst.text}#${route.metric ?? ''}`;
    const first = seen.get(key);
    if (first !== undefined)
      throw badInput(
        'E_BAD_ROUTE',
        field,
        text,
        `a second route to ${route.dst === 'default' ? 'default' : route.dst.text} (the first is "${first}")`,
        'give each destination once; for a default route use --gateway',
      );
    seen.set(key, text);
  }
  return given.map((g) => g.route);
};

const parseGateways = (values: readonly string[], field: string, addrs: readonly Cidr[]): IpAddr[] => {
  const out: IpAddr[] = [];
  for (const g of values) {
    const ip = parseIp(g, field);
    if (out.some((o) => o.family === ip.family))
      throw badInput(
        'E_BAD_VALUE',
        field,
        g,
        `a second IPv${ip.family} gateway`,
        'give at most one gateway per IP family',
      );
    if (!addrs.some((a) => a.family === ip.family))
      throw badInput(
        'E_FAMILY',
        field,
        g,
        `IPv${ip.family} gateway but no IPv${ip.family} address on the interface`,
        `add an IPv${ip.family} address with --ip, or drop the gateway`,
      );
    if (addrs.some((a) => a.address === ip.address))
      throw badInput(
        'E_BAD_VALUE',
        field,
        g,
        "is the interface's own address",
        'give the address of the router on its network (another host), or drop the gateway',
      );
    out.push(ip);
  }
  return out;
};

export const parseIface = (i: IfaceInput, prefix = ''): IfaceSpec => {
  const f = (name: string): string => `--${prefix}${name}`;
  const addrs = many(i.ip).map((a) => parseHostCidr(a, f('ip')));
  const seen = new Set<string>();
  for (const a of addrs) {
    if (seen.has(a.text))
      throw badInput('E_BAD_VALUE', f('ip'), a.text, 'given twice', 'list each address once');
    seen.add(a.text);
  }
  const mtu = i.mtu === undefined ? undefined : parseMtu(i.mtu, f('mtu'));
  if (mtu !== undefined && mtu < 1280 && addrs.some((a) => a.family === 6))
    throw badInput(
      'E_MTU_RANGE',
      f('mtu'),
      String(mtu),
      'IPv6 needs an MTU of at least 1280',
      'raise the MTU to 1280 or more, or drop the IPv6 address',
    );
  let dhcp: DhcpSpec | undefined;
  if (i.dhcp !== undefined && i.dhcp !== false) {
    const client = parseChoice<DhcpClient>(
      i.dhcp === true ? 'dhcp' : i.dhcp,
      DHCP_CLIENTS,
      f('dhcp'),
      'DHCP client',
    );
    if (addrs.length || many(i.gateway).length)
      throw badInput(
        'E_USAGE',
        f('dhcp'),
        client,
        'DHCP gives the address and gateway; --ip and --gateway cannot be added',
        'drop --ip/--gateway, or drop --dhcp',
      );
    const hostname = i.dhcpHostname;
    if (hostname !== undefined && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(hostname))
      throw badInput(
        'E_BAD_VALUE',
        f('dhcp-hostname'),
        hostname,
        'not a host name',
        'use letters, digits, "-" and "."',
      );
    dhcp = {
      client,
      foreground: i.dhcpForeground ?? false,
      options: many(i.dhcpOption),
      hostname,
      dns: i.dhcpDns ?? false,
    };
  } else if (i.dhcpForeground || many(i.dhcpOption).length || i.dhcpHostname !== undefined || i.dhcpDns)
    throw badInput('E_USAGE', f('dhcp'), undefined, 'the --dhcp-* options need --dhcp', 'add --dhcp');
  return {
    dhcp,
    ifname: parseIfName(i.ifname ?? DEFAULT_IFNAME, f('ifname')),
    mac: i.mac === undefined ? undefined : parseMac(i.mac, f('mac')),
    mtu,
    addrs,
    gateways: parseGateways(many(i.gateway), f('gateway'), addrs),
    routes: uniqueRoutes(
      many(i.route).map((r) => ({ text: r, route: parseRoute(r, f('route')) })),
      f('route'),
    ),
    announce: i.announce ?? true,
  };
};

const LINK_FLAGS = ['bridge', 'ovs', 'macvlan', 'ipvlan', 'vlan', 'phys'] as const;

/**
 * Parse `attach` input into a typed request (throws PipefitterError naming the field).
 * @example parseAttachInput({ target: 'web', bridge: 'br-lab', ip: '192.0.2.10/24' })
 */
/** The type of each field (input-shape.ts): checked before the field is parsed. */
const IFACE_SHAPE = {
  ifname: 'string',
  ip: 'strings',
  gateway: 'strings',
  route: 'strings',
  mac: 'string',
  mtu: 'string-or-number',
  announce: 'boolean',
  dhcp: 'string-or-boolean',
  dhcpForeground: 'boolean',
  dhcpOption: 'strings',
  dhcpHostname: 'string',
  dhcpDns: 'boolean',
} as const satisfies Record<keyof IfaceInput, Shape>;

const ATTACH_SHAPE = {
  ...IFACE_SHAPE,
  target: 'string',
  bridge: 'string',
  ovs: 'string',
  macvlan: 'string',
  ipvlan: 'string',
  vlan: 'string',
  phys: 'string',
  mode: 'string',
  ipvlanFlag: 'string',
  vlanId: 'string-or-number',
  trunk: 'trunk',
  inside: 'boolean',
  createBridge: 'boolean',
  bridgeIp: 'strings',
  hostIfname: 'string',
  hostShim: 'boolean',
} as const satisfies Record<keyof AttachInput, Shape>;

const PAIR_SHAPE = {
  a: 'string',
  b: 'string',
  ip: 'strings',
  peerIp: 'strings',
  gateway: 'strings',
  peerGateway: 'strings',
  route: 'strings',
  peerRoute: 'strings',
  mtu: 'string-or-number',
  mac: 'string',
  peerMac: 'string',
  announce: 'boolean',
} as const satisfies Record<keyof PairInput, Shape>;

export const parseAttachInput = (input: AttachInput): AttachRequest => {
  checkShape(input, ATTACH_SHAPE, ['target']);
  const target: TargetSpec = parseTargetSpec(input.target);
  const given = LINK_FLAGS.filter((k) => input[k] !== undefined);
  if (given.length !== 1)
    throw badInput(
      'E_USAGE',
      '--bridge|--ovs|--macvlan|--ipvlan|--vlan|--phys',
      given.length ? given.map((g) => `--${g}`).join(' ') : undefined,
      given.length ? 'only one way of attaching can be given' : 'say how to attach',
      'give exactly one, e.g. --bridge br-lab or --macvlan eth3',
    );
  const iface = parseIface(input);
  const host = (v: string, field: string): IfName => parseIfName(v, field);
  const vid = input.vlanId === undefined ? undefined : parseVlanId(input.vlanId, '--vlan-id');
  const trunk =
    input.trunk === undefined
      ? []
      : (typeof input.trunk === 'string' ? input.trunk.split(',') : input.trunk).map((v) =>
          parseVlanId(typeof v === 'number' ? v : v.trim(), '--trunk'),
        );
  let link: LinkIntent<TargetSpec>;
  if (input.bridge !== undefined || input.ovs !== undefined) {
    const ovs = input.ovs !== undefined;
    link = {
      kind: 'bridge',
      ovs,
      bridge: host((input.bridge ?? input.ovs) as string, ovs ? '--ovs' : '--bridge'),
      create: input.createBridge ?? true,
      bridgeAddrs: many(input.bridgeIp).map((a) => parseHostCidr(a, '--bridge-ip')),
      hostIfname: input.hostIfname === undefined ? undefined : host(input.hostIfname, '--host-ifname'),
      vlan: vid,
      trunk,
    };
    if (input.mode !== undefined)
      throw badInput(
        'E_USAGE',
        '--mode',
        input.mode,
        'only applies to --macvlan and --ipvlan',
        'drop --mode',
      );
  } else if (input.macvlan !== undefined) {
    link = {
      kind: 'macvlan',
      parent: host(input.macvlan, '--macvlan'),
      mode: parseChoice<MacvlanMode>(input.mode ?? 'bridge', MACVLAN_MODES, '--mode', 'macvlan mode'),
      vlan: vid,
      ...(input.hostShim ? { hostShim: true } : {}),
    };
    if (input.hostShim && link.mode !== 'bridge')
      throw badInput(
        'E_USAGE',
        '--host-shim',
        undefined,
        `needs macvlan mode bridge (the shim reaches the container only in that mode), not ${link.mode}`,
        'drop --mode, or --host-shim',
      );
    if (input.hostShim && iface.dhcp)
      throw badInput(
        'E_USAGE',
        '--host-shim',
        undefined,
        'routes to the addresses given with --ip; a DHCP address is not known when the plan is made',
        'give the address with --ip, or drop --host-shim',
      );
  } else if (input.ipvlan !== undefined) {
    link = {
      kind: 'ipvlan',
      parent: host(input.ipvlan, '--ipvlan'),
      mode: parseChoice(input.mode ?? 'l2', IPVLAN_MODES, '--mode', 'ipvlan mode'),
      flag: parseChoice(input.ipvlanFlag ?? 'bridge', IPVLAN_FLAGS, '--ipvlan-flag', 'ipvlan flag'),
      vlan: vid,
    };
  } else if (input.vlan !== undefined) {
    if (input.vlanId === undefined)
      throw badInput('E_USAGE', '--vlan-id', undefined, 'required with --vlan', 'add --vlan-id N (1-4094)');
    link = {
      kind: 'vlan',
      parent: host(input.vlan, '--vlan'),
      vlanId: parseVlanId(input.vlanId, '--vlan-id'),
      parentIn: input.inside ? 'target' : 'host',
    };
  } else {
    link = { kind: 'phys', device: host(input.phys as string, '--phys') };
    if (vid !== undefined)
      throw badInput(
        'E_USAGE',
        '--vlan-id',
        String(vid),
        'does not apply to --phys',
        'drop --vlan-id, or use --vlan',
      );
  }
  if (trunk.length && link.kind !== 'bridge')
    throw badInput('E_USAGE', '--trunk', undefined, 'only applies to --bridge', 'drop --trunk');
  if (input.mode !== undefined && (link.kind === 'vlan' || link.kind === 'phys'))
    throw badInput('E_USAGE', '--mode', input.mode, 'only applies to --macvlan and --ipvlan', 'drop --mode');
  if (input.ipvlanFlag !== undefined && link.kind !== 'ipvlan')
    throw badInput(
      'E_USAGE',
      '--ipvlan-flag',
      input.ipvlanFlag,
      'only applies to --ipvlan',
      'drop --ipvlan-flag',
    );
  if (input.inside && link.kind !== 'vlan')
    throw badInput('E_USAGE', '--inside', undefined, 'only applies to --vlan', 'drop --inside');
  if (input.hostShim && link.kind !== 'macvlan')
    throw badInput('E_USAGE', '--host-shim', undefined, 'only applies to --macvlan', 'drop --host-shim');
  if (link.kind === 'bridge' && link.ovs && input.bridgeIp !== undefined)
    throw badInput(
      'E_USAGE',
      '--bridge-ip',
      undefined,
      'applies to Linux bridges',
      'drop it, or give the address to the OVS bridge with ovs-vsctl/ip',
    );
  if (link.kind !== 'bridge' && (input.bridgeIp !== undefined || input.hostIfname !== undefined))
    throw badInput(
      'E_USAGE',
      input.bridgeIp !== undefined ? '--bridge-ip' : '--host-ifname',
      undefined,
      'only applies to --bridge',
      'drop it',
    );
  return { target, iface, link };
};

const splitEnd = (text: string, field: string): { target: TargetSpec; ifname: string } => {
  // TARGET:IFNAME, where TARGET may itself be scheme:value (docker:web:eth2, pid:42:eth2)
  const i = text.lastIndexOf(':');
  const schemes = ['pid', 'netns', 'docker', 'podman'];
  if (i <= 0 || schemes.includes(text.slice(0, i)))
    return { target: parseTargetSpec(text, field), ifname: DEFAULT_IFNAME };
  return { target: parseTargetSpec(text.slice(0, i), field), ifname: text.slice(i + 1) };
};

export const parsePairInput = (input: PairInput): AttachRequest => {
  checkShape(input, PAIR_SHAPE, ['a', 'b']);
  const a = splitEnd(input.a, 'first end');
  const b = splitEnd(input.b, 'second end');
  const iface = parseIface({
    ifname: a.ifname,
    ip: input.ip,
    gateway: input.gateway,
    route: input.route,
    mtu: input.mtu,
    mac: input.mac,
    announce: input.announce,
  });
  const peerIface = parseIface(
    {
      ifname: b.ifname,
      ip: input.peerIp,
      gateway: input.peerGateway,
      route: input.peerRoute,
      mtu: input.mtu,
      mac: input.peerMac,
      announce: input.announce,
    },
    'peer-',
  );
  return { target: a.target, iface, link: { kind: 'pair', peer: b.target, peerIface } };
};

export const parseDetachInput = (input: DetachInput): DetachRequest => ({
  target: parseTargetSpec(input.target),
  ifname: parseIfName(input.ifname ?? DEFAULT_IFNAME, '--ifname'),
  force: input.force ?? false,
});
