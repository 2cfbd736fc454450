/** IP address values, parsed once with ip-address and carried as canonical strings. */
import { Address4, Address6 } from 'ip-address';
import { badInput } from './errors.js';

export type Family = 4 | 6;

declare const cidrBrand: unique symbol;
declare const ipBrand: unique symbol;

/** An interface address with its prefix, e.g. 192.0.2.10/24 (host bits may be set). */
export interface Cidr {
  readonly [cidrBrand]: true;
  readonly family: Family;
  /** Canonical address without prefix, e.g. "2001:db8::10". */
  readonly address: string;
  readonly prefix: number;
  /** "address/prefix", as `ip` prints and takes it. */
  readonly text: string;
  /** Canonical network, e.g. "192.0.2.0/24". */
  readonly network: string;
}

export interface IpAddr {
  readonly [ipBrand]: true;
  readonly family: Family;
  readonly address: string;
}

const exampleFor = (value: string): string => (value.includes(':') ? '2001:db8::10/64' : '192.0.2.10/24');

/** Parsed once (isValid would parse it a second time). */
const parseAny = (text: string): Address4 | Address6 | undefined => {
  try {
    if (!text.includes(':')) return new Address4(text);
  } catch {
    return undefined;
  }
  try {
    if (!text.includes('%')) return new Address6(text);
  } catch {
    return undefined;
  }
  return undefined;
};

/** The parsed form of each address parseCidr has seen (a plain address, without its prefix). */
const addresses = new Map<string, Address4 | Address6>();
const addressOf = (c: Cidr): Address4 | Address6 => {
  let a = addresses.get(c.address);
  if (a === undefined) {
    a = c.family === 4 ? new Address4(c.address) : new Address6(c.address);
    remember(addresses, c.address, a);
  }
  return a;
};

const makeCidr = (a: Address4 | Address6, prefix: number): Cidr => {
  const family: Family = a instanceof Address4 ? 4 : 6;
  const address = a.correctForm();
  remember(addresses, address, a);
  // the network: the address with its host bits cleared (the mask made once per prefix)
  const start = a.bigInt() & maskOf(family, prefix);
  const network = (family === 4 ? Address4.fromBigInt(start) : Address6.fromBigInt(start)).correctForm();
  return { family, address, prefix, text: `${address}/${prefix}`, network: `${network}/${prefix}` } as Cidr;
};

const masks = new Map<string, bigint>();
const maskOf = (family: Family, prefix: number): bigint => {
  const key = `${family}/${prefix}`;
  let m = masks.get(key);
  if (m === undefined) {
    const bits = BigInt(family === 4 ? 32 : 128);
    m = ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
    masks.set(key, m);
  }
  return m;
};

const familyName = (f: Family): string => (f === 4 ? 'IPv4' : 'IPv6');

/**
 * Parse an interface address that must carry a prefix length.
 * @example parseCidr('192.0.2.10/24', '--ip').network // '192.0.2.0/24'
 */
export const parseCidr = (value: string, field: string, opts: { family?: Family } = {}): Cidr => {
  const v = value.trim();
  // parsed once per run: a recipe's address is checked by its rules, its pool and the planner
  const cidr = cidrs.get(v) ?? parseNewCidr(v, value, field);
  if (cidrs.size < 100_000) cidrs.set(v, cidr);
  if (opts.family !== undefined && cidr.family !== opts.family)
    throw badInput(
      'E_FAMILY',
      field,
      value,
      `${familyName(cidr.family)} address where ${familyName(opts.family)} was asked`,
      `give an ${familyName(opts.family)} address, e.g. ${opts.family === 4 ? '192.0.2.10/24' : '2001:db8::10/64'}`,
    );
  return cidr;
};
const cidrs = new Map<string, Cidr>();

