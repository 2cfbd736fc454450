/**
 * The sockets of one command: one per namespace it reads or changes, opened on first use and
 * kept until the command ends (netlink's "handle per namespace"), plus open descriptors of the
 * namespaces links are created in (IFLA_NET_NS_FD).
 */
import { closeSync, openSync } from 'node:fs';
import type { Libc, RtnlSocket } from './socket.js';
import { openSocket } from './socket.js';

export class NetlinkSession {
  private readonly sockets = new Map<string, RtnlSocket>();
  private readonly nsFds = new Map<string, number>();

  constructor(private readonly libc: Libc) {}

  /** The socket of the namespace at `nsPath` (undefined: pipefitter's own). */
  socket(nsPath: string | undefined): RtnlSocket {
    const key = nsPath ?? '';
    let s = this.sockets.get(key);
    if (!s) {
      s = openSocket(this.libc, nsPath);
      this.sockets.set(key, s);
    }
    return s;
  }

  /** A descriptor of the namespace file, valid until close(). */
  nsFd(nsPath: string): number {
    let fd = this.nsFds.get(nsPath);
    if (fd === undefined) {
      fd = openSync(nsPath, 'r');
      this.nsFds.set(nsPath, fd);
    }
    return fd;
  }

  /** Requests sent through every socket so far. */
  get requests(): number {
    let n = 0;
    for (const s of this.sockets.values()) n += s.sent;
    return n;
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const fd of this.nsFds.values()) closeSync(fd);
    this.nsFds.clear();
  }
}
