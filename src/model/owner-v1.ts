/**
 * Version 1 ownership tags (`pf1:`), still read so that links tagged by earlier versions are
 * detached and repaired as before: URL-encoded fields, everything text, routes kept as `ip route`
 * words and addresses as `ip addr` words, ";"-separated. Read into the typed tag, with every
 * field checked as a version 2 one is.
 */
import type { OwnerTag, SavedAddr, SavedRoute, TagKind } from './owner-tag.js';
import {
  KINDS,
  TagCorrupt,
  checkAddr,
  checkCidr,
  checkIfName,
  checkMac,
  checkMtu,
  checkRoute,
  checkText,
  checkUsers,
  checkVlan,
  checkVlanList,
} from './owner-check.js';

export const TAG_V1_PREFIX = 'pf1:';

const words = (text: string): string[] => text.split(' ').filter((x) => x !== '');

/**
 * An address as `ip addr` words: "192.0.2.5/24 brd 192.0.2.255", "2001:db8::5/64 nodad".
 * @example savedAddrV1('192.0.2.5/24 brd 192.0.2.255', 'ha').broadcast // '192.0.2.255'
 */
export const savedAddrV1 = (text: string, key: string): SavedAddr => {
  const [first = '', ...rest] = words(text);
  const cidr = first.includes('/') ? first : `${first}/${first.includes(':') ? 128 : 32}`;
  let broadcast = '';
  const flags: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i] ?? '';
    if (w === 'brd') {
      broadcast = rest[++i] ?? '';
      if (broadcast === '') throw new TagCorrupt(key, text, 'has "brd" and no broadcast address');
    } else flags.push(w);
  }
  return checkAddr(key, text, { cidr, broadcast, flags });
};

const ROUTE_WORDS = ['via', 'dev', 'proto', 'scope', 'metric', 'src'] as const;

/**
 * A route as `ip route` arguments after its destination ("via 172.17.0.1 dev eth0 metric 100").
 * A protocol left out is `boot` and an IPv6 metric left out is 1024, as `ip route add` makes them.
 * @example savedRouteV1('via 172.17.0.1 dev eth0', 4, 'default', 'd4').gateway // '172.17.0.1'
 */
export const savedRouteV1 = (text: string, family: 4 | 6, dst: string, key: string): SavedRoute => {
  const w = words(text);
  const got = new Map<string, string>();
  let onlink = false;
  for (let i = 0; i < w.length; i++) {
    const word = w[i] ?? '';
    if (word === 'onlink') onlink = true;
    else if ((ROUTE_WORDS as readonly string[]).includes(word) && w[i + 1] !== undefined)
      got.set(word, w[++i] ?? '');
    else throw new TagCorrupt(key, text, `has "${word}" where a route word goes`);
  }
  return checkRoute(key, text, {
    family: String(family),
    dst,
    gateway: got.get('via') ?? '',
    dev: got.get('dev') ?? '',
    metric: got.get('metric') ?? (family === 6 ? '1024' : ''),
    onlink: onlink ? '1' : '',
    protocol: got.get('proto') ?? 'boot',
    scope: got.get('scope') ?? '',
    src: got.get('src') ?? '',
  });
};

const items = (v: string, sep: string): string[] => v.split(sep).filter((x) => x !== '');

const flag = (key: string, v: string): boolean => {
  if (v !== '1') throw new TagCorrupt(key, v, 'is a flag: "1" or absent');
  return true;
};

export const decodeTagV1 = (body: string): OwnerTag => {
  const p = new URLSearchParams(body);
  const kind = KINDS.find((k) => k === p.get('k'));
  if (kind === undefined) throw new TagCorrupt('k', p.get('k') ?? '', 'is no kind of link pipefitter makes');
  const get = <T>(key: string, read: (v: string) => T): T | undefined => {
    const v = p.get(key);
    return v === null ? undefined : read(v);
  };
  const ifname = (key: string) => get(key, (v) => checkIfName(key, v));
  const defaults = [
    ...(get('d4', (v) => items(v, ';').map((t) => savedRouteV1(t, 4, 'default', 'd4'))) ?? []),
    ...(get('d6', (v) => items(v, ';').map((t) => savedRouteV1(t, 6, 'default', 'd6'))) ?? []),
  ];
  const tag: { -readonly [F in keyof OwnerTag]: OwnerTag[F] } = {
    kind: kind satisfies TagKind,
    target: get('t', (v) => checkText('t', v)),
    ifname: ifname('i'),
    bridge: ifname('b'),
    parent: ifname('l'),
    origName: ifname('o'),
    prevAlias: get('pa', (v) => v),
    origMtu: get('om', (v) => checkMtu('om', v)),
    origMac: get('oa', (v) => checkMac('oa', v)),
    origUp: get('ou', (v) => flag('ou', v)),
    hostAddrs: get('ha', (v) => items(v, ';').map((t) => savedAddrV1(t, 'ha'))),
    hostRoutes: get('hr', (v) =>
      items(v, ';').map((t) => {
        const [dst = '', ...rest] = words(t);
        const family = dst.includes(':') ? 6 : 4;
        return savedRouteV1(rest.join(' '), family, dst === '::/0' ? 'default' : dst, 'hr');
      }),
    ),
    prevDefaults: defaults.length ? defaults : undefined,
    peer: get('p', (v) => checkText('p', v)),
    peerIfname: ifname('pi'),
    bridgeAddrs: get('ba', (v) => items(v, ',').map((c) => checkCidr('ba', c))),
    vlan: get('v', (v) => checkVlan('v', v)),
    trunk: get('tr', (v) => items(v, '.').map((x) => checkVlanList('tr', x))),
    users: get('u', (v) => checkUsers('u', v, '.')),
    dhcp: get('dh', (v) => flag('dh', v)),
    recipe: get('r', (v) => checkText('r', v)),
  };
  // fields it does not have are left out, not set to undefined
  return Object.fromEntries(Object.entries(tag).filter(([, v]) => v !== undefined)) as unknown as OwnerTag;
};
