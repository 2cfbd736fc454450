/**
 * Watch one link of a namespace until it is as wanted, by the kernel's link events rather than
 * by reading it again and again: subscribe (netlink/monitor.ts), read the link once, then read
 * it again only when an event names it (or events were lost). The kernel announces a new alias
 * only on a link that is up (netdev_state_change); readiness needs the link up, and its coming
 * up is an event of its own.
 */
import type { NetnsRef } from '../model/netns.js';
import { netnsPath } from '../model/netns.js';
import { IFF } from '../netlink/constants.js';
import { getLink } from '../netlink/dump.js';
import { LinkEvents } from '../netlink/monitor.js';
import type { NetlinkSession } from '../netlink/session.js';
import type { Libc } from '../netlink/socket.js';

/** What readiness looks at. */
export interface LinkNow {
  readonly up: boolean;
  readonly operstate: string;
  readonly alias?: string | undefined;
}

export interface WatchOptions {
  readonly session: NetlinkSession;
  readonly libc: Libc;
  readonly netns: NetnsRef;
  readonly ifname: string;
  /** Give up at this `performance.now()`; undefined waits for ever. */
  readonly deadline?: number | undefined;
  /** How long one read of events waits at most (the deadline's precision). @default 200 */
  readonly tickMs?: number | undefined;
}

/**
 * Resolves true once `ready` holds for the link (undefined while there is none), false when the
 * deadline passed first.
 * @example await watchLink({ session, libc, netns, ifname: 'eth1' }, (l) => l?.up === true)
 */
export const watchLink = async (
  o: WatchOptions,
  ready: (link: LinkNow | undefined) => boolean,
): Promise<boolean> => {
  const path = netnsPath(o.netns);
  const events = LinkEvents.open(o.libc, path, o.tickMs ?? 200);
  try {
    const now = (): LinkNow | undefined => {
      const l = getLink(o.session.socket(path), { name: o.ifname });
      return l && { up: (l.flags & IFF.UP) !== 0, operstate: l.operstate, alias: l.alias };
    };
    // subscribed first: a change from here on is queued, so none falls between this read and the events
    if (ready(now())) return true;
    for (;;) {
      if (o.deadline !== undefined && performance.now() >= o.deadline) return false;
      const got = await events.next();
      if ('overrun' in got || got.links.some((l) => l.name === o.ifname)) if (ready(now())) return true;
    }
  } finally {
    events.close();
  }
};
