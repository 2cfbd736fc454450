/**
 * The rtnetlink message bodies pipefitter sends and reads: fixed headers (ifinfomsg, ifaddrmsg,
 * rtmsg, ndmsg, netconfmsg) and the typed objects decoded from RTM_NEW* replies. Pure.
 */
import { attrsOf, i32, ipText, macText, readI32, readStr, readU16, readU32, u16, u32 } from './codec.js';
import {
  AF,
  IFA,
  IFLA,
  IFLA_BR,
  IFLA_INFO,
  IFLA_IPVLAN,
  IFLA_MACVLAN,
  IFLA_VLAN,
  IFLA_VXLAN,
  IPVLAN_MODE,
  MACVLAN_MODE,
  NDA,
  NETCONFA,
  OPERSTATE,
  RTA,
  RTN,
  RTNH_F,
  RTPROT,
  RT_SCOPE,
  SIZE,
} from './constants.js';

// --- fixed headers ----------------------------------------------------------------------------

/** struct ifinfomsg: family, type, index, flags, change. */
export const ifinfomsg = (
  p: { family?: number; index?: number; flags?: number; change?: number } = {},
): Buffer => {
  const b = Buffer.alloc(SIZE.IFINFOMSG);
  b.writeUInt8(p.family ?? AF.UNSPEC, 0);
  i32(p.index ?? 0).copy(b, 4);
  u32(p.flags ?? 0).copy(b, 8);
  u32(p.change ?? 0).copy(b, 12);
  return b;
};

/** struct ifaddrmsg: family, prefixlen, flags, scope, index. */
export const ifaddrmsg = (p: {
  family: number;
  prefix?: number;
  flags?: number;
  scope?: number;
  index?: number;
}): Buffer => {
  const b = Buffer.alloc(SIZE.IFADDRMSG);
  b.writeUInt8(p.family, 0);
  b.writeUInt8(p.prefix ?? 0, 1);
  b.writeUInt8((p.flags ?? 0) & 0xff, 2);
  b.writeUInt8(p.scope ?? 0, 3);
  u32(p.index ?? 0).copy(b, 4);
  return b;
};

/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags. */
export const rtmsg = (p: {
  family: number;
  dstLen?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  flags?: number;
}): Buffer => {
  const b = Buffer.alloc(SIZE.RTMSG);
  b.writeUInt8(p.family, 0);
  b.writeUInt8(p.dstLen ?? 0, 1);
  b.writeUInt8(Math.min(p.table ?? 0, 255), 4);
  b.writeUInt8(p.protocol ?? 0, 5);
  b.writeUInt8(p.scope ?? 0, 6);
  b.writeUInt8(p.type ?? 0, 7);
  u32(p.flags ?? 0).copy(b, 8);
  return b;
};

/** struct ndmsg: family, ifindex, state, flags, type. */
export const ndmsg = (p: { family: number; index?: number; state?: number }): Buffer => {
  const b = Buffer.alloc(SIZE.NDMSG);
  b.writeUInt8(p.family, 0);
  i32(p.index ?? 0).copy(b, 4);
  u16(p.state ?? 0).copy(b, 8);
  return b;
};

/** struct netconfmsg: family (padded to 4 for the attributes after it). */
export const netconfmsg = (family: number): Buffer => {
  const b = Buffer.alloc(SIZE.NETCONFMSG);
  b.writeUInt8(family, 0);
  return b;
};

// --- decoded objects --------------------------------------------------------------------------

export interface NlLink {
  readonly index: number;
  readonly name: string;
  readonly flags: number;
  readonly mtu: number;
  readonly mac: string;
  readonly operstate: string;
  readonly alias?: string | undefined;
  readonly master?: number | undefined;
  /** IFLA_LINK: the peer of a veth, the parent of a macvlan/ipvlan/vlan (an ifindex). */
  readonly link?: number | undefined;
  /** Set when `link` is in another namespace: the id this namespace knows it by. */
  readonly linkNetnsid?: number | undefined;
  readonly kind?: string | undefined;
  readonly vlanFiltering?: boolean | undefined;
  readonly macvlanMode?: string | undefined;
  readonly ipvlanMode?: string | undefined;
  readonly vlanId?: number | undefined;
  readonly vxlan?:
    | { readonly id?: number; readonly port?: number; readonly local?: string; readonly group?: string }
    | undefined;
}

