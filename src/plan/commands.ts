/**
 * Step builders: one per `ip` command pipefitter issues, named object-then-verb after it.
 * Each documents its `ip` equivalent and carries its undo.
 */
import type { Cidr, IpAddr } from '../addr.js';
import { familyOf, interfaceBroadcast } from '../addr.js';
import type { NetnsRef } from '../model/netns.js';
import type { ObservedRoute } from '../model/observed.js';
import type { Arg, Command, Step } from '../model/step.js';

type Undo = Step['undo'];
const cmd = (netns: NetnsRef, argv: readonly Arg[], describes: string): Command => ({
  netns,
  argv,
  describes,
});

/** ip link del NAME */
export const linkDel = (netns: NetnsRef, name: string, id: string, undo: Undo = 'irreversible'): Step => ({
  id,
  netns,
  argv: ['ip', 'link', 'del', 'dev', name],
  describes: `delete "${name}"`,
  undo,
});

export const linkDelCmd = (netns: NetnsRef, name: string): Command =>
  cmd(netns, ['ip', 'link', 'del', 'dev', name], `delete "${name}"`);

/** ip link add NAME type bridge */
export const linkAddBridge = (netns: NetnsRef, name: string): Step => ({
  id: `link-add:${name}`,
  netns,
  argv: ['ip', 'link', 'add', 'name', name, 'type', 'bridge'],
  describes: `create bridge "${name}"`,
  undo: linkDelCmd(netns, name),
});

/** ip link set NAME up | down */
export const linkSetUp = (netns: NetnsRef, name: string, undo: Undo): Step => ({
  id: `link-up:${name}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', name, 'up'],
  describes: `bring "${name}" up`,
  undo,
});

/** ip link set NAME down */
export const linkSetDown = (netns: NetnsRef, name: string, undo: Undo): Step => ({
  id: `link-down:${name}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', name, 'down'],
  describes: `bring "${name}" down`,
  undo,
});

export const linkSetUpCmd = (netns: NetnsRef, name: string): Command =>
  cmd(netns, ['ip', 'link', 'set', 'dev', name, 'up'], `bring "${name}" back up`);

export const linkSetDownCmd = (netns: NetnsRef, name: string): Command =>
  cmd(netns, ['ip', 'link', 'set', 'dev', name, 'down'], `bring "${name}" down`);

/** ip link set NAME alias TEXT (an empty TEXT clears it) */
export const linkSetAlias = (netns: NetnsRef, name: string, alias: string, undo: Undo): Step => ({
  id: `link-alias:${name}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', name, 'alias', alias],
  describes: alias ? `tag "${name}" as pipefitter's` : `clear the tag of "${name}"`,
  undo,
});

export const linkSetAliasCmd = (netns: NetnsRef, name: string, alias: string): Command =>
  cmd(netns, ['ip', 'link', 'set', 'dev', name, 'alias', alias], `restore the alias of "${name}"`);

/** ip link set NAME master BRIDGE */
export const linkSetMaster = (netns: NetnsRef, name: string, bridge: string, undo: Undo): Step => ({
  id: `link-master:${name}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', name, 'master', bridge],
  describes: `make "${name}" a port of bridge "${bridge}"`,
  undo,
});

/** ip link set NAME mtu N */
export const linkSetMtu = (netns: NetnsRef, name: string, mtu: number, undo: Undo): Step => ({
  id: `link-mtu:${name}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', name, 'mtu', String(mtu)],
  describes: `set the MTU of "${name}" to ${mtu}`,
  undo,
});

export const linkSetMtuCmd = (netns: NetnsRef, name: string, mtu: number): Command =>
  cmd(
    netns,
    ['ip', 'link', 'set', 'dev', name, 'mtu', String(mtu)],
    `restore the MTU of "${name}" to ${mtu}`,
  );

