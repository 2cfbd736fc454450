/**
 * Changes over rtnetlink, one function per kind of request, each named after the `ip` command it
 * stands for. Links are named as `ip` names them; the index a request needs is asked of the
 * kernel in the same namespace first (a GETLINK, microseconds).
 */
import type { LinkSpec, LinkPatch as OpLinkPatch } from '../model/op.js';
import { attr, be16, ipBytes, macBytes, nest, str, u16, u32, u8 } from './codec.js';
import {
  AF,
  BRIDGE_VLAN_INFO,
  IFA,
  IFA_F,
  IFF,
  IFLA,
  IFLA_BR,
  IFLA_BRIDGE,
  IFLA_INFO,
  IFLA_IPVLAN,
  IFLA_MACVLAN,
  IFLA_VLAN,
  IFLA_VXLAN,
  IPVLAN_FLAG,
  IPVLAN_MODE,
  MACVLAN_MODE,
  NLM_F,
  RTA,
  RTM,
  RTNH_F,
  RT_SCOPE,
  RT_TABLE,
  VETH_INFO_PEER,
} from './constants.js';
import { getLink } from './dump.js';
import { NetlinkError } from './errno.js';
import { ifaddrmsg, ifinfomsg, rtmsg } from './messages.js';
import type { RtnlSocket } from './socket.js';

/** A namespace a link is created in or moved to, as an open descriptor (IFLA_NET_NS_FD). */
export type NsFd = number;

const indexOf = (s: RtnlSocket, name: string): number => {
  const l = getLink(s, { name });
  if (!l) throw new NetlinkError(19, undefined, `find "${name}"`);
  return l.index;
};

const rawAlias = (alias: string): Buffer => Buffer.from(alias, 'utf8'); // ip sends it without a NUL

/**
 * What a new link is: the planner's kinds (model/op.ts), a veth's peer namespace as an open
 * descriptor; and vxlan, which only the request layer makes (its tests).
 */
export type NewLinkKind =
  | Exclude<LinkSpec, { readonly kind: 'veth' }>
  | {
      readonly kind: 'veth';
      readonly peer: Omit<Extract<LinkSpec, { readonly kind: 'veth' }>['peer'], 'netns'> & {
        readonly netns?: NsFd | undefined;
      };
    }
  | {
      readonly kind: 'vxlan';
      readonly id: number;
      readonly port?: number | undefined;
      readonly local?: string | undefined;
      readonly dev?: string | undefined;
      readonly learning?: boolean | undefined;
    };

export interface NewLink {
  readonly name: string;
  readonly link: NewLinkKind;
  readonly mtu?: number | undefined;
  readonly mac?: string | undefined;
  /** Born in this namespace (`ip link add … netns N`). */
  readonly netns?: NsFd | undefined;
  readonly master?: string | undefined;
  readonly alias?: string | undefined;
}

const common = (p: {
  mtu?: number | undefined;
  mac?: string | undefined;
  netns?: NsFd | undefined;
}): Buffer[] => [
  ...(p.mtu !== undefined ? [attr(IFLA.MTU, u32(p.mtu))] : []),
  ...(p.mac !== undefined ? [attr(IFLA.ADDRESS, macBytes(p.mac))] : []),
  ...(p.netns !== undefined ? [attr(IFLA.NET_NS_FD, u32(p.netns))] : []),
];

