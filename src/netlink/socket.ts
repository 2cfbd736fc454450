/**
 * rtnetlink sockets, in-process, through koffi: the only module that calls into native code and
 * the only one that ever switches namespace. A socket for another namespace is opened inside it
 * — setns() on the calling thread, socket(), setns() back — synchronously, with nothing in
 * between, and the way back is taken on every path; the socket then belongs to that namespace
 * for good, wherever it is used from. Requests and dumps are synchronous system calls:
 * rtnetlink answers in microseconds, and a blocking call keeps the switch and the exchange
 * free of any other JavaScript.
 */
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { checkFd } from './ns-identity.js';
import { createRequire } from 'node:module';
import type Koffi from 'koffi';
import { decodeError, decodeMessages, encodeMessage, i32, readI32 } from './codec.js';
import type { NlMessage } from './codec.js';
import { AF, CLONE_NEWNET, NETLINK_ROUTE, NLMSG, NLM_F, SOCKOPT, SOL_NETLINK } from './constants.js';
import { NetlinkError, errnoText } from './errno.js';

/** The C library calls pipefitter makes; tests pass failing ones to walk the error paths. */
export interface Libc {
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  close(fd: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  /** flock(2) on an open file (state/host-lock.ts): the kernel drops it when the process ends. */
  flock(fd: number, op: number): number;
  /** errno of the last call on this thread. */
  errno(): number;
}

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const EINTR = 4;
const EAGAIN = 11;

let loaded: Libc | { readonly error: string } | undefined;

/**
 * libc through koffi, loaded once. Undefined error means it works; otherwise why not (no
 * prebuilt koffi for this platform, no glibc, a policy refusing native code).
 */
export const loadLibc = (): Libc | { readonly error: string } => {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof Koffi;
    const libc = koffi.load('libc.so.6');
    const fns = {
      setns: libc.func('int setns(int fd, int nstype)'),
      socket: libc.func('int socket(int domain, int type, int protocol)'),
      close: libc.func('int close(int fd)'),
      send: libc.func('long send(int fd, const void *buf, size_t len, int flags)'),
      recv: libc.func('long recv(int fd, _Out_ void *buf, size_t len, int flags)'),
      setsockopt: libc.func(
        'int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)',
      ),
      bind: libc.func('int bind(int fd, const void *addr, uint32_t addrlen)'),
      sendto: libc.func(
        'long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)',
      ),
      flock: libc.func('int flock(int fd, int operation)'),
    };
    loaded = {
      setns: (fd, t) => fns.setns(fd, t) as number,
      socket: (d, t, p) => fns.socket(d, t, p) as number,
      close: (fd) => fns.close(fd) as number,
      send: (fd, b, l, f) => Number(fns.send(fd, b, l, f)),
      recv: (fd, b, l, f) => Number(fns.recv(fd, b, l, f)),
      setsockopt: (fd, lv, n, v, l) => fns.setsockopt(fd, lv, n, v, l) as number,
      bind: (fd, a, l) => fns.bind(fd, a, l) as number,
      sendto: (fd, b, l, f, a, al) => Number(fns.sendto(fd, b, l, f, a, al)),
      flock: (fd, op) => fns.flock(fd, op) as number,
      errno: () => koffi.errno(),
    };
  } catch (e) {
    loaded = { error: e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e) };
  }
  return loaded;
};

/** "dev:ino" of the namespace the calling thread is in. */
export const threadNetns = (): string => {
  const s = statSync('/proc/thread-self/ns/net');
  return `${s.dev}:${s.ino}`;
};

/** Raised when the way back from a namespace failed: the process must not go on. */
export class NamespaceLost extends Error {}

/**
 * Run `fn` inside the namespace at `nsPath`, synchronously, and come back — on every path.
 * Only for what binds itself to the namespace at once (a socket, an open /proc/sys file).
 */
const inside = <T>(
  libc: Libc,
  nsPath: string,
  expected: string | undefined,
  what: string,
  fn: () => T,
): T => {
  const home = homeFd();
  let target: number | undefined;
  try {
    try {
      target = openSync(nsPath, 'r');
    } catch (e) {
      throw new NetlinkError(2, undefined, `open ${nsPath}: ${(e as Error).message}`);
    }
    // the descriptor entered is the one checked: nothing can swap the namespace in between
    checkFd(target, nsPath, expected);
    if (libc.setns(target, CLONE_NEWNET) !== 0)
      throw new NetlinkError(libc.errno(), undefined, `enter the network namespace ${nsPath}`);
    let out: { value: T } | undefined;
    let err: Error | undefined;
    try {
      out = { value: fn() };
    } catch (e) {
      err = e instanceof Error ? e : new Error(String(e));
    }
    // the way back: nothing may stand between `fn` and this
    if (libc.setns(home, CLONE_NEWNET) !== 0) {
      const errno = libc.errno();
      if (out && typeof out.value === 'number' && out.value >= 0) libc.close(out.value);
      throw new NamespaceLost(
        `cannot return to pipefitter's own network namespace after ${what}: ${errnoText(errno)}`,
      );
    }
    if (err !== undefined) throw err;
    return (out as { value: T }).value;
  } finally {
    if (target !== undefined) closeSync(target);
  }
};