/** ip link set NAME address MAC */
export const linkSetMac = (netns: NetnsRef, name: string, mac: string, undo: Undo): Step => ({
  id: `link-mac:${name}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', name, 'address', mac],
  describes: `set the MAC of "${name}" to ${mac}`,
  undo,
});

export const linkSetMacCmd = (netns: NetnsRef, name: string, mac: string): Command =>
  cmd(netns, ['ip', 'link', 'set', 'dev', name, 'address', mac], `restore the MAC of "${name}" to ${mac}`);

/** ip link set NAME name NEW */
export const linkRename = (netns: NetnsRef, from: string, to: string, undo: Undo): Step => ({
  id: `link-rename:${from}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', from, 'name', to],
  describes: `rename "${from}" to "${to}"`,
  undo,
});

export const linkRenameCmd = (netns: NetnsRef, from: string, to: string): Command =>
  cmd(netns, ['ip', 'link', 'set', 'dev', from, 'name', to], `rename "${from}" back to "${to}"`);

/** ip link set NAME netns TARGET */
export const linkSetNetns = (
  netns: NetnsRef,
  name: string,
  to: NetnsRef,
  toLabel: string,
  undo: Undo,
): Step => ({
  id: `link-netns:${name}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', name, 'netns', { netns: to }],
  describes: `move "${name}" into ${toLabel}`,
  undo,
});

export const linkSetNetnsCmd = (netns: NetnsRef, name: string, to: NetnsRef, toLabel: string): Command =>
  cmd(netns, ['ip', 'link', 'set', 'dev', name, 'netns', { netns: to }], `move "${name}" back to ${toLabel}`);

const ipv6Extra = (c: Cidr): string[] =>
  // The operator assigned the address; skipping DAD makes it usable at once (no 1-2 s tentative wait).
  c.family === 6 ? ['nodad'] : [];

/** The `brd B` of an IPv4 address (see interfaceBroadcast). */
const brdArgs = (c: Cidr): string[] => {
  const b = interfaceBroadcast(c);
  return b === undefined ? [] : ['brd', b];
};

/** ip addr add CIDR [brd B] dev NAME */
export const addrAdd = (netns: NetnsRef, dev: string, c: Cidr, undo: Undo): Step => ({
  id: `addr-add:${dev}:${c.text}`,
  netns,
  argv: ['ip', 'addr', 'add', c.text, ...brdArgs(c), 'dev', dev, ...ipv6Extra(c)],
  describes: `add ${c.text} to "${dev}"`,
  undo,
});

export const addrDelCmd = (netns: NetnsRef, dev: string, text: string): Command =>
  cmd(netns, ['ip', 'addr', 'del', text, 'dev', dev], `remove ${text} from "${dev}"`);

/** ip addr del CIDR dev NAME */
export const addrDel = (netns: NetnsRef, dev: string, text: string, undo: Undo): Step => ({
  id: `addr-del:${dev}:${text}`,
  netns,
  argv: ['ip', 'addr', 'del', text, 'dev', dev],
  describes: `remove ${text} from "${dev}"`,
  undo,
});

/** The argv tail of `ip route add|del|replace` that recreates an observed main-table route. */
export const routeArgs = (r: ObservedRoute): string[] => {
  const dst = r.dst === 'default' ? (r.family === 6 ? '::/0' : 'default') : r.dst;
  const a: string[] = [dst];
  if (r.gateway !== undefined) a.push('via', r.gateway);
  if (r.dev !== undefined) a.push('dev', r.dev);
  if (r.protocol !== undefined && r.protocol !== 'boot') a.push('proto', r.protocol);
  if (r.scope !== undefined && r.scope !== 'global' && r.scope !== 'universe') a.push('scope', r.scope);
  if (r.metric !== undefined && r.metric !== 0 && !(r.family === 6 && r.metric === 1024))
    a.push('metric', String(r.metric));
  if (r.prefsrc !== undefined) a.push('src', r.prefsrc);
  if (r.onlink) a.push('onlink');
  return a;
};

export const describeRoute = (r: ObservedRoute): string =>
  `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;

/** ip route add … (recreating an observed route) */
export const routeAddCmd = (netns: NetnsRef, r: ObservedRoute): Command =>
  cmd(netns, ['ip', 'route', 'add', ...routeArgs(r)], `restore route ${describeRoute(r)}`);

export const routeDelCmd = (netns: NetnsRef, r: ObservedRoute): Command =>
  cmd(netns, ['ip', 'route', 'del', ...routeArgs(r)], `remove route ${describeRoute(r)}`);

/** ip route add DST [via GW] dev NAME [metric M] [onlink] */
export const routeAdd = (netns: NetnsRef, r: ObservedRoute, undo: Undo): Step => ({
  id: `route-add:${r.dst}:${r.dev ?? ''}`,
  netns,
  argv: ['ip', 'route', 'add', ...routeArgs(r)],
  describes: `add route ${describeRoute(r)}`,
  undo,
});

/** ip route replace … */
export const routeReplace = (netns: NetnsRef, r: ObservedRoute, undo: Undo): Step => ({
  id: `route-replace:${r.dst}:${r.dev ?? ''}`,
  netns,
  argv: ['ip', 'route', 'replace', ...routeArgs(r)],
  describes: `set route ${describeRoute(r)}`,
  undo,
});

export const routeReplaceCmd = (netns: NetnsRef, r: ObservedRoute): Command =>
  cmd(netns, ['ip', 'route', 'replace', ...routeArgs(r)], `restore route ${describeRoute(r)}`);

/** ip route del … (an observed route) */
export const routeDel = (netns: NetnsRef, r: ObservedRoute, undo: Undo): Step => ({
  id: `route-del:${r.dst}:${r.dev ?? ''}`,
  netns,
  argv: ['ip', 'route', 'del', ...routeArgs(r)],
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
  argv: [
    'sysctl',
    '-q',
    '-e',
    '-w',
    `net/ipv6/conf/${dev}/disable_ipv6=0`,
    ...(announce ? [`net/ipv6/conf/${dev}/ndisc_notify=1`] : []),
  ],
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
  argv: ['arping', '-q', '-U', '-c', '1', '-w', '0', '-i', dev, '-S', address, address],
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
): Step => ({
  id: `link-add:${name}`,
  netns,
  argv: [
    'ip',
    'link',
    'add',
    'link',
    parent,
    'name',
    name,
    ...(mtu !== undefined ? ['mtu', String(mtu)] : []),
    'type',
    'vlan',
    'id',
    String(vid),
  ],
  describes: `create VLAN ${vid} interface "${name}" on ${parent}`,
  undo: linkDelCmd(netns, name),
});

/** ip link set BRIDGE type bridge vlan_filtering 0|1 */
export const bridgeSetVlanFiltering = (netns: NetnsRef, bridge: string, on: boolean, undo: Undo): Step => ({
  id: `bridge-vlan-filtering:${bridge}`,
  netns,
  argv: ['ip', 'link', 'set', 'dev', bridge, 'type', 'bridge', 'vlan_filtering', on ? '1' : '0'],
  describes: `turn VLAN filtering ${on ? 'on' : 'off'} on bridge "${bridge}"`,
  undo,
});

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
  argv: ['bridge', 'vlan', 'add', 'dev', port, 'vid', String(vid), ...(access ? ['pvid', 'untagged'] : [])],
  describes: access
    ? `make "${port}" an access port of VLAN ${vid}`
    : `let VLAN ${vid} through "${port}" tagged`,
  undo,
});

/** bridge vlan del dev PORT vid VID */
export const bridgeVlanDel = (netns: NetnsRef, port: string, vid: number, undo: Undo): Step => ({
  id: `bridge-vlan-del:${port}:${vid}`,
  netns,
  argv: ['bridge', 'vlan', 'del', 'dev', port, 'vid', String(vid)],
  describes: `take "${port}" out of VLAN ${vid}`,
  undo,
});