/** ip link add NAME [mtu M] [address A] [netns N] [master B] [alias T] (link P) type KIND … */
export const linkAdd = (s: RtnlSocket, p: NewLink): void => {
  const l = p.link;
  const data: Buffer[] = [];
  const extra: Buffer[] = [];
  switch (l.kind) {
    case 'bridge':
      if (l.vlanFiltering !== undefined) data.push(attr(IFLA_BR.VLAN_FILTERING, u8(l.vlanFiltering ? 1 : 0)));
      break;
    case 'veth':
      data.push(
        attr(
          VETH_INFO_PEER,
          Buffer.concat([ifinfomsg(), attr(IFLA.IFNAME, str(l.peer.name)), ...common(l.peer)]),
        ),
      );
      break;
    case 'macvlan':
      extra.push(attr(IFLA.LINK, u32(indexOf(s, l.parent))));
      data.push(attr(IFLA_MACVLAN.MODE, u32(MACVLAN_MODE[l.mode])));
      break;
    case 'ipvlan':
      extra.push(attr(IFLA.LINK, u32(indexOf(s, l.parent))));
      data.push(
        attr(IFLA_IPVLAN.MODE, u16(IPVLAN_MODE[l.mode])),
        attr(IFLA_IPVLAN.FLAGS, u16(IPVLAN_FLAG[l.flag])),
      );
      break;
    case 'vlan':
      extra.push(attr(IFLA.LINK, u32(indexOf(s, l.parent))));
      data.push(attr(IFLA_VLAN.ID, u16(l.id)));
      break;
    case 'vxlan':
      data.push(attr(IFLA_VXLAN.ID, u32(l.id)));
      if (l.port !== undefined) data.push(attr(IFLA_VXLAN.PORT, be16(l.port)));
      if (l.local !== undefined)
        data.push(attr(l.local.includes(':') ? IFLA_VXLAN.LOCAL6 : IFLA_VXLAN.LOCAL, ipBytes(l.local)));
      if (l.dev !== undefined) data.push(attr(IFLA_VXLAN.LINK, u32(indexOf(s, l.dev))));
      if (l.learning !== undefined) data.push(attr(IFLA_VXLAN.LEARNING, u8(l.learning ? 1 : 0)));
      break;
  }
  const info = nest(IFLA.LINKINFO, [
    attr(IFLA_INFO.KIND, str(l.kind)),
    ...(data.length ? [nest(IFLA_INFO.DATA, data)] : []),
  ]);
  s.request(
    RTM.NEWLINK,
    NLM_F.CREATE | NLM_F.EXCL,
    Buffer.concat([
      ifinfomsg(),
      attr(IFLA.IFNAME, str(p.name)),
      ...common(p),
      ...extra,
      ...(p.master !== undefined ? [attr(IFLA.MASTER, u32(indexOf(s, p.master)))] : []),
      ...(p.alias !== undefined ? [attr(IFLA.IFALIAS, rawAlias(p.alias))] : []),
      info,
    ]),
    `ip link add ${p.name} type ${l.kind}`,
  );
};

/** ip link del NAME */
export const linkDel = (s: RtnlSocket, name: string): void => {
  s.request(
    RTM.DELLINK,
    0,
    Buffer.concat([ifinfomsg(), attr(IFLA.IFNAME, str(name))]),
    `ip link del ${name}`,
  );
};

/** The planner's patch (model/op.ts), with the namespace as a descriptor already open. */
export type LinkPatch = Omit<OpLinkPatch, 'netns'> & { readonly netns?: NsFd | undefined };

/** ip link set dev NAME [up|down] [mtu M] [address A] [master B|nomaster] [alias T] [name N] [netns X] [type bridge vlan_filtering V] — one request. */
export const linkSet = (s: RtnlSocket, name: string, p: LinkPatch): void => {
  const index = indexOf(s, name);
  const attrs: Buffer[] = [...common({ mtu: p.mtu, mac: p.mac, netns: p.netns })];
  if (p.master !== undefined)
    attrs.push(attr(IFLA.MASTER, u32(p.master === null ? 0 : indexOf(s, p.master))));
  if (p.alias !== undefined) attrs.push(attr(IFLA.IFALIAS, rawAlias(p.alias)));
  if (p.name !== undefined) attrs.push(attr(IFLA.IFNAME, str(p.name)));
  if (p.vlanFiltering !== undefined)
    attrs.push(
      nest(IFLA.LINKINFO, [
        attr(IFLA_INFO.KIND, str('bridge')),
        nest(IFLA_INFO.DATA, [attr(IFLA_BR.VLAN_FILTERING, u8(p.vlanFiltering ? 1 : 0))]),
      ]),
    );
  s.request(
    RTM.NEWLINK,
    0,
    Buffer.concat([
      ifinfomsg({
        index,
        flags: p.up ? IFF.UP : 0,
        change: p.up === undefined ? 0 : IFF.UP,
      }),
      ...attrs,
    ]),
    `ip link set dev ${name}`,
  );
};

export interface AddrSpec {
  readonly dev: string;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  readonly broadcast?: string | undefined;
  /** nodad, noprefixroute, home, mngtmpaddr, autojoin: as ip addr add's words. */
  readonly flags?: readonly string[] | undefined;
}

const FLAG_BITS: Readonly<Record<string, number>> = {
  nodad: IFA_F.NODAD,
  home: IFA_F.HOMEADDRESS,
  mngtmpaddr: IFA_F.MANAGETEMPADDR,
  noprefixroute: IFA_F.NOPREFIXROUTE,
  autojoin: IFA_F.MCAUTOJOIN,
};

const addrBody = (s: RtnlSocket, a: AddrSpec, withFlags: boolean): Buffer => {
  const family = a.family === 4 ? AF.INET : AF.INET6;
  const flags = withFlags ? (a.flags ?? []).reduce((f, w) => f | (FLAG_BITS[w] ?? 0), 0) : 0;
  const bytes = ipBytes(a.address);
  return Buffer.concat([
    ifaddrmsg({ family, prefix: a.prefix, flags: flags & 0xff, index: indexOf(s, a.dev) }),
    attr(IFA.LOCAL, bytes),
    attr(IFA.ADDRESS, bytes),
    ...(a.broadcast !== undefined ? [attr(IFA.BROADCAST, ipBytes(a.broadcast))] : []),
    ...(flags ? [attr(IFA.FLAGS, u32(flags))] : []),
  ]);
};

