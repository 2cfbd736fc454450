/**
 * Step builders: one per change pipefitter makes, named object-then-verb after the `ip`
 * command it stands for. Each builds a typed operation (model/op.ts) and carries its undo;
 * render/ip.ts gives its `ip` form, exec/netlink-backend.ts sends it in-process.
 */
import type { Cidr, IpAddr } from '../addr.js';
import { familyOf, interfaceBroadcast } from '../addr.js';
import type { NetnsRef } from '../model/netns.js';
import { netnsKey } from '../model/netns.js';
import type { ObservedAddr, ObservedRoute } from '../model/observed.js';
import type { AddrOp, LinkPatch, LinkSpec } from '../model/op.js';
import type { Command, Op, Step } from '../model/step.js';

type Undo = Step['undo'];
export const cmd = (netns: NetnsRef, op: Op, describes: string): Command => ({ netns, op, describes });

const del = (name: string): Op => ({ op: 'link.del', name });
const set = (name: string, patch: LinkPatch): Op => ({ op: 'link.set', name, patch });

/** ip link add name NAME [link P] [mtu M] [address A] [netns N] type KIND … */
export const linkAdd = (
  netns: NetnsRef,
  p: {
    name: string;
    spec: LinkSpec;
    mtu?: number | undefined;
    mac?: string | undefined;
    into?: NetnsRef | undefined;
    describes: string;
    undo: Undo;
  },
): Step => ({
  // a link born in another namespace is named for that one (each container has its eth1)
  id: p.into ? `${netnsKey(p.into)}/link-add:${p.name}` : `link-add:${p.name}`,
  netns,
  op: { op: 'link.add', name: p.name, spec: p.spec, mtu: p.mtu, mac: p.mac, netns: p.into },
  describes: p.describes,
  undo: p.undo,
});

/** ip link del NAME */
export const linkDel = (netns: NetnsRef, name: string, id: string, undo: Undo = 'irreversible'): Step => ({
  id,
  netns,
  op: del(name),
  describes: `delete "${name}"`,
  undo,
});

export const linkDelCmd = (netns: NetnsRef, name: string): Command =>
  cmd(netns, del(name), `delete "${name}"`);

/** ip link add NAME type bridge [vlan_filtering 1] */
export const linkAddBridge = (netns: NetnsRef, name: string, vlanFiltering = false): Step =>
  linkAdd(netns, {
    name,
    spec: { kind: 'bridge', ...(vlanFiltering ? { vlanFiltering } : {}) },
    describes: `create bridge "${name}"${vlanFiltering ? ' with VLAN filtering' : ''}`,
    undo: linkDelCmd(netns, name),
  });

/** ip link set dev NAME … — several changes of one link in one command (one request). */
export const linkSet = (
  netns: NetnsRef,
  name: string,
  patch: LinkPatch,
  p: { id?: string; describes: string; undo: Undo },
): Step => ({
  id: p.id ?? `link-set:${name}`,
  netns,
  op: set(name, patch),
  describes: p.describes,
  undo: p.undo,
});

export const linkSetCmd = (netns: NetnsRef, name: string, patch: LinkPatch, describes: string): Command =>
  cmd(netns, set(name, patch), describes);

/** ip link set NAME up */
export const linkSetUp = (netns: NetnsRef, name: string, undo: Undo): Step =>
  linkSet(netns, name, { up: true }, { id: `link-up:${name}`, describes: `bring "${name}" up`, undo });

/** ip link set NAME down */
export const linkSetDown = (netns: NetnsRef, name: string, undo: Undo): Step =>
  linkSet(netns, name, { up: false }, { id: `link-down:${name}`, describes: `bring "${name}" down`, undo });

export const linkSetUpCmd = (netns: NetnsRef, name: string): Command =>
  cmd(netns, set(name, { up: true }), `bring "${name}" back up`);

export const linkSetDownCmd = (netns: NetnsRef, name: string): Command =>
  cmd(netns, set(name, { up: false }), `bring "${name}" down`);

/** ip link set NAME alias TEXT (an empty TEXT clears it) */
export const linkSetAlias = (netns: NetnsRef, name: string, alias: string, undo: Undo): Step =>
  linkSet(
    netns,
    name,
    { alias },
    {
      id: `link-alias:${name}`,
      describes: alias ? `tag "${name}" as pipefitter's` : `clear the tag of "${name}"`,
      undo,
    },
  );

