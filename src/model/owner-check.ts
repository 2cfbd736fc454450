/**
 * The checks every ownership tag field passes when it is read (either version): a link alias is
 * text anyone can write, so nothing in it is trusted until it has the shape its field needs.
 */
import { parseCidr, parseIp } from '../addr.js';
import { isIfName } from '../names.js';
import { MTU, VLAN_ID } from '../values.js';
import { ADDR_FLAGS } from './observed.js';
import type { SavedAddr, SavedRoute, TagKind } from './owner-tag.js';

/** IFLA_IFALIAS holds IFALIASZ (256) bytes with the NUL: 255 of text. */
export const ALIAS_MAX_BYTES = 255;

export const KINDS: readonly TagKind[] = [
  'bridge',
  'veth',
  'veth-host',
  'macvlan',
  'ipvlan',
  'vlan',
  'phys',
  'pair',
  'vlan-shared',
  'macvlan-shim',
];

/** A field of a tag that does not parse; readTag turns it into a "corrupt" result. */
export class TagCorrupt extends Error {
  constructor(key: string, value: string, problem: string) {
    super(`ownership tag: field ${key} ${JSON.stringify(value)} ${problem}`);
    this.name = 'TagCorrupt';
  }
}

const uint = (s: string): number | undefined => (/^(0|[1-9][0-9]{0,9})$/.test(s) ? Number(s) : undefined);

const ok = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

export const checkText = (key: string, v: string): string => {
  if (v === '') throw new TagCorrupt(key, v, 'is empty');
  return v;
};

export const checkIfName = (key: string, v: string): string => {
  if (!isIfName(v)) throw new TagCorrupt(key, v, 'is not an interface name');
  return v;
};

export const checkMac = (key: string, v: string): string => {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) throw new TagCorrupt(key, v, 'is not a MAC address');
  return v;
};

export const checkMtu = (key: string, v: string): number => {
  const n = uint(v);
  if (n === undefined || n < MTU.min || n > MTU.max)
    throw new TagCorrupt(key, v, `is not an MTU (a whole number ${MTU.min}-${MTU.max})`);
  return n;
};

export const checkVlanList = (key: string, v: string): number => {
  const n = uint(v);
  if (n === undefined || n < VLAN_ID.min || n > VLAN_ID.max)
    throw new TagCorrupt(key, v, `is not a VLAN id (${VLAN_ID.min}-${VLAN_ID.max})`);
  return n;
};

export const checkVlan = (key: string, v: string): number | 'inside' =>
  v === 'inside' ? 'inside' : checkVlanList(key, v);

/** Users of a shared VLAN: base-36 short hashes, or "*". */
export const checkUsers = (key: string, v: string, sep: string): readonly string[] | '*' => {
  if (v === '*') return '*';
  const users = v.split(sep);
  if (users.some((u) => !/^[0-9a-z]{1,16}$/.test(u))) throw new TagCorrupt(key, v, 'is not a list of users');
  return users;
};

const checkAddress = (key: string, v: string, family?: 4 | 6): string => {
  if (v !== v.trim() || ok(() => parseIp(v, key, family ? { family } : {})) === undefined)
    throw new TagCorrupt(key, v, `is not an ${family ? `IPv${family} ` : 'IP '}address`);
  return v;
};

/** "A/P", as written. */
export const checkCidr = (key: string, v: string, family?: 4 | 6): string => {
  if (
    v !== v.trim() ||
    !v.includes('/') ||
    ok(() => parseCidr(v, key, family ? { family } : {})) === undefined
  )
    throw new TagCorrupt(key, v, `is not an ${family ? `IPv${family} ` : ''}address with a prefix length`);
  return v;
};

export const checkAddr = (
  key: string,
  raw: string,
  a: { readonly cidr: string; readonly broadcast: string; readonly flags: readonly string[] },
): SavedAddr => {
  checkCidr(key, a.cidr);
  const slash = a.cidr.indexOf('/');
  const address = a.cidr.slice(0, slash);
  const family = address.includes(':') ? 6 : 4;
  if (a.broadcast !== '') checkAddress(key, a.broadcast, 4);
  if (a.broadcast !== '' && family !== 4) throw new TagCorrupt(key, raw, 'gives an IPv6 address a broadcast');
  const flags = a.flags.map((f) => {
    const known = ADDR_FLAGS.find((x) => x === f);
    if (known === undefined) throw new TagCorrupt(key, raw, `has the unknown address flag "${f}"`);
    return known;
  });
  if (new Set(flags).size !== flags.length) throw new TagCorrupt(key, raw, 'repeats an address flag');
  return {
    family,
    address,
    prefix: Number(a.cidr.slice(slash + 1)),
    ...(a.broadcast !== '' ? { broadcast: a.broadcast } : {}),
    ...(flags.length ? { flags: flags } : {}),
  };
};

const WORD = /^[a-z0-9_.-]{1,32}$/i;

/** A saved route from its fields as text ('' for absent). */
export const checkRoute = (
  key: string,
  raw: string,
  f: {
    readonly family: string;
    readonly dst: string;
    readonly gateway: string;
    readonly dev: string;
    readonly metric: string;
    readonly onlink: string;
    readonly protocol: string;
    readonly scope: string;
    readonly src: string;
  },
): SavedRoute => {
  if (f.family !== '4' && f.family !== '6') throw new TagCorrupt(key, raw, 'has no family (4 or 6)');
  const family = f.family === '4' ? 4 : 6;
  // a host route is observed without its prefix length ("203.0.113.5")
  if (f.dst !== 'default' && !f.dst.includes('/')) checkAddress(key, f.dst, family);
  else if (f.dst !== 'default') checkCidr(key, f.dst, family);
  if (f.gateway !== '') checkAddress(key, f.gateway);
  if (f.dev !== '') checkIfName(key, f.dev);
  const metric = f.metric === '' ? undefined : uint(f.metric);
  if (metric === undefined && f.metric !== '')
    throw new TagCorrupt(key, raw, 'has a metric that is not a number');
  if (metric !== undefined && metric > 0xffffffff)
    throw new TagCorrupt(key, raw, 'has a metric out of range');
  if (f.onlink !== '' && f.onlink !== '1')
    throw new TagCorrupt(key, raw, 'has an onlink field that is not "1"');
  for (const w of [f.protocol, f.scope])
    if (w !== '' && !WORD.test(w))
      throw new TagCorrupt(key, raw, `has "${w}" where a protocol or scope goes`);
  if (f.src !== '') checkAddress(key, f.src, family);
  return {
    family,
    dst: f.dst,
    gateway: f.gateway || undefined,
    dev: f.dev || undefined,
    protocol: f.protocol || undefined,
    scope: f.scope || undefined,
    metric,
    prefsrc: f.src || undefined,
    onlink: f.onlink === '1',
    type: 'unicast',
  };
};
