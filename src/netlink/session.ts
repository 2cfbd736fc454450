/**
 * The sockets of one command: one per namespace it reads or changes, opened on first use and
 * kept until the command ends (netlink's "handle per namespace"), plus open descriptors of the
 * namespaces links are created in (IFLA_NET_NS_FD).
 */
import { closeSync } from 'node:fs';
import { checkPath, openChecked } from './ns-identity.js';
import type { Libc, RtnlSocket } from './socket.js';
import { openSocket } from './socket.js';

export class NetlinkSession {
  private readonly sockets = new Map<string, RtnlSocket>();
  private readonly nsFds = new Map<string, number>();

  constructor(private readonly libc: Libc) {}

  /**
   * The socket of the namespace at `nsPath` (undefined: pipefitter's own). With an `expected`
   * identity, the namespace is checked on the descriptor it is entered by when the socket is
   * opened, and at every later use the path must still name it.
   * @throws TargetChanged when it names another namespace
   */
  socket(nsPath: string | undefined, expected?: string): RtnlSocket {
    const key = nsPath ?? '';
    let s = this.sockets.get(key);
    if (!s) {
      s = openSocket(this.libc, nsPath, expected);
      this.sockets.set(key, s);
    } else if (nsPath !== undefined) checkPath(nsPath, expected);
    return s;
  }

  /** A descriptor of the namespace file, valid until close(), checked as socket() checks. */
  nsFd(nsPath: string, expected?: string): number {
    let fd = this.nsFds.get(nsPath);
    if (fd === undefined) {
      fd = openChecked(nsPath, expected);
      this.nsFds.set(nsPath, fd);
    } else checkPath(nsPath, expected);
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