export const linkSetAliasCmd = (netns: NetnsRef, name: string, alias: string): Command =>
  cmd(netns, set(name, { alias }), `restore the alias of "${name}"`);

/** ip link set NAME master BRIDGE */
export const linkSetMaster = (netns: NetnsRef, name: string, bridge: string, undo: Undo): Step =>
  linkSet(
    netns,
    name,
    { master: bridge },
    {
      id: `link-master:${name}`,
      describes: `make "${name}" a port of bridge "${bridge}"`,
      undo,
    },
  );

/** ip link set NAME nomaster */
export const linkSetNomasterCmd = (netns: NetnsRef, name: string, bridge: string): Command =>
  cmd(netns, set(name, { master: null }), `take "${name}" out of "${bridge}"`);

/** ip link set NAME mtu N */
export const linkSetMtu = (netns: NetnsRef, name: string, mtu: number, undo: Undo): Step =>
  linkSet(
    netns,
    name,
    { mtu },
    { id: `link-mtu:${name}`, describes: `set the MTU of "${name}" to ${mtu}`, undo },
  );

export const linkSetMtuCmd = (netns: NetnsRef, name: string, mtu: number): Command =>
  cmd(netns, set(name, { mtu }), `restore the MTU of "${name}" to ${mtu}`);

/** ip link set NAME address MAC */
export const linkSetMac = (netns: NetnsRef, name: string, mac: string, undo: Undo): Step =>
  linkSet(
    netns,
    name,
    { mac },
    { id: `link-mac:${name}`, describes: `set the MAC of "${name}" to ${mac}`, undo },
  );

export const linkSetMacCmd = (netns: NetnsRef, name: string, mac: string): Command =>
  cmd(netns, set(name, { mac }), `restore the MAC of "${name}" to ${mac}`);

/** ip link set NAME name NEW */
export const linkRename = (netns: NetnsRef, from: string, to: string, undo: Undo): Step =>
  linkSet(
    netns,
    from,
    { name: to },
    { id: `link-rename:${from}`, describes: `rename "${from}" to "${to}"`, undo },
  );

export const linkRenameCmd = (netns: NetnsRef, from: string, to: string): Command =>
  cmd(netns, set(from, { name: to }), `rename "${from}" back to "${to}"`);

/** ip link set NAME netns TARGET */
export const linkSetNetns = (
  netns: NetnsRef,
  name: string,
  to: NetnsRef,
  toLabel: string,
  undo: Undo,
): Step =>
  linkSet(
    netns,
    name,
    { netns: to },
    { id: `link-netns:${name}`, describes: `move "${name}" into ${toLabel}`, undo },
  );

export const linkSetNetnsCmd = (netns: NetnsRef, name: string, to: NetnsRef, toLabel: string): Command =>
  cmd(netns, set(name, { netns: to }), `move "${name}" back to ${toLabel}`);

/** An interface address as an operation's operand: IPv4 with its broadcast, IPv6 with nodad. */
export const addrOf = (dev: string, c: Cidr): AddrOp => ({
  dev,
  family: c.family,
  address: c.address,
  prefix: c.prefix,
  // The operator assigned the address; skipping DAD makes it usable at once (no 1-2 s tentative wait).
  ...(c.family === 6 ? { flags: ['nodad'] as const } : { broadcast: interfaceBroadcast(c) }),
});

/** An observed address, to put back as it was (its broadcast and flags). */
export const observedAddrOf = (dev: string, o: ObservedAddr): AddrOp => ({
  dev,
  family: o.family,
  address: o.address,
  prefix: o.prefix,
  broadcast: o.broadcast,
  ...(o.flags?.length ? { flags: o.flags } : {}),
});

const text = (a: AddrOp): string => `${a.address}/${a.prefix}`;

/** ip addr add CIDR [brd B] dev NAME [flags] */
export const addrAdd = (netns: NetnsRef, a: AddrOp, undo: Undo): Step => ({
  id: `addr-add:${a.dev}:${text(a)}`,
  netns,
  op: { op: 'addr.add', addr: a },
  describes: `add ${text(a)} to "${a.dev}"`,
  undo,
});

export const addrAddCmd = (netns: NetnsRef, a: AddrOp): Command =>
  cmd(netns, { op: 'addr.add', addr: a }, `put ${text(a)} back on "${a.dev}"`);

