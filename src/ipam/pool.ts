/**
 * Address pools for `auto` addresses. Pure: a pool is parsed once into bigint bounds, and
 * allocation is offset arithmetic over the taken set, so an IPv6 /64 is never enumerated.
 */
import { Address4, Address6 } from 'ip-address';
import type { Cidr, Family } from '../addr.js';
import { parseCidr } from '../addr.js';
import { badInput } from '../errors.js';

/** An inclusive address range inside one subnet, minus the addresses no interface may take. */
export interface Pool {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
  /** Prefix length of the subnet: the interface address is `address/prefix`. */
  readonly prefix: number;
  /** Addresses inside [first, last] that are never handed out (network, broadcast, gateway, ...). */
  readonly exclude: ReadonlySet<bigint>;
  /** Canonical text, e.g. "192.0.2.100-192.0.2.199" or "2001:db8::/64", for messages. */
  readonly text: string;
}

const BITS = { 4: 32, 6: 128 } as const;
const HINT = 'write a range such as 192.0.2.100-192.0.2.199, or a CIDR such as 192.0.2.128/25';

/** A bare address (no prefix, no zone) as its family and number, or undefined. */
const toValue = (text: string): { family: Family; value: bigint } | undefined => {
  const t = text.trim();
  if (t === '' || t.includes('/') || t.includes('%')) return undefined;
  if (!t.includes(':'))
    return Address4.isValid(t) ? { family: 4, value: new Address4(t).bigInt() } : undefined;
  return Address6.isValid(t) ? { family: 6, value: new Address6(t).bigInt() } : undefined;
};

const toText = (family: Family, value: bigint): string =>
  family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();

/** First and last address of the network `value/prefix`. */
const bounds = (family: Family, value: bigint, prefix: number): [bigint, bigint] => {
  const host = BigInt(BITS[family] - prefix);
  const start = (value >> host) << host;
  return [start, start + (1n << host) - 1n];
};

const familyName = (f: Family): string => (f === 4 ? 'IPv4' : 'IPv6');

/** Parse the two ends of `A-B`. */
const parseRange = (
  t: string,
  field: string,
  value: string,
): { family: Family; first: bigint; last: bigint } => {
  const parts = t.split('-');
  if (parts.length !== 2) throw badInput('E_BAD_VALUE', field, value, 'a range has exactly one "-"', HINT);
  const [a, b] = parts.map((p) => p.trim()) as [string, string];
  const lo = toValue(a);
  const hi = toValue(b);
  if (!lo || !hi)
    throw badInput('E_BAD_VALUE', field, value, `"${lo ? b : a}" is not an IP address without prefix`, HINT);
  if (lo.family !== hi.family)
    throw badInput(
      'E_BAD_VALUE',
      field,
      value,
      'the range mixes IPv4 and IPv6',
      'give both ends in the same family; use one network per family',
    );
  if (lo.value > hi.value)
    throw badInput(
      'E_BAD_VALUE',
      field,
      value,
      'the range is reversed',
      `write the lower address first: ${b}-${a}`,
    );
  return { family: lo.family, first: lo.value, last: hi.value };
};

/**
 * Parse a pool: an inclusive range `A-B` or a CIDR (all its host addresses), inside `subnet`
 * when given. A range needs the subnet (it gives the prefix); a CIDR alone is its own subnet.
 * The subnet's network and broadcast addresses (IPv4 below /31), its IPv6 subnet-router anycast
 * address (below /127) and `reserved` (e.g. the gateway) are never allocated.
 * @example parsePool('192.0.2.100-192.0.2.199', 'networks.lan.pool', parseCidr('192.0.2.0/24', 'subnet'), ['192.0.2.1'])
 */