/**
 * A descriptor of the namespace pipefitter runs in, the way back from every switch: opened once
 * (at the first switch, from the thread that makes them all: JavaScript's) and kept until exit.
 */
let home: number | undefined;
const homeFd = (): number => (home ??= openSync('/proc/thread-self/ns/net', 'r'));

/**
 * sysctl -w KEY=VALUE inside a namespace: the /proc/sys file is opened there (which binds it to
 * that namespace) and written back home.
 * @example writeSysctl(libc, '/run/netns/r1', 'net/ipv6/conf/eth1/disable_ipv6', '0')
 */
export const writeSysctl = (
  libc: Libc,
  nsPath: string | undefined,
  key: string,
  value: string,
  expected?: string,
): void => {
  const file = `/proc/sys/${key.replaceAll('.', '/')}`;
  const open = (): number => {
    try {
      return openSync(file, 'r+');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new NetlinkError(code === 'ENOENT' ? 2 : code === 'EACCES' ? 13 : 22, undefined, `sysctl ${key}`);
    }
  };
  const fd = nsPath === undefined ? open() : inside(libc, nsPath, expected, `opening ${file}`, open);
  try {
    writeSync(fd, `${value}\n`);
  } catch (e) {
    throw new NetlinkError(22, undefined, `sysctl ${key}=${value}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
};

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const ETH_P_ARP = 0x0806;
const ETH_P_IP = 0x0800;

/**
 * The ARP packet of `arping -U -S ADDR ADDR`: an unsolicited request from ADDR at MAC, asking
 * for ADDR itself, so that neighbours replace a stale entry (RFC 5227's announcement).
 */
export const gratuitousArp = (mac: string, address: string): Buffer => {
  const hw = Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
  const ip = Buffer.from(address.split('.').map(Number));
  if (hw.length !== 6 || ip.length !== 4) throw new NetlinkError(22, undefined, `arp ${mac} ${address}`);
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); // Ethernet
  b.writeUInt16BE(ETH_P_IP, 2);
  b.writeUInt8(6, 4);
  b.writeUInt8(4, 5);
  b.writeUInt16BE(1, 6); // request
  hw.copy(b, 8);
  ip.copy(b, 14);
  ip.copy(b, 24); // the target hardware address stays zero
  return b;
};

/**
 * Broadcast one ARP packet from the interface `ifindex` of the namespace at `nsPath` (undefined:
 * the thread's own), on a packet socket opened inside it: the kernel adds the Ethernet header.
 */
export const sendArp = (
  libc: Libc,
  nsPath: string | undefined,
  expected: string | undefined,
  ifindex: number,
  packet: Buffer,
): void => {
  const open = (): number => libc.socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
  const fd = nsPath === undefined ? open() : inside(libc, nsPath, expected, 'opening a packet socket', open);
  if (fd < 0) throw new NetlinkError(libc.errno(), undefined, 'open a packet socket');
  try {
    // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
    const ll = Buffer.alloc(20);
    ll.writeUInt16LE(AF_PACKET, 0);
    ll.writeUInt16BE(ETH_P_ARP, 2);
    ll.writeInt32LE(ifindex, 4);
    ll.writeUInt8(6, 11);
    ll.fill(0xff, 12, 18);
    if (libc.sendto(fd, packet, packet.length, 0, ll, ll.length) < 0)
      throw new NetlinkError(libc.errno(), undefined, `send an ARP packet on interface ${ifindex}`);
  } finally {
    libc.close(fd);
  }
};

const htons = (x: number): number => ((x & 0xff) << 8) | ((x >> 8) & 0xff);

/**
 * Open a routing socket inside the namespace at `nsPath` (undefined: the thread's own), which
 * must be the namespace `expected` (ns-identity.ts) when one is given.
 * @throws NetlinkError when the namespace cannot be entered or the socket not made, TargetChanged
 *   when it is another namespace; the thread is back in its own namespace then. NamespaceLost if
 *   even the way back failed.
 */
export const openSocket = (libc: Libc, nsPath: string | undefined, expected?: string): RtnlSocket => {
  const make = (): number => makeSocket(libc, `open a netlink socket${nsPath ? ` in ${nsPath}` : ''}`);
  return configure(
    libc,
    nsPath === undefined ? make() : inside(libc, nsPath, expected, 'opening a netlink socket', make),
  );
};

const makeSocket = (libc: Libc, what: string): number => {
  const fd = libc.socket(AF.NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new NetlinkError(libc.errno(), undefined, what);
  return fd;
};

const configure = (libc: Libc, fd: number): RtnlSocket => {
  const one = i32(1);
  // the kernel's own error text (extended ack), acks without the echoed request, and
  // kernel-side filtering of dumps
  for (const opt of [SOCKOPT.EXT_ACK, SOCKOPT.CAP_ACK, SOCKOPT.GET_STRICT_CHK])
    libc.setsockopt(fd, SOL_NETLINK, opt, one, 4);
  // a reply never takes long; a missing one must not hang pipefitter
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(10n, 0);
  libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
  // the default buffers hold any answer: a request is one message, and a dump is handed over
  // one receive buffer (ours: 128 KiB) at a time
  return new RtnlSocket(libc, fd);
};

/**
 * Where every socket receives: one buffer for the process, since receiving is synchronous and
 * its messages are copied out before the next call (one per socket cost 128 KiB each, 64 MB and
 * its garbage collection for 500 namespaces).
 */
let received: Buffer | undefined;

/** One rtnetlink socket; requests are answered in order, matched by sequence number. */
export class RtnlSocket {
  private seq = Math.floor(Math.random() * 1e6);
  private closed = false;
  /** Requests sent (for benchmarks and tests). */
  sent = 0;

  constructor(
    private readonly libc: Libc,
    readonly fd: number,
  ) {}

  private send(type: number, flags: number, body: Buffer, what: string): number {
    if (this.closed) throw new Error(`internal: netlink socket used after close (${what})`);
    const seq = ++this.seq;
    const msg = encodeMessage(type, flags | NLM_F.REQUEST, seq, body);
    const n = this.libc.send(this.fd, msg, msg.length, 0);
    if (n !== msg.length) throw new NetlinkError(n < 0 ? this.libc.errno() : 105, undefined, what);
    this.sent++;
    return seq;
  }

  private receive(what: string): NlMessage[] {
    for (;;) {
      const buf = (received ??= Buffer.allocUnsafe(1 << 17));
      const n = this.libc.recv(this.fd, buf, buf.length, 0);
      if (n >= 0) return decodeMessages(Buffer.from(buf.subarray(0, n)));
      const errno = this.libc.errno();
      if (errno === EINTR) continue;
      throw new NetlinkError(errno === EAGAIN ? 110 : errno, undefined, `${what}: no answer from the kernel`);
    }
  }

  /**
   * A request the kernel acknowledges; returns what it sent before the ack (the object of a GET,
   * or of an NLM_F_ECHO). Throws NetlinkError with the kernel's errno and message.
   */
  request(type: number, flags: number, body: Buffer, what: string): NlMessage[] {
    const seq = this.send(type, flags | NLM_F.ACK, body, what);
    const out: NlMessage[] = [];
    for (;;) {
      for (const m of this.receive(what)) {
        if (m.seq !== seq) continue; // an answer to an earlier, abandoned request
        if (m.type === NLMSG.ERROR) {
          const e = decodeError(m);
          if (e.errno === 0) return out;
          throw new NetlinkError(e.errno, e.message, what);
        }
        out.push(m);
      }
    }
  }

  /** A dump: every object of a kind (filtered by the kernel where `body` asks). Retried if interrupted. */
  dump(type: number, body: Buffer, what: string): NlMessage[] {
    for (let attempt = 0; ; attempt++) {
      const seq = this.send(type, NLM_F.DUMP, body, what);
      const out: NlMessage[] = [];
      let interrupted = false;
      let done = false;
      while (!done) {
        for (const m of this.receive(what)) {
          if (m.seq !== seq) continue;
          if ((m.flags & NLM_F.DUMP_INTR) !== 0) interrupted = true;
          if (m.type === NLMSG.DONE) {
            const code = m.body.length >= 4 ? readI32(m.body, 0) : 0;
            if (code < 0) throw new NetlinkError(-code, undefined, what);
            done = true;
            break;
          }
          if (m.type === NLMSG.ERROR) {
            const e = decodeError(m);
            if (e.errno !== 0) throw new NetlinkError(e.errno, e.message, what);
            done = true;
            break;
          }
          if (m.type !== NLMSG.NOOP) out.push(m);
        }
      }
      // the table changed during the dump (another process at work): read it again
      if (!interrupted || attempt >= 4) return out;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.libc.close(this.fd);
  }
}