export const addrDelCmd = (netns: NetnsRef, a: AddrOp): Command =>
  cmd(netns, { op: 'addr.del', addr: a }, `remove ${text(a)} from "${a.dev}"`);

/** ip addr del CIDR dev NAME */
export const addrDel = (netns: NetnsRef, a: AddrOp, undo: Undo): Step => ({
  id: `addr-del:${a.dev}:${text(a)}`,
  netns,
  op: { op: 'addr.del', addr: a },
  describes: `remove ${text(a)} from "${a.dev}"`,
  undo,
});

export const describeRoute = (r: ObservedRoute): string =>
  `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${
    r.metric !== undefined && r.metric !== 0 && !(r.family === 6 && r.metric === 1024)
      ? ` metric ${r.metric}`
      : ''
  }`;

/** ip route add … (recreating an observed route) */
export const routeAddCmd = (netns: NetnsRef, r: ObservedRoute): Command =>
  cmd(netns, { op: 'route.add', route: r }, `restore route ${describeRoute(r)}`);

export const routeDelCmd = (netns: NetnsRef, r: ObservedRoute): Command =>
  cmd(netns, { op: 'route.del', route: r }, `remove route ${describeRoute(r)}`);

/**
 * What tells a route from the others of its table in a step id: destination (an IPv6 default is
 * ::/0, so it is not the IPv4 one), device, and a metric other than the kernel's default.
 */
const routeKey = (r: ObservedRoute): string => {
  const dst = r.dst === 'default' && r.family === 6 ? '::/0' : r.dst;
  const kernelMetric = r.family === 6 ? 1024 : 0;
  return `${dst}:${r.dev ?? ''}${r.metric !== undefined && r.metric !== kernelMetric ? `:${r.metric}` : ''}`;
};

/** ip route add DST [via GW] dev NAME [metric M] [onlink] */
export const routeAdd = (netns: NetnsRef, r: ObservedRoute, undo: Undo): Step => ({
  id: `route-add:${routeKey(r)}`,
  netns,
  op: { op: 'route.add', route: r },
  describes: `add route ${describeRoute(r)}`,
  undo,
});

/** ip route replace … */
export const routeReplace = (netns: NetnsRef, r: ObservedRoute, undo: Undo): Step => ({
  id: `route-replace:${routeKey(r)}`,
  netns,
  op: { op: 'route.replace', route: r },
  describes: `set route ${describeRoute(r)}`,
  undo,
});

export const routeReplaceCmd = (netns: NetnsRef, r: ObservedRoute): Command =>
  cmd(netns, { op: 'route.replace', route: r }, `restore route ${describeRoute(r)}`);

/** ip route del … (an observed route) */
export const routeDel = (netns: NetnsRef, r: ObservedRoute, undo: Undo): Step => ({
  id: `route-del:${routeKey(r)}`,
  netns,
  op: { op: 'route.del', route: r },
  describes: `remove route ${describeRoute(r)}`,
  undo,
});

/** A route value as the planner wants it, shaped like an observed one. */
export const wantedRoute = (p: {
  dst: Cidr | 'default';
  via?: IpAddr | undefined;
  dev: string;
  metric?: number | undefined;
  onlink: boolean;
  family?: 4 | 6;
}): ObservedRoute => {
  const family = p.dst === 'default' ? (p.via?.family ?? p.family ?? 4) : p.dst.family;
  // The kernel gives IPv6 routes metric 1024 when none is set; say so, so comparisons match what is observed.
  const metric = p.metric ?? (family === 6 ? 1024 : undefined);
  return {
    family,
    dst: p.dst === 'default' ? 'default' : p.dst.text,
    gateway: p.via?.address,
    dev: p.dev,
    metric,
    onlink: p.onlink,
    type: 'unicast',
  };
};

export const routeFamily = (dst: string): 4 | 6 => familyOf(dst === 'default' ? '0.0.0.0' : dst);

/**
 * sysctl -q -e -w net/ipv6/conf/NAME/disable_ipv6=0 [net/ipv6/conf/NAME/ndisc_notify=1]
 * IPv6 on for this interface only (Docker turns it off in its containers, and a new interface
 * inherits that), and, when announcing, the kernel's unsolicited neighbour advertisement for
 * each IPv6 address as it is added (added with nodad, after the link is up and a bridge port
 * forwards, so it is not lost).
 */