export const parsePool = (
  text: string,
  field: string,
  subnet?: Cidr,
  reserved: readonly string[] = [],
): Pool => {
  const t = text.trim();
  let family: Family;
  let first: bigint;
  let last: bigint;
  let net: { family: Family; value: bigint; prefix: number; network: string };
  let canonical: string;
  let ownPrefix: number | undefined;
  if (t.includes('-')) {
    ({ family, first, last } = parseRange(t, field, text));
    if (!subnet)
      throw badInput(
        'E_BAD_VALUE',
        field,
        text,
        "a range needs the network's subnet for the prefix length",
        'give the subnet (e.g. 192.0.2.0/24), or write the pool as a CIDR',
      );
    canonical = `${toText(family, first)}-${toText(family, last)}`;
  } else if (t.includes('/')) {
    const c = parseCidr(t, field);
    if (c.text !== c.network)
      throw badInput('E_BAD_CIDR', field, text, 'host bits are set', `write the network: ${c.network}`);
    family = c.family;
    [first, last] = bounds(family, toValue(c.address)!.value, c.prefix);
    canonical = c.network;
    ownPrefix = c.prefix;
  } else {
    throw badInput('E_BAD_VALUE', field, text, 'not an address range or a CIDR', HINT);
  }
  if (subnet) {
    if (subnet.family !== family)
      throw badInput(
        'E_BAD_VALUE',
        field,
        text,
        `${familyName(family)} pool in the ${familyName(subnet.family)} subnet ${subnet.network}`,
        `give a pool inside ${subnet.network}`,
      );
    net = { family, value: toValue(subnet.address)!.value, prefix: subnet.prefix, network: subnet.network };
  } else {
    // only a CIDR gets here (a range without subnet was refused): it is its own subnet
    net = { family, value: first, prefix: ownPrefix ?? BITS[family], network: canonical };
  }
  const [start, end] = bounds(family, net.value, net.prefix);
  if (first < start || last > end)
    throw badInput(
      'E_BAD_VALUE',
      field,
      text,
      `the pool reaches outside the subnet ${net.network}`,
      `keep both ends inside ${net.network}`,
    );
  const exclude = new Set<bigint>();
  const skip = (v: bigint): void => {
    if (v >= first && v <= last) exclude.add(v);
  };
  if (family === 4 && net.prefix < 31) [start, end].forEach(skip);
  if (family === 6 && net.prefix < 127) skip(start);
  for (const r of reserved) {
    const v = toValue(r.split('/')[0] ?? r);
    if (v?.family === family) skip(v.value);
  }
  if (last - first + 1n - BigInt(exclude.size) <= 0n)
    throw badInput(
      'E_BAD_VALUE',
      field,
      text,
      `no usable address is left (network, broadcast or reserved addresses only)`,
      `widen the pool inside ${net.network}`,
    );
  return { family, first, last, prefix: net.prefix, exclude, text: canonical };
};

/** How many addresses the pool can hand out in all. */
export const poolSize = (pool: Pool): bigint => pool.last - pool.first + 1n - BigInt(pool.exclude.size);

/** The number of `address` (with or without prefix) when it is an allocatable address of the pool. */
const valueIn = (pool: Pool, address: string): bigint | undefined => {
  const v = toValue(address.split('/')[0] ?? address);
  if (!v || v.family !== pool.family || v.value < pool.first || v.value > pool.last) return undefined;
  return pool.exclude.has(v.value) ? undefined : v.value;
};

/** True when `address` (with or without prefix) is one the pool may hand out. */
export const inPool = (pool: Pool, address: string): boolean => valueIn(pool, address) !== undefined;

/**
 * The lowest free address of the pool (canonical form), or `hint` when it is free and in the
 * pool (so a key keeps its address). `taken` holds addresses with or without prefix, of any
 * pool or family. undefined when the pool is full.
 * @example allocate(pool, new Set(['192.0.2.100/24'])) // '192.0.2.101'
 */
export const allocate = (pool: Pool, taken: ReadonlySet<string>, hint?: string): string | undefined => {
  const used = new Set<bigint>();
  for (const t of taken) {
    const v = valueIn(pool, t);
    if (v !== undefined) used.add(v);
  }
  if (hint !== undefined) {
    const h = valueIn(pool, hint);
    if (h !== undefined && !used.has(h)) return toText(pool.family, h);
  }
  // Each step past `first` lands on a distinct used or excluded address, so this loop runs at
  // most |used| + |exclude| + 1 times however large the pool is.
  for (let v = pool.first; v <= pool.last; v++)
    if (!used.has(v) && !pool.exclude.has(v)) return toText(pool.family, v);
  return undefined;
};

/**
 * The interface address for an allocated address: `address/prefix` of the pool's subnet.
 * @example addressToCidr(pool, '192.0.2.100') // '192.0.2.100/24'
 */
export const addressToCidr = (pool: Pool, address: string): string => {
  const v = toValue(address.split('/')[0] ?? address);
  return `${v ? toText(v.family, v.value) : address}/${pool.prefix}`;
};