const nameOf = <T extends Record<string, number>>(table: T, v: number): string | undefined =>
  Object.entries(table).find(([, x]) => x === v)?.[0];

export const decodeLink = (body: Buffer): NlLink => {
  const index = readI32(body, 4);
  const flags = readU32(body, 8);
  const a = attrsOf(body, SIZE.IFINFOMSG);
  const info = a(IFLA.LINKINFO);
  const ia = info ? attrsOf(info) : undefined;
  const kindBuf = ia?.(IFLA_INFO.KIND);
  const kind = kindBuf ? readStr(kindBuf) : undefined;
  const dataBuf = ia?.(IFLA_INFO.DATA);
  const d = dataBuf ? attrsOf(dataBuf) : undefined;
  const num32 = (x: Buffer | undefined): number | undefined => (x && x.length >= 4 ? readU32(x) : undefined);
  const op = a(IFLA.OPERSTATE);
  const mac = a(IFLA.ADDRESS);
  const alias = a(IFLA.IFALIAS);
  const vx =
    kind === 'vxlan' && d
      ? {
          id: num32(d(IFLA_VXLAN.ID)),
          port: d(IFLA_VXLAN.PORT)?.readUInt16BE(0),
          local: ipText(d(IFLA_VXLAN.LOCAL) ?? d(IFLA_VXLAN.LOCAL6) ?? Buffer.alloc(0)),
          group: ipText(d(IFLA_VXLAN.GROUP) ?? d(IFLA_VXLAN.GROUP6) ?? Buffer.alloc(0)),
        }
      : undefined;
  return {
    index,
    name: readStr(a(IFLA.IFNAME) ?? Buffer.alloc(0)),
    flags,
    mtu: num32(a(IFLA.MTU)) ?? 0,
    mac: mac ? macText(mac) : '',
    operstate: op ? (OPERSTATE[op[0] ?? 0] ?? 'UNKNOWN') : 'UNKNOWN',
    alias: alias && alias.length > 0 ? readStr(alias) || undefined : undefined,
    master: num32(a(IFLA.MASTER)),
    link: num32(a(IFLA.LINK)),
    linkNetnsid: a(IFLA.LINK_NETNSID) ? readI32(a(IFLA.LINK_NETNSID)!) : undefined,
    kind,
    vlanFiltering: kind === 'bridge' && d ? d(IFLA_BR.VLAN_FILTERING)?.[0] === 1 : undefined,
    macvlanMode:
      kind === 'macvlan' && d?.(IFLA_MACVLAN.MODE)
        ? nameOf(MACVLAN_MODE, readU32(d(IFLA_MACVLAN.MODE)!))
        : undefined,
    ipvlanMode:
      kind === 'ipvlan' && d?.(IFLA_IPVLAN.MODE)
        ? nameOf(IPVLAN_MODE, readU16(d(IFLA_IPVLAN.MODE)!))
        : undefined,
    vlanId: kind === 'vlan' && d?.(IFLA_VLAN.ID) ? readU16(d(IFLA_VLAN.ID)!) : undefined,
    vxlan: vx,
  };
};

export interface NlAddr {
  readonly family: 4 | 6;
  readonly index: number;
  readonly prefix: number;
  readonly scope: string;
  readonly flags: number;
  /** IFA_LOCAL for IPv4 (the interface's own address), IFA_ADDRESS for IPv6. */
  readonly address: string;
  /** IPv4 point-to-point: the peer (IFA_ADDRESS when it differs from IFA_LOCAL). */
  readonly peer?: string | undefined;
  readonly broadcast?: string | undefined;
  readonly label?: string | undefined;
}

/** A scope as `ip` names it (0 is "global", as ip prints universe). */
export const scopeName = (v: number): string => (v === 0 ? 'global' : (nameOf(RT_SCOPE, v) ?? String(v)));

export const decodeAddr = (body: Buffer): NlAddr | undefined => {
  const fam = body[0];
  if (fam !== AF.INET && fam !== AF.INET6) return undefined;
  const a = attrsOf(body, SIZE.IFADDRMSG);
  const local = a(IFA.LOCAL);
  const address = a(IFA.ADDRESS);
  const own = ipText(local ?? address ?? Buffer.alloc(0));
  if (own === undefined) return undefined;
  const peer = local && address && !local.equals(address) ? ipText(address) : undefined;
  const flagsAttr = a(IFA.FLAGS);
  const brd = a(IFA.BROADCAST);
  const label = a(IFA.LABEL);
  return {
    family: fam === AF.INET ? 4 : 6,
    index: readU32(body, 4),
    prefix: body[1] ?? 0,
    scope: scopeName(body[3] ?? 0),
    flags: flagsAttr ? readU32(flagsAttr) : (body[2] ?? 0),
    address: own,
    peer,
    broadcast: brd ? ipText(brd) : undefined,
    label: label ? readStr(label) : undefined,
  };
};

