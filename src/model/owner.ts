/**
 * Ownership tags. pipefitter marks what it makes with the link alias (IFLA_IFALIAS, up to 255
 * bytes), so that `show`, `detach` and recipes can tell its links from anyone else's, even
 * after the container was restarted or the recipe file changed.
 *
 * Version 2 (written now) is `pf2:` and `key=value` fields joined by `&`. A value is typed: a
 * number, a flag (`1`), a list (`,`), or a list of records (`;` between records, `,` between a
 * record's positional fields). Text is percent-encoded outside `A-Z a-z 0-9 . _ - : / @ *`, so
 * a tag never holds a blank, `#` or a quote (`ip -batch` carries it as one word) and no
 * separator is ambiguous. Every field is checked when read: a tag that does not parse is
 * reported as corrupt, never half-read.
 * @example encodeTag({ kind: 'veth', target: 'netns:r1', ifname: 'eth1', bridge: 'br-lab' })
 *   // 'pf2:k=veth&t=netns:r1&i=eth1&b=br-lab'
 *
 * Version 1 (`pf1:`, URL-encoded, routes kept as `ip route` words) is still read: owner-v1.ts.
 */

import type { OwnerTag, SavedAddr, SavedRoute, TagKind, TagRead } from './owner-tag.js';
import { decodeTagV1, TAG_V1_PREFIX } from './owner-v1.js';
import {
  ALIAS_MAX_BYTES,
  KINDS,
  TagCorrupt,
  checkAddr,
  checkIfName,
  checkMac,
  checkMtu,
  checkRoute,
  checkText,
  checkUsers,
  checkVlan,
  checkVlanList,
  checkCidr,
} from './owner-check.js';

export { ALIAS_MAX_BYTES };
export type { OwnerTag, SavedAddr, SavedRoute, TagKind, TagRead } from './owner-tag.js';
export const TAG_PREFIX = 'pf2:';

// --- text of one value ----------------------------------------------------------------------

const PLAIN = /^[A-Za-z0-9._:/@*-]$/;