const parseNewCidr = (v: string, value: string, field: string): Cidr => {
  const slash = v.indexOf('/');
  if (slash < 0) {
    const bare = parseAny(v);
    if (bare)
      throw badInput(
        'E_BAD_CIDR',
        field,
        value,
        'prefix length missing',
        `add a prefix, e.g. ${v}/${bare instanceof Address4 ? 24 : 64}`,
      );
    throw badInput(
      'E_BAD_CIDR',
      field,
      value,
      'not an IP address with a prefix',
      `write it as address/prefix, e.g. ${exampleFor(v)}`,
    );
  }
  const addrText = v.slice(0, slash);
  const prefixText = v.slice(slash + 1);
  const a = parseAny(addrText);
  if (!a)
    throw badInput(
      'E_BAD_CIDR',
      field,
      value,
      `"${addrText}" is not an IPv4 or IPv6 address`,
      `write it as address/prefix, e.g. ${exampleFor(v)}`,
    );
  const max = a instanceof Address4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max)
    throw badInput(
      'E_BAD_CIDR',
      field,
      value,
      `prefix length must be 0-${max}`,
      `e.g. ${addrText}/${max === 32 ? 24 : 64}`,
    );
  return makeCidr(a, Number(prefixText));
};

/** An interface address: like parseCidr, but refuses addresses no host can use. */
export const parseHostCidr = (value: string, field: string, opts: { family?: Family } = {}): Cidr => {
  const c = parseCidr(value, field, opts);
  if (addressOf(c).isMulticast())
    throw badInput(
      'E_BAD_CIDR',
      field,
      value,
      'multicast address cannot be an interface address',
      `use a unicast address, e.g. ${exampleFor(value)}`,
    );
  if (c.family === 4 && c.prefix < 31) {
    if (`${c.address}/${c.prefix}` === c.network)
      throw badInput(
        'E_BAD_CIDR',
        field,
        value,
        `this is the network address of ${c.network}, not a host address`,
        `pick a host in the subnet, e.g. ${nthHost(c, 10)}/${c.prefix}`,
      );
    if (c.address === broadcastOf(c))
      throw badInput(
        'E_BAD_CIDR',
        field,
        value,
        `this is the broadcast address of ${c.network}`,
        `pick a host in the subnet, e.g. ${nthHost(c, 10)}/${c.prefix}`,
      );
  }
  if (c.family === 6 && c.address === '::')
    throw badInput(
      'E_BAD_CIDR',
      field,
      value,
      'the unspecified address cannot be an interface address',
      'e.g. 2001:db8::10/64',
    );
  return c;
};

/** A route destination: `default` or a network; host bits are cleared as the kernel requires. */
export const parseDestination = (value: string, field: string): Cidr | 'default' => {
  if (value === 'default') return 'default';
  const c = parseCidr(value.includes('/') ? value : `${value}/${value.includes(':') ? 128 : 32}`, field);
  const [address] = c.network.split('/') as [string];
  return { ...c, address, text: c.network };
};

export const parseIp = (value: string, field: string, opts: { family?: Family } = {}): IpAddr => {
  const v = value.trim();
  const a = v.includes('/') ? undefined : parseAny(v);
  if (!a)
    throw badInput(
      'E_BAD_ADDRESS',
      field,
      value,
      'not an IP address',
      `write a plain address without prefix, e.g. ${v.includes(':') ? '2001:db8::1' : '192.0.2.1'}`,
    );
  const family: Family = a instanceof Address4 ? 4 : 6;
  if (opts.family !== undefined && family !== opts.family)
    throw badInput(
      'E_FAMILY',
      field,
      value,
      `${familyName(family)} address where ${familyName(opts.family)} was asked`,
      `give an ${familyName(opts.family)} address`,
    );
  return { family, address: a.correctForm() } as IpAddr;
};

/** True when `ip` lies inside the subnet of `cidr` (so it is reachable without an on-link route). */
export const inSubnet = (cidr: Cidr, ip: IpAddr): boolean => {
  if (cidr.family !== ip.family) return false;
  // as numbers: the network's first and last address, and the address (each made once a run)
  const [first, last] = rangeOf(cidr.family, cidr.network);
  const n = numberOf(ip.family, ip.address);
  return n >= first && n <= last;
};

