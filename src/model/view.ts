/** What `show` reports: a plain, JSON-ready view of one namespace. */
import type { NetnsState } from './observed.js';
import { hostEndOf } from './observed.js';
import type { OwnerTag } from './owner.js';
import { decodeTag } from './owner.js';
import type { ResolvedTarget } from './target.js';

export interface AddressView {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
  readonly scope: string;
  /** IPv4 broadcast address, when it has one. */
  readonly broadcast?: string | undefined;
}

export interface InterfaceView {
  readonly name: string;
  readonly kind: string;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** The kernel's operational state: UP, DOWN, LOWERLAYERDOWN, UNKNOWN (loopback, tun), DORMANT… */
  readonly operstate: string;
  /** The kernel's LOWER_UP flag: the link has carrier (a cable, a peer that is up). */
  readonly carrier: boolean;
  readonly mtu: number;
  readonly mac: string;
  readonly addresses: readonly AddressView[];
  /** Made by pipefitter (it carries pipefitter's ownership tag). */
  readonly managed: boolean;
  readonly owner?: OwnerTag | undefined;
  /** For a veth into a bridge: the host side and its bridge. */
  readonly hostSide?: { readonly name: string; readonly bridge?: string | undefined } | undefined;
}

export interface RouteView {
  readonly dst: string;
  readonly via?: string | undefined;
  readonly dev?: string | undefined;
  readonly family: 4 | 6;
  readonly metric?: number | undefined;
}

export interface ShowView {
  readonly target: string;
  readonly id: string;
  readonly netns: string;
  readonly interfaces: readonly InterfaceView[];
  readonly routes: readonly RouteView[];
}

export const buildView = (t: ResolvedTarget, s: NetnsState, host: NetnsState | undefined): ShowView => ({
  target: t.label,
  id: t.id,
  netns:
    t.netns.kind === 'name'
      ? t.netns.name
      : t.netns.kind === 'pid'
        ? `/proc/${t.netns.pid}/ns/net`
        : t.netns.kind === 'path'
          ? t.netns.path
          : 'host',
  interfaces: s.links.map((l) => {
    const owner = decodeTag(l.alias);
    const hostLink =
      owner?.kind === 'veth'
        ? hostEndOf(host?.links ?? [], l, (h) => {
            const ht = decodeTag(h.alias);
            return ht?.kind === 'veth-host' && ht.target === (owner.target ?? t.id) && ht.ifname === l.name;
          })
        : undefined;
    return {
      name: l.name,
      kind: l.kind ?? (l.name === 'lo' ? 'loopback' : 'device'),
      up: l.up,
      operstate: l.operstate,
      carrier: l.carrier === true,
      mtu: l.mtu,
      mac: l.mac,
      addresses: l.addrs.map((a) => ({
        address: a.address,
        prefix: a.prefix,
        family: a.family,
        scope: a.scope,
        ...(a.broadcast !== undefined ? { broadcast: a.broadcast } : {}),
      })),
      managed: owner !== undefined,
      owner,
      hostSide: hostLink ? { name: hostLink.name, bridge: hostLink.master } : undefined,
    };
  }),
  routes: s.routes
    .filter((r) => r.type === 'unicast' && r.protocol !== 'kernel')
    .map((r) => ({ dst: r.dst, via: r.gateway, dev: r.dev, family: r.family, metric: r.metric })),
});
