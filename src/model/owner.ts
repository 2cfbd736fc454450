/**
 * Ownership tags. pipefitter marks what it makes with the link alias (IFLA_IFALIAS, up to 255
 * bytes), so that `show`, `detach` and recipes can tell its links from anyone else's, even
 * after the container was restarted or the recipe file changed. The tag is plain text:
 * `pf1:` followed by URL-encoded fields, e.g. `pf1:k=veth&t=netns%3Ar1&i=eth1&b=br-lab`.
 */

import { ADDR_FLAGS } from './observed.js';
import type { AddrFlag, ObservedRoute } from './observed.js';
import type { AddrOp } from './op.js';

export const TAG_PREFIX = 'pf1:';
export const ALIAS_MAX_BYTES = 255;

export type TagKind =
  'bridge' | 'veth' | 'veth-host' | 'macvlan' | 'ipvlan' | 'vlan' | 'phys' | 'pair' | 'vlan-shared';

export interface OwnerTag {
  readonly kind: TagKind;
  /** Target identity (ResolvedTarget.id) the interface belongs to. */
  readonly target?: string | undefined;
  /** Container-side interface name. */
  readonly ifname?: string | undefined;
  /** Bridge the host side is a port of. */
  readonly bridge?: string | undefined;
  /** Host parent of a macvlan, ipvlan or vlan link. */
  readonly parent?: string | undefined;
  /** Original name of a moved physical device. */
  readonly origName?: string | undefined;
  /** Alias the physical device had before it was tagged. */
  readonly prevAlias?: string | undefined;
  /** MTU, MAC and up state of a physical device before it moved in, restored when it goes home. */
  readonly origMtu?: string | undefined;
  readonly origMac?: string | undefined;
  readonly origUp?: string | undefined;
  /** A moved device's host addresses ("A/P[ brd B]") and routes (`ip route` arguments), ";"-separated, put back on detach. */
  readonly hostAddrs?: string | undefined;
  readonly hostRoutes?: string | undefined;
  /** Default routes replaced by the attachment, restored on detach: "via@dev" per family. */
  readonly prevDefault4?: string | undefined;
  readonly prevDefault6?: string | undefined;
  /** The peer of a container-to-container pair: target id and ifname. */
  readonly peer?: string | undefined;
  readonly peerIfname?: string | undefined;
  /** Addresses given to a bridge with --bridge-ip that this port answers for ("A/P,A/P"). */
  readonly bridgeAddrs?: string | undefined;
  /** Access VLAN and trunk VLANs of a bridge port ("10", "10.20"). */
  readonly vlan?: string | undefined;
  readonly trunk?: string | undefined;
  /** Users of a shared VLAN sub-interface: short hashes joined by ".", or "*" when too many to list. */
  readonly users?: string | undefined;
  /** Addressed by DHCP ("1"): detach stops the client. */
  readonly dhcp?: string | undefined;
  /** Recipe that owns it (recipes). */
  readonly recipe?: string | undefined;
}

const KEYS: Record<Exclude<keyof OwnerTag, 'kind'>, string> = {
  target: 't',
  ifname: 'i',
  bridge: 'b',
  parent: 'l',
  origName: 'o',
  prevAlias: 'pa',
  origMtu: 'om',
  origMac: 'oa',
  origUp: 'ou',
  hostAddrs: 'ha',
  hostRoutes: 'hr',
  prevDefault4: 'd4',
  prevDefault6: 'd6',
  peer: 'p',
  peerIfname: 'pi',
  bridgeAddrs: 'ba',
  vlan: 'v',
  trunk: 'tr',
  users: 'u',
  dhcp: 'dh',
  recipe: 'r',
};

const KINDS: readonly TagKind[] = [
  'bridge',
  'veth',
  'veth-host',
  'macvlan',
  'ipvlan',
  'vlan',
  'phys',
  'pair',
  'vlan-shared',
];

export const encodeTag = (tag: OwnerTag): string => {
  const p = new URLSearchParams();
  p.set('k', tag.kind);
  for (const [field, key] of Object.entries(KEYS) as [keyof typeof KEYS, string][]) {
    const v = tag[field];
    if (v !== undefined) p.set(key, v);
  }
  return TAG_PREFIX + p.toString();
};

export const decodeTag = (alias: string | undefined): OwnerTag | undefined => {
  if (alias === undefined || !alias.startsWith(TAG_PREFIX)) return undefined;
  const p = new URLSearchParams(alias.slice(TAG_PREFIX.length));
  const kind = p.get('k') as TagKind | null;
  if (kind === null || !KINDS.includes(kind)) return undefined;
  const out: Record<string, string> = {};
  for (const [field, key] of Object.entries(KEYS)) {
    const v = p.get(key);
    if (v !== null) out[field] = v;
  }
  return { kind, ...out };
};

export const tagFits = (tag: OwnerTag): boolean =>
  Buffer.byteLength(encodeTag(tag), 'utf8') <= ALIAS_MAX_BYTES;

/**
 * An address saved in a tag as `ip addr` words ("192.0.2.5/24 brd 192.0.2.255", "2001:db8::5/64 nodad").
 * @example savedAddr('192.0.2.5/24 brd 192.0.2.255', 'eth2').broadcast // '192.0.2.255'
 */
const flagsIn = (words: readonly string[]): AddrFlag[] => ADDR_FLAGS.filter((f) => words.includes(f));

export const savedAddr = (text: string, dev: string): AddrOp => {
  const a = text.split(' ').filter((x) => x !== '');
  const [address = '', prefix = ''] = (a[0] ?? '').split('/');
  const brd = a.indexOf('brd');
  return {
    dev,
    family: address.includes(':') ? 6 : 4,
    address,
    prefix: Number(prefix || (address.includes(':') ? 128 : 32)),
    ...(brd >= 0 && a[brd + 1] !== undefined ? { broadcast: a[brd + 1] } : {}),
    ...(flagsIn(a).length ? { flags: flagsIn(a) } : {}),
  };
};

/**
 * A route saved in a version-1 tag as `ip route` arguments after the destination
 * ("via 172.17.0.1 dev eth0 metric 100"), read back as a route value.
 * @example savedRoute('via 172.17.0.1 dev eth0', 4, 'default').gateway // '172.17.0.1'
 */
export const savedRoute = (text: string, family: 4 | 6, dst: string): ObservedRoute => {
  const a = text.split(' ').filter((x) => x !== '');
  const after = (word: string): string | undefined => {
    const i = a.indexOf(word);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const metric = after('metric');
  return {
    family,
    dst,
    gateway: after('via'),
    dev: after('dev'),
    protocol: after('proto') ?? 'boot',
    scope: after('scope'),
    metric: metric !== undefined ? Number(metric) : family === 6 ? 1024 : undefined,
    prefsrc: after('src'),
    onlink: a.includes('onlink'),
    type: 'unicast',
  };
};
