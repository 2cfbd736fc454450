/** Reading a namespace: links, addresses, routes, neighbours, forwarding — dumped, or one by name. */
import { attr, i32, str, u32 } from './codec.js';
import { AF, IFLA, NETCONFA, RTM, RT_TABLE } from './constants.js';
import type { NlAddr, NlLink, NlNeigh, NlNetconf, NlRoute } from './messages.js';
import {
  decodeAddr,
  decodeLink,
  decodeNeigh,
  decodeNetconf,
  decodeRoute,
  ifaddrmsg,
  ifinfomsg,
  ndmsg,
  netconfmsg,
  rtmsg,
} from './messages.js';
import type { RtnlSocket } from './socket.js';
import { NetlinkError } from './errno.js';

const defined = <T>(x: T | undefined): x is T => x !== undefined;

/** Every link (with kernel-side filters when given: the ports of a master). */
export const dumpLinks = (s: RtnlSocket, filter: { master?: number } = {}): NlLink[] =>
  s
    .dump(
      RTM.GETLINK,
      Buffer.concat([
        ifinfomsg(),
        ...(filter.master !== undefined ? [attr(IFLA.MASTER, u32(filter.master))] : []),
      ]),
      'read the links',
    )
    .map((m) => decodeLink(m.body));

/** One link by name or index; undefined when there is none. */
export const getLink = (s: RtnlSocket, which: { name: string } | { index: number }): NlLink | undefined => {
  try {
    const [m] = s.request(
      RTM.GETLINK,
      0,
      'name' in which
        ? Buffer.concat([ifinfomsg(), attr(IFLA.IFNAME, str(which.name))])
        : ifinfomsg({ index: which.index }),
      `read link ${'name' in which ? which.name : `#${which.index}`}`,
    );
    return m ? decodeLink(m.body) : undefined;
  } catch (e) {
    if (e instanceof NetlinkError && e.reason === 'not-found') return undefined;
    throw e;
  }
};

/** Addresses of both families (of one link when `index` is given; the kernel filters). */
export const dumpAddrs = (s: RtnlSocket, index?: number): NlAddr[] =>
  s
    .dump(RTM.GETADDR, ifaddrmsg({ family: AF.UNSPEC, index: index ?? 0 }), 'read the addresses')
    .map((m) => decodeAddr(m.body))
    .filter(defined);

/**
 * Routes of both families, of every table (RT_TABLE_UNSPEC) or one: a single AF_UNSPEC dump,
 * which the kernel answers family by family and filters by table itself (strict checking).
 */
export const dumpRoutes = (s: RtnlSocket, table: number = RT_TABLE.UNSPEC): NlRoute[] => {
  try {
    return s
      .dump(RTM.GETROUTE, rtmsg({ family: AF.UNSPEC, table }), 'read the routes')
      .map((m) => decodeRoute(m.body))
      .filter(defined);
  } catch (e) {
    // an IPv4 table is made with its first route: a kernel that says so for a table not made yet
    if (table !== RT_TABLE.UNSPEC && e instanceof NetlinkError && e.errno === 2) return [];
    throw e;
  }
};

export const dumpNeighs = (s: RtnlSocket): NlNeigh[] =>
  s
    .dump(RTM.GETNEIGH, ndmsg({ family: AF.UNSPEC }), 'read the neighbour cache')
    .map((m) => decodeNeigh(m.body))
    .filter(defined);

/** Forwarding of "all" per family (what `ip netconf show` says of it). */
export const getForwarding = (s: RtnlSocket): Record<4 | 6, boolean> => {
  const out = { 4: false, 6: false };
  for (const family of [AF.INET, AF.INET6] as const) {
    const [m] = s.request(
      RTM.GETNETCONF,
      0,
      Buffer.concat([netconfmsg(family), attr(NETCONFA.IFINDEX, i32(-1))]),
      'read the forwarding setting',
    );
    const n: NlNetconf | undefined = m ? decodeNetconf(m.body) : undefined;
    out[family === AF.INET ? 4 : 6] = n?.forwarding === true;
  }
  return out;
};
