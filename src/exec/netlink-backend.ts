/**
 * The netlink backend: an operation run in-process as one rtnetlink request (or a /proc/sys
 * write) on the socket of its namespace. `exec` operations are not for this backend.
 */
import { HOST, identityOf, netnsPath } from '../model/netns.js';
import type { NetnsRef } from '../model/netns.js';
import type { LinkSpec, Op } from '../model/op.js';
import type { ObservedRoute } from '../model/observed.js';
import { RTPROT, RT_SCOPE } from '../netlink/constants.js';
import { NetlinkError } from '../netlink/errno.js';
import type { NewLinkKind, RouteSpec } from '../netlink/requests.js';
import {
  addrAdd,
  addrDel,
  bridgeVlan,
  linkAdd,
  linkDel,
  linkSet,
  routeAdd,
  routeDel,
} from '../netlink/requests.js';
import type { NetlinkSession } from '../netlink/session.js';
import type { NlLink } from '../netlink/messages.js';
import type { Libc } from '../netlink/socket.js';
import { gratuitousArp, sendArp, writeSysctl } from '../netlink/socket.js';
import { getLink } from '../netlink/dump.js';

/** The namespace file a link may be born in: the host's is this thread's own. */
/**
 * How long a gratuitous ARP waits for its link's (and its veth peer's) operstate to leave DOWN
 * (usually a millisecond or two; a link that stays there, a NIC with no carrier, is announced
 * on anyway).
 */
const ANNOUNCE_WAIT_MS = 500;
/** For a synchronous pause of a millisecond (Atomics.wait on a value never changed). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

const nsFile = (ns: NetnsRef): string => netnsPath(ns) ?? '/proc/thread-self/ns/net';

const kindOf = (session: NetlinkSession, s: LinkSpec): NewLinkKind => {
  switch (s.kind) {
    case 'veth':
      return {
        kind: 'veth',
        peer: {
          name: s.peer.name,
          mtu: s.peer.mtu,
          mac: s.peer.mac,
          netns: s.peer.netns ? session.nsFd(nsFile(s.peer.netns), identityOf(s.peer.netns)) : undefined,
        },
      };
    case 'bridge':
    case 'macvlan':
    case 'ipvlan':
    case 'vlan':
      return s;
  }
};

const PROTO_NUMBER = new Map(Object.entries(RTPROT).map(([n, name]) => [name, Number(n)]));

/** A route as the planner shapes it, as the request wants it. */
export const routeSpecOf = (r: ObservedRoute): RouteSpec => {
  const [address = '', prefix] = r.dst === 'default' ? [] : r.dst.split('/');
  return {
    family: r.family,
    dst: r.dst === 'default' ? undefined : { address, prefix: Number(prefix ?? (r.family === 6 ? 128 : 32)) },
    gateway: r.gateway,
    dev: r.dev,
    metric: r.metric,
    onlink: r.onlink,
    protocol: r.protocol === undefined ? undefined : (PROTO_NUMBER.get(r.protocol) ?? Number(r.protocol)),
    scope:
      r.scope === undefined || r.scope === 'global'
        ? undefined
        : (RT_SCOPE[r.scope as keyof typeof RT_SCOPE] ?? Number(r.scope)),
    prefsrc: r.prefsrc,
  };
};

/**
 * Run one operation in its namespace.
 * @throws NetlinkError with the kernel's errno, message and the failure reason; TargetChanged
 *   when a namespace it names is not the one it was planned for
 */
export const runNetlinkOp = (session: NetlinkSession, libc: Libc, netns: NetnsRef, o: Op): void => {
  const s = session.socket(netnsPath(netns), identityOf(netns));
  switch (o.op) {
    case 'link.add':
      linkAdd(s, {
        name: o.name,
        link: kindOf(session, o.spec),
        mtu: o.mtu,
        mac: o.mac,
        netns: o.netns ? session.nsFd(nsFile(o.netns), identityOf(o.netns)) : undefined,
      });
      return;
    case 'link.del':
      linkDel(s, o.name);
      return;
    case 'link.set':
      linkSet(s, o.name, {
        ...o.patch,
        netns: o.patch.netns ? session.nsFd(nsFile(o.patch.netns), identityOf(o.patch.netns)) : undefined,
      });
      return;
    case 'addr.add':
      addrAdd(s, o.addr);
      return;
    case 'addr.del':
      addrDel(s, o.addr);
      return;
    case 'route.add':
    case 'route.replace':
      routeAdd(s, routeSpecOf(o.route), o.op === 'route.replace');
      return;
    case 'route.del':
      routeDel(s, routeSpecOf(o.route));
      return;
    case 'bridge-vlan.add':
      bridgeVlan(s, { dev: o.dev, vid: o.vid, access: o.access }, false);
      return;
    case 'bridge-vlan.del':
      bridgeVlan(s, { dev: o.dev, vid: o.vid }, true);
      return;
    case 'sysctl':
      for (const { key, value } of o.set) {
        try {
          writeSysctl(libc, netnsPath(netns), key, value, identityOf(netns));
        } catch (e) {
          if (!(o.missingOk && e instanceof NetlinkError && e.errno === 2)) throw e;
        }
      }
      return;
    case 'arp.announce': {
      // sent once the kernel has the link up, and its veth peer on the host: an operstate leaves
      // DOWN when the kernel's link watcher handles the carrier just come (in a worker, later
      // under load), on the event that also enables a bridge port, and a frame sent before that
      // is dropped there (an arping process always started late enough). UP, UNKNOWN (a kind
      // without carrier states, ipvlan) or LOWERLAYERDOWN: sent at once
      const down = (x: NlLink | undefined): boolean => {
        if (x?.operstate === 'DOWN') return true;
        if (x?.kind !== 'veth' || x.link === undefined || x.linkNetnsid === undefined) return false;
        const peer = getLink(session.socket(netnsPath(HOST), identityOf(HOST)), { index: x.link });
        return peer?.link === x.index && peer.operstate === 'DOWN';
      };
      let l = getLink(s, { name: o.dev });
      const until = Date.now() + ANNOUNCE_WAIT_MS;
      while (down(l) && Date.now() < until) {
        Atomics.wait(PAUSE, 0, 0, 1);
        l = getLink(s, { name: o.dev });
      }
      if (!l) throw new NetlinkError(19, undefined, `find "${o.dev}"`);
      sendArp(libc, netnsPath(netns), identityOf(netns), l.index, gratuitousArp(l.mac, o.address));
      return;
    }
    case 'exec':
      throw new Error(
        `internal: "${typeof o.argv[0] === 'string' ? o.argv[0] : '?'}" is started as a process, not sent over netlink`,
      );
  }
};
