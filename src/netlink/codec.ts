/**
 * Netlink wire format, pure: messages (struct nlmsghdr + payload, 4-byte aligned) and
 * attributes (struct rtattr/nlattr: u16 length, u16 type, payload, padded to 4), in the host's
 * byte order (little-endian on every architecture koffi ships for but none we rely on: the
 * byte order is asked of the platform).
 */
import { Address4, Address6 } from 'ip-address';
import { endianness } from 'node:os';
import { NLMSG, SIZE } from './constants.js';

const LE = endianness() === 'LE';
export const align = (n: number): number => (n + 3) & ~3;
/** The type bits of nla_type (NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off). */
const TYPE_MASK = 0x3fff;

// --- scalar payloads --------------------------------------------------------------------------

export const u8 = (v: number): Buffer => Buffer.from([v & 0xff]);
export const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  if (LE) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
};
export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
};
export const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  if (LE) b.writeInt32LE(v);
  else b.writeInt32BE(v);
  return b;
};
/** A NUL-terminated string (IFLA_IFNAME, IFLA_INFO_KIND, ...). */
export const str = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');
/** Network byte order u16 (a VXLAN port). */
export const be16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};

export const readU16 = (b: Buffer, at = 0): number => (LE ? b.readUInt16LE(at) : b.readUInt16BE(at));
export const readU32 = (b: Buffer, at = 0): number => (LE ? b.readUInt32LE(at) : b.readUInt32BE(at));
export const readI32 = (b: Buffer, at = 0): number => (LE ? b.readInt32LE(at) : b.readInt32BE(at));
export const readStr = (b: Buffer): string => {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
};

/** An IPv4 or IPv6 address in the kernel's binary form (4 or 16 bytes). */
export const ipBytes = (address: string): Buffer => {
  if (address.includes(':')) {
    const a = [...new Address6(address).toUnsignedByteArray()];
    return Buffer.from([...Array<number>(16 - a.length).fill(0), ...a]);
  }
  return Buffer.from(new Address4(address).toArray());
};
/** The text form `ip` prints (canonical IPv6), of 4 or 16 bytes; undefined for anything else. */
export const ipText = (b: Buffer): string | undefined => {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) return ipv6Text(b);
  return undefined;
};

/**
 * RFC 5952 text of 16 bytes (what ip-address's correctForm gives, test/unit/netlink pins it):
 * lower-case groups without leading zeros, the longest run of two or more zero groups (the
 * first of equal ones) as `::`. Written out because the kernel's bytes need no parsing, and
 * going through a parser cost a third of observing 500 namespaces.
 */
export const ipv6Text = (b: Buffer): string => {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
};
/** A link-layer address as `ip` prints it: lower-case hex octets joined by ":". */
export const macText = (b: Buffer): string => {
  let out = '';
  for (let i = 0; i < b.length; i++) out += (i ? ':' : '') + HEX2[b[i] ?? 0];
  return out;
};
const HEX2 = Array.from({ length: 256 }, (_, x) => x.toString(16).padStart(2, '0'));
export const macBytes = (mac: string): Buffer =>
  Buffer.from(mac.split(':').map((x) => Number.parseInt(x, 16)));

// --- attributes -------------------------------------------------------------------------------

/** One attribute: its payload, padded. */
export const attr = (type: number, payload: Buffer): Buffer => {
  const len = 4 + payload.length;
  const out = Buffer.alloc(align(len));
  u16(len).copy(out, 0);
  u16(type).copy(out, 2);
  payload.copy(out, 4);
  return out;
};
/** An attribute holding other attributes. */
export const nest = (type: number, children: readonly Buffer[]): Buffer =>
  attr(type, Buffer.concat(children));

export interface RawAttr {
  readonly type: number;
  readonly data: Buffer;
}

/** The attributes in `b` from `offset` on; a truncated one ends the list. */
export const decodeAttrs = (b: Buffer, offset = 0): RawAttr[] => {
  const out: RawAttr[] = [];
  let at = offset;
  while (at + 4 <= b.length) {
    const len = readU16(b, at);
    if (len < 4 || at + len > b.length) break;
    out.push({ type: readU16(b, at + 2) & TYPE_MASK, data: b.subarray(at + 4, at + len) });
    at += align(len);
  }
  return out;
};

/**
 * The attributes of `b` from `offset`, looked up by type (the first of each): one pass that
 * notes where each starts, and a Buffer made only for those asked for — a link carries ~40
 * attributes, a reader wants ~10, and 500 namespaces' dumps made half a million of them.
 */
export const attrsOf = (b: Buffer, offset = 0): ((type: number) => Buffer | undefined) => {
  // attribute types are small numbers (IFLA_MAX is ~65): a plain array indexed by type
  const at: number[] = [];
  let i = offset;
  while (i + 4 <= b.length) {
    const len = readU16(b, i);
    if (len < 4 || i + len > b.length) break;
    const type = readU16(b, i + 2) & TYPE_MASK;
    if (at[type] === undefined) at[type] = i;
    i += align(len);
  }
  return (type) => {
    const start = at[type];
    return start === undefined ? undefined : b.subarray(start + 4, start + readU16(b, start));
  };
};

// --- messages ---------------------------------------------------------------------------------

export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** The payload after the header. */
  readonly body: Buffer;
}

export const encodeMessage = (type: number, flags: number, seq: number, body: Buffer): Buffer => {
  const h = Buffer.alloc(SIZE.NLMSGHDR);
  u32(SIZE.NLMSGHDR + body.length).copy(h, 0);
  u16(type).copy(h, 4);
  u16(flags).copy(h, 6);
  u32(seq).copy(h, 8);
  u32(0).copy(h, 12);
  return Buffer.concat([h, body, Buffer.alloc(align(body.length) - body.length)]);
};

/** Every message in one datagram. */
export const decodeMessages = (b: Buffer): NlMessage[] => {
  const out: NlMessage[] = [];
  let at = 0;
  while (at + SIZE.NLMSGHDR <= b.length) {
    const len = readU32(b, at);
    if (len < SIZE.NLMSGHDR || at + len > b.length) break;
    out.push({
      type: readU16(b, at + 4),
      flags: readU16(b, at + 6),
      seq: readU32(b, at + 8),
      pid: readU32(b, at + 12),
      body: b.subarray(at + SIZE.NLMSGHDR, at + len),
    });
    at += align(len);
  }
  return out;
};

/** An NLMSG_ERROR body: the (negative) errno, 0 for an ack, and the extended-ack message if any. */
export const decodeError = (m: NlMessage): { errno: number; message?: string | undefined } => {
  const code = readI32(m.body, 0);
  // struct nlmsgerr: int error, then the request's header (and, unless capped, its payload)
  const requestLen = m.body.length >= 20 ? readU32(m.body, 4) : 0;
  const tlvAt = 4 + ((m.flags & 0x100) !== 0 ? SIZE.NLMSGHDR : align(requestLen));
  const msg = (m.flags & 0x200) !== 0 ? decodeAttrs(m.body, tlvAt).find((a) => a.type === 1) : undefined;
  return { errno: -code, message: msg ? readStr(msg.data) : undefined };
};

export const isDone = (m: NlMessage): boolean => m.type === NLMSG.DONE;
export const isError = (m: NlMessage): boolean => m.type === NLMSG.ERROR;