/** ip addr add A/P [brd B] dev D [nodad|noprefixroute|home|mngtmpaddr|autojoin…] */
export const addrAdd = (s: RtnlSocket, a: AddrSpec): void => {
  s.request(
    RTM.NEWADDR,
    NLM_F.CREATE | NLM_F.EXCL,
    addrBody(s, a, true),
    `ip addr add ${a.address}/${a.prefix} dev ${a.dev}`,
  );
};

/** ip addr del A/P dev D */
export const addrDel = (s: RtnlSocket, a: AddrSpec): void => {
  s.request(RTM.DELADDR, 0, addrBody(s, a, false), `ip addr del ${a.address}/${a.prefix} dev ${a.dev}`);
};

export interface RouteSpec {
  readonly family: 4 | 6;
  /** undefined: the default route. */
  readonly dst?: { readonly address: string; readonly prefix: number } | undefined;
  readonly gateway?: string | undefined;
  readonly dev?: string | undefined;
  readonly metric?: number | undefined;
  readonly onlink?: boolean | undefined;
  readonly table?: number | undefined;
  /** rtm_protocol; @default 3 (boot), as ip's */
  readonly protocol?: number | undefined;
  /** rtm_scope; @default link for a route without gateway, else universe (as ip decides) */
  readonly scope?: number | undefined;
  readonly prefsrc?: string | undefined;
}

const routeBody = (s: RtnlSocket, r: RouteSpec, del: boolean): Buffer => {
  const family = r.family === 4 ? AF.INET : AF.INET6;
  const table = r.table ?? RT_TABLE.MAIN;
  // ip: a deletion matches any protocol and type, and scope "nowhere" matches any scope
  const scope = del
    ? RT_SCOPE.nowhere
    : (r.scope ?? (r.gateway === undefined ? RT_SCOPE.link : RT_SCOPE.universe));
  return Buffer.concat([
    rtmsg({
      family,
      dstLen: r.dst?.prefix ?? 0,
      table: table > 255 ? RT_TABLE.UNSPEC : table,
      protocol: del ? 0 : (r.protocol ?? 3),
      scope,
      type: del ? 0 : 1,
      flags: r.onlink ? RTNH_F.ONLINK : 0,
    }),
    ...(r.dst !== undefined ? [attr(RTA.DST, ipBytes(r.dst.address))] : []),
    ...(r.gateway !== undefined ? [attr(RTA.GATEWAY, ipBytes(r.gateway))] : []),
    ...(r.dev !== undefined ? [attr(RTA.OIF, u32(indexOf(s, r.dev)))] : []),
    ...(r.metric !== undefined ? [attr(RTA.PRIORITY, u32(r.metric))] : []),
    ...(r.prefsrc !== undefined ? [attr(RTA.PREFSRC, ipBytes(r.prefsrc))] : []),
    attr(RTA.TABLE, u32(table)),
  ]);
};

const routeText = (r: RouteSpec): string =>
  `${r.dst ? `${r.dst.address}/${r.dst.prefix}` : 'default'}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;

/** ip route add|replace … */
export const routeAdd = (s: RtnlSocket, r: RouteSpec, replace = false): void => {
  s.request(
    RTM.NEWROUTE,
    NLM_F.CREATE | (replace ? NLM_F.REPLACE : NLM_F.EXCL),
    routeBody(s, r, false),
    `ip route ${replace ? 'replace' : 'add'} ${routeText(r)}`,
  );
};

/** ip route del … */
export const routeDel = (s: RtnlSocket, r: RouteSpec): void => {
  s.request(RTM.DELROUTE, 0, routeBody(s, r, true), `ip route del ${routeText(r)}`);
};

/** bridge vlan add|del dev PORT vid V [pvid untagged] */
export const bridgeVlan = (
  s: RtnlSocket,
  p: { readonly dev: string; readonly vid: number; readonly access?: boolean | undefined },
  del: boolean,
): void => {
  const info = Buffer.alloc(4);
  u16(p.access ? BRIDGE_VLAN_INFO.PVID | BRIDGE_VLAN_INFO.UNTAGGED : 0).copy(info, 0);
  u16(p.vid).copy(info, 2);
  s.request(
    del ? RTM.DELLINK : RTM.SETLINK,
    0,
    Buffer.concat([
      ifinfomsg({ family: AF.BRIDGE, index: indexOf(s, p.dev) }),
      nest(IFLA.AF_SPEC, [attr(IFLA_BRIDGE.VLAN_INFO, info)]),
    ]),
    `bridge vlan ${del ? 'del' : 'add'} dev ${p.dev} vid ${p.vid}`,
  );
};