const ranges = new Map<string, readonly [bigint, bigint]>();
const rangeOf = (family: Family, network: string): readonly [bigint, bigint] => {
  let r = ranges.get(network);
  if (r === undefined) {
    const n = networkOf4or6(family, network);
    r = [n.startAddress().bigInt(), n.endAddress().bigInt()];
    remember(ranges, network, r);
  }
  return r;
};
const numbers = new Map<string, bigint>();
const numberOf = (family: Family, address: string): bigint => {
  let n = numbers.get(address);
  if (n === undefined) {
    n = (addresses.get(address) ?? (family === 4 ? new Address4(address) : new Address6(address))).bigInt();
    remember(numbers, address, n);
  }
  return n;
};

// What a run asks of the same network again and again (a recipe's 500 addresses share one
// subnet): its parsed form and its broadcast address, kept for the run.
const networks = new Map<string, Address4 | Address6>();
const broadcasts = new Map<string, string>();
const remember = <V>(m: Map<string, V>, k: string, v: V): void => {
  if (m.size < 100_000) m.set(k, v);
};
const networkOf4or6 = (family: Family, network: string): Address4 | Address6 => {
  let n = networks.get(network);
  if (n === undefined) {
    n = family === 4 ? new Address4(network) : new Address6(network);
    remember(networks, network, n);
  }
  return n;
};

export const broadcastOf = (c: Cidr): string => {
  let b = broadcasts.get(c.network);
  if (b === undefined) {
    b = networkOf4or6(c.family, c.network).endAddress().correctForm();
    remember(broadcasts, c.network, b);
  }
  return b;
};

/**
 * The broadcast address an IPv4 interface address gets (`ip addr add A brd B`, as pipework and
 * Docker add theirs): the last address of its subnet. None for IPv6, and none for /31 and /32,
 * which have no broadcast (RFC 3021).
 * @example interfaceBroadcast(parseCidr('192.0.2.10/24', 'ip')) // '192.0.2.255'
 */
export const interfaceBroadcast = (c: Cidr): string | undefined =>
  c.family === 4 && c.prefix < 31 ? broadcastOf(c) : undefined;

/** The network of an address and prefix as the kernel sees it, e.g. networkOf('192.0.2.10', 24) === '192.0.2.0/24'. */
export const networkOf = (address: string, prefix: number): string => {
  const key = `${address}/${prefix}`;
  const known = cidrs.get(key);
  if (known) return known.network;
  const a = parseAny(address);
  return a ? makeCidr(a, prefix).network : key;
};

/** The n-th address of the subnet (n=1 is the first host). */
export const nthHost = (c: Cidr, n: number): string => {
  if (c.family === 4) {
    const start = new Address4(c.network).startAddress().bigInt();
    return Address4.fromBigInt(start + BigInt(n)).correctForm();
  }
  const start = new Address6(c.network).startAddress().bigInt();
  return Address6.fromBigInt(start + BigInt(n)).correctForm();
};

export const familyOf = (address: string): Family => (address.includes(':') ? 6 : 4);

export const sameAddress = (a: string, b: string): boolean => {
  const x = correctForm(a);
  return x !== null && x === correctForm(b) && familyOf(a) === familyOf(b);
};

/** Correct forms by text, null for no address: observing 500 namespaces asks ~5000 times. */
const forms = new Map<string, string | null>();
const correctForm = (address: string): string | null => {
  let c = forms.get(address);
  if (c === undefined) {
    c = parseAny(address)?.correctForm() ?? null;
    if (forms.size < 100_000) forms.set(address, c);
  }
  return c;
};

/** Canonical form of an address string printed by `ip` (so comparisons never differ by notation). */
export const canonicalAddress = (address: string): string => correctForm(address) ?? address;
