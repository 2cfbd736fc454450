/**
 * Narrow decoders for `ip -d -j addr show` and `ip -j route show table all`. Unknown input
 * becomes typed values or is dropped; nothing downstream sees `any`.
 */
import { canonicalAddress } from '../addr.js';
import type { ObservedAddr, ObservedLink, ObservedNeighbour, ObservedRoute } from '../model/observed.js';
import { ADDR_FLAGS } from '../model/observed.js';

type Json = unknown;
const obj = (v: Json): Record<string, Json> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, Json>) : undefined;
const str = (v: Json): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: Json): number | undefined => (typeof v === 'number' ? v : undefined);
const arr = (v: Json): Json[] => (Array.isArray(v) ? v : []);

export const parseJsonArray = (text: string, what: string): Json[] => {
  const t = text.trim();
  if (t === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw new Error(`internal: cannot parse ${what} output as JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(v)) throw new Error(`internal: ${what} output is not a JSON array`);
  return v;
};

const decodeAddr = (v: Json): ObservedAddr | undefined => {
  const o = obj(v);
  if (!o) return undefined;
  const fam = str(o.family);
  const local = str(o.local);
  const prefix = num(o.prefixlen);
  if ((fam !== 'inet' && fam !== 'inet6') || local === undefined || prefix === undefined) return undefined;
  return {
    family: fam === 'inet' ? 4 : 6,
    address: canonicalAddress(local),
    prefix,
    scope: str(o.scope) ?? 'global',
    broadcast: fam === 'inet' ? str(o.broadcast) : undefined,
    ...(ADDR_FLAGS.some((f) => o[f] === true) ? { flags: ADDR_FLAGS.filter((f) => o[f] === true) } : {}),
  };
};

export const decodeLink = (v: Json): ObservedLink | undefined => {
  const o = obj(v);
  if (!o) return undefined;
  const name = str(o.ifname);
  const ifindex = num(o.ifindex);
  if (name === undefined || ifindex === undefined) return undefined;
  const info = obj(o.linkinfo);
  const data = obj(info?.info_data);
  const flags = arr(o.flags).map(str);
  return {
    ifindex,
    name,
    kind: str(info?.info_kind),
    master: str(o.master),
    up: flags.includes('UP'),
    operstate: str(o.operstate) ?? 'UNKNOWN',
    carrier: flags.includes('LOWER_UP'),
    mtu: num(o.mtu) ?? 0,
    mac: str(o.address) ?? '',
    alias: str(o.ifalias),
    parent: str(o.link),
    linkNetnsid: num(o.link_netnsid),
    linkIndex: num(o.link_index),
    macvlanMode: info?.info_kind === 'macvlan' ? str(data?.mode) : undefined,
    ipvlanMode: info?.info_kind === 'ipvlan' ? str(data?.mode) : undefined,
    vlanId: info?.info_kind === 'vlan' ? num(data?.id) : undefined,
    vlanFiltering: info?.info_kind === 'bridge' ? num(data?.vlan_filtering) === 1 : undefined,
    addrs: arr(o.addr_info)
      .map(decodeAddr)
      .filter((a): a is ObservedAddr => a !== undefined),
  };
};

export const decodeLinks = (text: string): ObservedLink[] =>
  parseJsonArray(text, 'ip addr show')
    .map(decodeLink)
    .filter((l): l is ObservedLink => l !== undefined);

/** Routes of the main table (what `ip route` shows without a table). */
export const decodeRoutes = (text: string): ObservedRoute[] => {
  const out: ObservedRoute[] = [];
  for (const v of parseJsonArray(text, 'ip route show')) {
    const o = obj(v);
    const dst = str(o?.dst);
    if (!o || dst === undefined) continue;
    const table = str(o.table);
    if (table !== undefined && table !== 'main') continue;
    const gateway = str(o.gateway);
    const family: 4 | 6 =
      dst.includes(':') || (gateway?.includes(':') ?? false)
        ? 6
        : dst === 'default' && str(o.pref) !== undefined
          ? 6
          : 4;
    out.push({
      family,
      dst: dst === 'default' ? 'default' : canonicalPrefix(dst),
      gateway: gateway === undefined ? undefined : canonicalAddress(gateway),
      dev: str(o.dev),
      protocol: str(o.protocol),
      scope: str(o.scope),
      metric: num(o.metric),
      prefsrc: str(o.prefsrc),
      onlink: arr(o.flags).includes('onlink'),
      type: str(o.type) ?? 'unicast',
    });
  }
  return out;
};

const canonicalPrefix = (dst: string): string => {
  const [a, p] = dst.split('/');
  if (a === undefined) return dst;
  const addr = canonicalAddress(a);
  return p === undefined ? `${addr}/${addr.includes(':') ? 128 : 32}` : `${addr}/${p}`;
};

/** `ip -j netconf show`: is forwarding on for "all", per family? */
export const decodeForwarding = (text: string): Record<4 | 6, boolean> => {
  const out = { 4: false, 6: false };
  for (const v of parseJsonArray(text, 'ip netconf show')) {
    const o = obj(v);
    if (o?.interface !== 'all') continue;
    if (o.family === 'inet') out[4] = o.forwarding === true;
    if (o.family === 'inet6') out[6] = o.forwarding === true;
  }
  return out;
};

/**
 * `ip -j neigh show`: entries that hold a MAC address. FAILED and INCOMPLETE ones hold none, so
 * no one would send to a stale address through them.
 */
export const decodeNeighbours = (text: string): ObservedNeighbour[] => {
  const out: ObservedNeighbour[] = [];
  for (const v of parseJsonArray(text, 'ip neigh show')) {
    const o = obj(v);
    const address = str(o?.dst);
    const dev = str(o?.dev);
    if (!o || address === undefined || dev === undefined || str(o.lladdr) === undefined) continue;
    out.push({ address, dev });
  }
  return out;
};
