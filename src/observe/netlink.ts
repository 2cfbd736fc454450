/**
 * Observation over rtnetlink, in-process: the same NetnsState that snapshot.ts reads with
 * `ip -d -j`, from one socket per namespace and no process at all.
 */
import type { NetnsRef } from '../model/netns.js';
import { identityOf, netnsPath } from '../model/netns.js';
import { ADDR_FLAGS } from '../model/observed.js';
import type {
  AddrFlag,
  NetnsState,
  ObservedAddr,
  ObservedLink,
  ObservedNeighbour,
  ObservedRoute,
} from '../model/observed.js';
import { IFA_F, IFF, NUD, RT_TABLE } from '../netlink/constants.js';
import { dumpAddrs, dumpLinks, dumpNeighs, dumpRoutes, getForwarding } from '../netlink/dump.js';
import type { NlAddr, NlLink, NlRoute } from '../netlink/messages.js';
import type { NetlinkSession } from '../netlink/session.js';

/** IFA_F bits as ip's words, in ADDR_FLAGS order (what ip -j reports as `"nodad": true`…). */
const FLAG_BIT: Readonly<Record<AddrFlag, number>> = {
  nodad: IFA_F.NODAD,
  noprefixroute: IFA_F.NOPREFIXROUTE,
  home: IFA_F.HOMEADDRESS,
  mngtmpaddr: IFA_F.MANAGETEMPADDR,
  autojoin: IFA_F.MCAUTOJOIN,
};
const flagWords = (bits: number): AddrFlag[] => ADDR_FLAGS.filter((f) => (bits & FLAG_BIT[f]) !== 0);

const addrOf = (a: NlAddr): ObservedAddr => ({
  family: a.family,
  // the codec prints the kernel's bytes in canonical form already (netlink/codec.ts ipText)
  address: a.address,
  prefix: a.prefix,
  scope: a.scope,
  broadcast: a.family === 4 ? a.broadcast : undefined,
  ...(flagWords(a.flags).length ? { flags: flagWords(a.flags) } : {}),
});

export const linkOf = (
  l: NlLink,
  names: ReadonlyMap<number, string>,
  /** Addresses by link index. */
  addrs: ReadonlyMap<number, readonly NlAddr[]>,
): ObservedLink => {
  // the peer or parent: by name when it is in this namespace, by index and netns id when not
  const elsewhere = l.linkNetnsid !== undefined;
  return {
    ifindex: l.index,
    name: l.name,
    kind: l.kind,
    master: l.master !== undefined ? names.get(l.master) : undefined,
    up: (l.flags & IFF.UP) !== 0,
    operstate: l.operstate,
    carrier: (l.flags & IFF.LOWER_UP) !== 0,
    mtu: l.mtu,
    mac: l.mac,
    alias: l.alias,
    parent: !elsewhere && l.link !== undefined && l.link !== l.index ? names.get(l.link) : undefined,
    linkNetnsid: l.linkNetnsid,
    linkIndex: elsewhere ? l.link : undefined,
    macvlanMode: l.macvlanMode,
    ipvlanMode: l.ipvlanMode,
    vlanId: l.vlanId,
    vlanFiltering: l.vlanFiltering,
    addrs: (addrs.get(l.index) ?? []).map(addrOf),
  };
};

export const routeOf = (r: NlRoute, names: ReadonlyMap<number, string>): ObservedRoute => ({
  family: r.family,
  dst: r.dst === undefined ? 'default' : `${r.dst}/${r.dstLen}`,
  gateway: r.gateway,
  dev: r.oif !== undefined ? names.get(r.oif) : undefined,
  protocol: r.protocol,
  scope: r.scope,
  metric: r.priority,
  prefsrc: r.prefsrc,
  onlink: r.onlink,
  type: r.type,
});

/** What to read besides links, addresses and main-table routes. */
export interface NetnsReadOptions {
  /** The neighbour cache (the planner asks the host's only). @default true */
  readonly neighbours?: boolean | undefined;
  /** net.ipv4/ipv6.conf.all.forwarding (a recipe's routers, and those it stops forwarding). @default true */
  readonly forwarding?: boolean | undefined;
}

/** Read one namespace in-process: links with addresses, main-table routes, and what `opts` asks. */
export const observeNetnsNetlink = (
  session: NetlinkSession,
  ns: NetnsRef,
  opts: NetnsReadOptions = {},
): NetnsState => {
  const s = session.socket(netnsPath(ns), identityOf(ns));
  const links = dumpLinks(s);
  // each link's addresses, grouped once (the host holds hundreds of links and addresses)
  const addrs = new Map<number, NlAddr[]>();
  for (const a of dumpAddrs(s)) {
    const list = addrs.get(a.index);
    if (list) list.push(a);
    else addrs.set(a.index, [a]);
  }
  const names = new Map(links.map((l) => [l.index, l.name]));
  const neighbours: ObservedNeighbour[] | undefined =
    opts.neighbours === false
      ? undefined
      : dumpNeighs(s)
          // as `ip neigh show`: not NOARP ones (multicast), and only those that still hold a MAC
          .filter(
            (n) =>
              n.lladdr !== undefined &&
              n.state !== 0 &&
              (n.state & (NUD.FAILED | NUD.INCOMPLETE | NUD.NOARP)) === 0,
          )
          .flatMap((n) => {
            const dev = names.get(n.index);
            return dev === undefined ? [] : [{ address: n.address, dev }];
          });
  return {
    links: links.map((l) => linkOf(l, names, addrs)),
    routes: dumpRoutes(s, RT_TABLE.MAIN).map((r) => routeOf(r, names)),
    forwarding: opts.forwarding === false ? undefined : getForwarding(s),
    ...(neighbours ? { neighbours } : {}),
  };
};