export interface NlRoute {
  readonly family: 4 | 6;
  readonly dstLen: number;
  /** undefined for the default route (no RTA_DST). */
  readonly dst?: string | undefined;
  readonly table: number;
  readonly protocol: string;
  readonly scope: string;
  readonly type: string;
  readonly flags: number;
  readonly onlink: boolean;
  readonly linkdown: boolean;
  readonly gateway?: string | undefined;
  readonly oif?: number | undefined;
  readonly priority?: number | undefined;
  readonly prefsrc?: string | undefined;
  /** IPv6 router preference (RTA_PREF). */
  readonly pref?: number | undefined;
  /** A multipath route (RTA_MULTIPATH): pipefitter makes none; it is kept as "other". */
  readonly multipath: boolean;
}

export const decodeRoute = (body: Buffer): NlRoute | undefined => {
  const fam = body[0];
  if (fam !== AF.INET && fam !== AF.INET6) return undefined;
  const a = attrsOf(body, SIZE.RTMSG);
  const tableAttr = a(RTA.TABLE);
  const flags = readU32(body, 8);
  const dst = a(RTA.DST);
  const gw = a(RTA.GATEWAY);
  const prefsrc = a(RTA.PREFSRC);
  const pref = a(RTA.PREF);
  return {
    family: fam === AF.INET ? 4 : 6,
    dstLen: body[1] ?? 0,
    dst: dst ? ipText(dst) : undefined,
    table: tableAttr ? readU32(tableAttr) : (body[4] ?? 0),
    protocol: RTPROT[body[5] ?? 0] ?? String(body[5] ?? 0),
    scope: scopeName(body[6] ?? 0),
    type: RTN[body[7] ?? 0] ?? String(body[7] ?? 0),
    flags,
    onlink: (flags & RTNH_F.ONLINK) !== 0,
    linkdown: (flags & RTNH_F.LINKDOWN) !== 0,
    gateway: gw ? ipText(gw) : undefined,
    oif: a(RTA.OIF) ? readU32(a(RTA.OIF)!) : undefined,
    priority: a(RTA.PRIORITY) ? readU32(a(RTA.PRIORITY)!) : undefined,
    prefsrc: prefsrc ? ipText(prefsrc) : undefined,
    pref: pref ? pref[0] : undefined,
    multipath: a(RTA.MULTIPATH) !== undefined,
  };
};

export interface NlNeigh {
  readonly family: 4 | 6;
  readonly index: number;
  readonly state: number;
  readonly address: string;
  readonly lladdr?: string | undefined;
}

export const decodeNeigh = (body: Buffer): NlNeigh | undefined => {
  const fam = body[0];
  if (fam !== AF.INET && fam !== AF.INET6) return undefined;
  const a = attrsOf(body, SIZE.NDMSG);
  const dst = a(NDA.DST);
  const ll = a(NDA.LLADDR);
  const address = dst ? ipText(dst) : undefined;
  if (address === undefined) return undefined;
  return {
    family: fam === AF.INET ? 4 : 6,
    index: readI32(body, 4),
    state: readU16(body, 8),
    address,
    lladdr: ll && ll.length > 0 ? macText(ll) : undefined,
  };
};

export interface NlNetconf {
  readonly family: 4 | 6;
  /** -1 for "all", -2 for "default", else an ifindex. */
  readonly index: number;
  readonly forwarding?: boolean | undefined;
}

export const decodeNetconf = (body: Buffer): NlNetconf | undefined => {
  const fam = body[0];
  if (fam !== AF.INET && fam !== AF.INET6) return undefined;
  const a = attrsOf(body, SIZE.NETCONFMSG);
  const idx = a(NETCONFA.IFINDEX);
  const fwd = a(NETCONFA.FORWARDING);
  return {
    family: fam === AF.INET ? 4 : 6,
    index: idx ? readI32(idx) : 0,
    forwarding: fwd ? readI32(fwd) !== 0 : undefined,
  };
};