export const ipv6Enable = (netns: NetnsRef, dev: string, announce: boolean): Step => ({
  id: `ipv6:${dev}`,
  netns,
  op: {
    op: 'sysctl',
    set: [
      { key: `net/ipv6/conf/${dev}/disable_ipv6`, value: '0' },
      ...(announce ? [{ key: `net/ipv6/conf/${dev}/ndisc_notify`, value: '1' }] : []),
    ],
    missingOk: true,
  },
  describes: `turn IPv6 on for "${dev}"${announce ? ' and announce its addresses (unsolicited NA)' : ''}`,
  undo: 'covered',
});

/**
 * arping -q -U -c 1 -w 0 -i NAME -S ADDR ADDR   (Thomas Habets' arping, Debian package "arping")
 * One unsolicited ARP, started and not waited for (pipework's `arping -c 1` cost a second). An
 * unsolicited ARP gets no reply, so this arping exits 1 even when the packet left: nothing reads it.
 * It runs after the link is up in its own process: by then a bridge port forwards, which it
 * does not yet at the instant the link comes up (the bridge learns carrier asynchronously).
 */
export const arpAnnounce = (netns: NetnsRef, dev: string, address: string): Step => ({
  id: `arping:${dev}:${address}`,
  netns,
  op: { op: 'arp.announce', dev, address },
  describes: `announce ${address} on "${dev}" (gratuitous ARP)`,
  undo: 'covered',
  bestEffort: true,
  detached: true,
});

/** ip link add link PARENT name NAME [mtu N] type vlan id VID */
export const linkAddVlan = (
  netns: NetnsRef,
  parent: string,
  name: string,
  vid: number,
  mtu: number | undefined,
): Step =>
  linkAdd(netns, {
    name,
    spec: { kind: 'vlan', parent, id: vid },
    mtu,
    describes: `create VLAN ${vid} interface "${name}" on ${parent}`,
    undo: linkDelCmd(netns, name),
  });

/** ip link set BRIDGE type bridge vlan_filtering 0|1 */
export const bridgeSetVlanFiltering = (netns: NetnsRef, bridge: string, on: boolean, undo: Undo): Step =>
  linkSet(
    netns,
    bridge,
    { vlanFiltering: on },
    {
      id: `bridge-vlan-filtering:${bridge}`,
      describes: `turn VLAN filtering ${on ? 'on' : 'off'} on bridge "${bridge}"`,
      undo,
    },
  );

export const bridgeSetVlanFilteringCmd = (netns: NetnsRef, bridge: string, on: boolean): Command =>
  cmd(
    netns,
    set(bridge, { vlanFiltering: on }),
    `turn VLAN filtering ${on ? 'on' : 'off'} on bridge "${bridge}"`,
  );

/** bridge vlan add dev PORT vid VID [pvid untagged] */
export const bridgeVlanAdd = (
  netns: NetnsRef,
  port: string,
  vid: number,
  access: boolean,
  undo: Undo,
): Step => ({
  id: `bridge-vlan-add:${port}:${vid}`,
  netns,
  op: { op: 'bridge-vlan.add', dev: port, vid, access },
  describes: access
    ? `make "${port}" an access port of VLAN ${vid}`
    : `let VLAN ${vid} through "${port}" tagged`,
  undo,
});

/** bridge vlan del dev PORT vid VID */
export const bridgeVlanDel = (netns: NetnsRef, port: string, vid: number, undo: Undo): Step => ({
  id: `bridge-vlan-del:${port}:${vid}`,
  netns,
  op: { op: 'bridge-vlan.del', dev: port, vid },
  describes: `take "${port}" out of VLAN ${vid}`,
  undo,
});

/** An operation with no rtnetlink form, as a step: its program runs as it is. */
export const execStep = (
  netns: NetnsRef,
  argv: Extract<Op, { op: 'exec' }>['argv'],
  p: Omit<Step, 'netns' | 'op'>,
): Step => ({ ...p, netns, op: { op: 'exec', argv } });

export const execCmd = (
  netns: NetnsRef,
  argv: Extract<Op, { op: 'exec' }>['argv'],
  describes: string,
  extra: Pick<Command, 'input' | 'affects'> = {},
): Command => ({ netns, op: { op: 'exec', argv }, describes, ...extra });
