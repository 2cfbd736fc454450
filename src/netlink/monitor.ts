/**
 * Link events of one namespace: a routing socket opened inside it and subscribed to the
 * RTNLGRP_LINK multicast group, so the kernel sends an RTM_NEWLINK (or RTM_DELLINK) whenever a
 * link there appears, changes or goes. Reading them does not block Node's event loop: each read
 * runs on libuv's thread pool (fs.read on the socket's descriptor) and returns when events come,
 * or after a short receive timeout, so the caller can keep its own deadline.
 */
import { read } from 'node:fs';
import { decodeMessages, i32, u16 } from './codec.js';
import { AF, RTM, RTNLGRP, SOCKOPT, SOL_NETLINK } from './constants.js';
import { NetlinkError } from './errno.js';
import type { NlLink } from './messages.js';
import { decodeLink } from './messages.js';
import type { Libc, RtnlSocket } from './socket.js';
import { openSocket } from './socket.js';

const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_RCVBUF = 8;

/** What one read brought: the links named by events, or that events were lost (read the state again). */
export type LinkEventBatch = { readonly links: readonly NlLink[] } | { readonly overrun: true };

export class LinkEvents {
  private readonly buf = Buffer.alloc(1 << 16);

  private constructor(private readonly sock: RtnlSocket) {}

  /**
   * Subscribe to the link events of the namespace at `nsPath` (undefined: pipefitter's own).
   * Events that happen from now on are queued by the kernel until read: subscribe first, then
   * read the current state, and nothing falls between the two.
   * @param waitMs how long one `next()` waits at most when nothing happens
   * @example const ev = LinkEvents.open(libc, '/run/netns/r1'); … await ev.next(); ev.close()
   */
  static open(libc: Libc, nsPath: string | undefined, waitMs = 200): LinkEvents {
    const sock = openSocket(libc, nsPath);
    try {
      // bound to a port id of its own first: an unbound socket has port id 0, the kernel's, and
      // the kernel skips the sender's port when it delivers to a group (netlink's
      // do_one_broadcast) — subscribed but unbound, it would never hear a thing
      const addr = Buffer.alloc(12);
      u16(AF.NETLINK).copy(addr, 0); // sockaddr_nl: family, pad, port id 0 (the kernel picks), no groups
      if (libc.bind(sock.fd, addr, addr.length) !== 0)
        throw new NetlinkError(libc.errno(), undefined, 'bind a netlink socket');
      if (libc.setsockopt(sock.fd, SOL_NETLINK, SOCKOPT.ADD_MEMBERSHIP, i32(RTNLGRP.LINK), 4) !== 0)
        throw new NetlinkError(libc.errno(), undefined, 'subscribe to link events');
      // room for a burst of events (a bulk apply's hundreds of links) before the kernel drops any
      libc.setsockopt(sock.fd, SOL_SOCKET, SO_RCVBUF, i32(1 << 20), 4);
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(BigInt(Math.floor(waitMs / 1000)), 0);
      tv.writeBigInt64LE(BigInt((waitMs % 1000) * 1000), 8);
      if (libc.setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) !== 0)
        throw new NetlinkError(libc.errno(), undefined, 'set the receive timeout of link events');
    } catch (e) {
      sock.close();
      throw e;
    }
    return new LinkEvents(sock);
  }

  /**
   * The events that came since the last read, waiting up to `waitMs` for one: an empty list
   * when none came. Never call it again before the previous one settled.
   */
  next(): Promise<LinkEventBatch> {
    return new Promise((resolve, reject) => {
      read(this.sock.fd, this.buf, 0, this.buf.length, null, (err, n) => {
        if (err) {
          if (err.code === 'EAGAIN' || err.code === 'EINTR') resolve({ links: [] });
          // the kernel dropped events it could not queue: what happened must be read again
          else if (err.code === 'ENOBUFS') resolve({ overrun: true });
          else reject(new NetlinkError(Math.abs(err.errno ?? 5), undefined, 'read link events'));
          return;
        }
        const links = decodeMessages(Buffer.from(this.buf.subarray(0, n)))
          .filter((m) => m.type === RTM.NEWLINK || m.type === RTM.DELLINK)
          .map((m) => decodeLink(m.body));
        resolve({ links });
      });
    });
  }

  close(): void {
    this.sock.close();
  }
}