const esc = (s: string): string => {
  let out = '';
  for (const ch of s)
    out += PLAIN.test(ch)
      ? ch
      : [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  return out;
};

const unesc = (s: string, key: string): string => {
  if (!/^(?:[A-Za-z0-9._:/@*-]|%[0-9A-F]{2})*$/.test(s))
    throw new TagCorrupt(key, s, 'holds a stray character');
  try {
    return decodeURIComponent(s);
  } catch {
    throw new TagCorrupt(key, s, 'is not valid percent-encoded UTF-8');
  }
};

// --- records ----------------------------------------------------------------------------------

/** Positional fields, trailing empty ones left out. */
const record = (fields: readonly (string | undefined)[]): string => {
  const f = fields.map((x) => (x === undefined ? '' : esc(x)));
  while (f.length > 0 && f[f.length - 1] === '') f.pop();
  return f.join(',');
};

const fields = (s: string, key: string, max: number): string[] => {
  const f = s.split(',').map((x) => unesc(x, key));
  if (f.length > max) throw new TagCorrupt(key, s, `has ${f.length} fields, at most ${max}`);
  return f;
};

const routeRecord = (r: SavedRoute): string =>
  record([
    String(r.family),
    r.dst,
    r.gateway,
    r.dev,
    r.metric === undefined ? undefined : String(r.metric),
    r.onlink ? '1' : undefined,
    r.protocol,
    r.scope,
    r.prefsrc,
  ]);

const routeOf = (s: string, key: string): SavedRoute => {
  const [
    family = '',
    dst = '',
    gateway = '',
    dev = '',
    metric = '',
    onlink = '',
    protocol = '',
    scope = '',
    src = '',
  ] = fields(s, key, 9);
  return checkRoute(key, s, { family, dst, gateway, dev, metric, onlink, protocol, scope, src });
};

const addrRecord = (a: SavedAddr): string =>
  record([`${a.address}/${a.prefix}`, a.broadcast, a.flags?.length ? a.flags.join('+') : undefined]);

const addrOf = (s: string, key: string): SavedAddr => {
  const [cidr = '', broadcast = '', flags = ''] = fields(s, key, 3);
  return checkAddr(key, s, { cidr, broadcast, flags: flags === '' ? [] : flags.split('+') });
};

const records = <T>(s: string, key: string, one: (x: string, key: string) => T): T[] => {
  if (s === '') throw new TagCorrupt(key, s, 'is empty');
  return s.split(';').map((x) => one(x, key));
};

// --- fields -----------------------------------------------------------------------------------

type Field = Exclude<keyof OwnerTag, 'kind'>;

interface Codec<T> {
  readonly key: string;
  readonly write: (v: T) => string;
  /** Reads the raw (still percent-encoded) value, or throws TagCorrupt. */
  readonly read: (raw: string, key: string) => T;
}

const text = (key: string, check: (key: string, v: string) => string = checkText): Codec<string> => ({
  key,
  write: esc,
  read: (raw, k) => check(k, unesc(raw, k)),
});
const flag = (key: string): Codec<boolean> => ({
  key,
  write: () => '1',
  read: (raw, k) => {
    if (raw !== '1') throw new TagCorrupt(k, raw, 'is a flag: "1" or absent');
    return true;
  },
});
const list = <T>(
  key: string,
  write: (v: T) => string,
  one: (x: string, key: string) => T,
): Codec<readonly T[]> => ({
  key,
  write: (v) => v.map(write).join(','),
  read: (raw, k) => {
    if (raw === '') throw new TagCorrupt(k, raw, 'is empty');
    return raw.split(',').map((x) => one(unesc(x, k), k));
  },
});

const CODECS: { readonly [F in Field]-?: Codec<NonNullable<OwnerTag[F]>> } = {
  target: text('t'),
  ifname: text('i', checkIfName),
  bridge: text('b', checkIfName),
  parent: text('l', checkIfName),
  origName: text('o', checkIfName),
  prevAlias: text('pa', (_k, v) => v),
  origMtu: { key: 'om', write: String, read: (raw, k) => checkMtu(k, raw) },
  origMac: text('oa', checkMac),
  origUp: flag('ou'),
  hostAddrs: {
    key: 'ha',
    write: (v) => v.map(addrRecord).join(';'),
    read: (raw, k) => records(raw, k, addrOf),
  },
  hostRoutes: {
    key: 'hr',
    write: (v) => v.map(routeRecord).join(';'),
    read: (raw, k) => records(raw, k, routeOf),
  },
  prevDefaults: {
    key: 'pd',
    write: (v) => v.map(routeRecord).join(';'),
    read: (raw, k) => {
      const rs = records(raw, k, routeOf);
      if (rs.some((r) => r.dst !== 'default'))
        throw new TagCorrupt(k, raw, 'holds a route that is not a default route');
      return rs;
    },
  },
  peer: text('p'),
  peerIfname: text('pi', checkIfName),
  bridgeAddrs: list('ba', esc, (x, k) => checkCidr(k, x)),
  addrs: list('a', esc, (x, k) => checkCidr(k, x)),
  vlan: { key: 'v', write: String, read: (raw, k) => checkVlan(k, raw) },
  trunk: list('tr', String, (x, k) => checkVlanList(k, x)),
  users: {
    key: 'u',
    write: (v) => (v === '*' ? '*' : v.join(',')),
    read: (raw, k) => checkUsers(k, raw, ','),
  },
  dhcp: flag('dh'),
  recipe: text('r'),
};

const FIELDS = Object.keys(CODECS) as Field[];

/** The tag as version 2 text. */
export const encodeTag = (tag: OwnerTag): string => {
  const parts = [`k=${tag.kind}`];
  for (const f of FIELDS) {
    const v = tag[f];
    if (v === undefined) continue;
    const c = CODECS[f] as Codec<typeof v>;
    parts.push(`${c.key}=${c.write(v)}`);
  }
  return TAG_PREFIX + parts.join('&');
};

const BY_KEY = new Map(FIELDS.map((f) => [CODECS[f].key, f]));

const decodeTagV2 = (body: string): OwnerTag => {
  const out: Record<string, unknown> = {};
  let kind: TagKind | undefined;
  const seen = new Set<string>();
  for (const part of body.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new TagCorrupt('?', part, 'is not key=value');
    const key = part.slice(0, eq);
    const raw = part.slice(eq + 1);
    if (seen.has(key)) throw new TagCorrupt(key, raw, 'is given twice');
    seen.add(key);
    if (key === 'k') {
      kind = KINDS.find((x) => x === raw);
      if (kind === undefined) throw new TagCorrupt(key, raw, 'is no kind of link pipefitter makes');
      continue;
    }
    const f = BY_KEY.get(key);
    if (f === undefined) throw new TagCorrupt(key, raw, 'is no field of a version 2 tag');
    out[f] = CODECS[f].read(raw, key);
  }
  if (kind === undefined) throw new TagCorrupt('k', '', 'is missing');
  return { kind, ...out };
};

/**
 * Read a link alias: a tag of ours (either version), none, or a corrupt one with what is wrong.
 * @example readTag('pf2:k=veth&om=abc') // { status: 'corrupt', message: 'ownership tag: om "abc": …' }
 */
export const readTag = (alias: string | undefined): TagRead => {
  if (alias === undefined) return NONE;
  // each alias is read several times by one plan (comparison, repair, pruning): decoded once
  let r = readTags.get(alias);
  if (r === undefined) {
    r = decodeAlias(alias);
    if (readTags.size < 100_000) readTags.set(alias, r);
  }
  return r;
};
const NONE: TagRead = Object.freeze({ status: 'none' });
const readTags = new Map<string, TagRead>();

const decodeAlias = (alias: string): TagRead => {
  const version = alias.startsWith(TAG_PREFIX) ? 2 : alias.startsWith(TAG_V1_PREFIX) ? 1 : undefined;
  if (version === undefined) return NONE;
  try {
    const body = alias.slice(4);
    const tag = version === 2 ? decodeTagV2(body) : decodeTagV1(body);
    return Object.freeze({ status: 'ours', tag: Object.freeze(tag), version });
  } catch (e) {
    if (e instanceof TagCorrupt) return Object.freeze({ status: 'corrupt', message: e.message });
    throw e;
  }
};

/** Our tag, or undefined for an alias that is none of ours or does not parse (see readTag). */
export const decodeTag = (alias: string | undefined): OwnerTag | undefined => {
  const r = readTag(alias);
  return r.status === 'ours' ? r.tag : undefined;
};

export const tagFits = (tag: OwnerTag): boolean =>
  Buffer.byteLength(encodeTag(tag), 'utf8') <= ALIAS_MAX_BYTES;
