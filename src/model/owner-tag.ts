/** The ownership tag as a value (model/owner.ts reads and writes its text). */
import type { AddrFlag, ObservedRoute } from './observed.js';

export type TagKind =
  | 'bridge'
  | 'veth'
  | 'veth-host'
  | 'macvlan'
  | 'ipvlan'
  | 'vlan'
  | 'phys'
  | 'pair'
  | 'vlan-shared'
  /** The host's own macvlan on a parent, routing to the macvlan containers on it (plan/host-shim.ts). */
  | 'macvlan-shim';

/** An address a tag remembers, to be put back: what `ip addr add` needs besides the device. */
export interface SavedAddr {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  readonly broadcast?: string | undefined;
  readonly flags?: readonly AddrFlag[] | undefined;
}

/** A route a tag remembers (a unicast route, shaped as observed). */
export type SavedRoute = ObservedRoute;

export interface OwnerTag {
  readonly kind: TagKind;
  /** Target identity (ResolvedTarget.id) the interface belongs to. */
  readonly target?: string | undefined;
  /** Container-side interface name. */
  readonly ifname?: string | undefined;
  /** Bridge the host side is a port of. */
  readonly bridge?: string | undefined;
  /** Host parent of a macvlan, ipvlan or vlan link ("ovs" on a port of an Open vSwitch bridge). */
  readonly parent?: string | undefined;
  /** Original name of a moved physical device. */
  readonly origName?: string | undefined;
  /** Alias the physical device had before it was tagged. */
  readonly prevAlias?: string | undefined;
  /** MTU, MAC and up state of a physical device before it moved in, restored when it goes home. */
  readonly origMtu?: number | undefined;
  readonly origMac?: string | undefined;
  readonly origUp?: boolean | undefined;
  /** A moved device's host addresses and routes, put back on detach. */
  readonly hostAddrs?: readonly SavedAddr[] | undefined;
  readonly hostRoutes?: readonly SavedRoute[] | undefined;
  /** Default routes replaced by the attachment (either family), restored on detach. */
  readonly prevDefaults?: readonly SavedRoute[] | undefined;
  /** The peer of a container-to-container pair: target id and ifname. */
  readonly peer?: string | undefined;
  readonly peerIfname?: string | undefined;
  /** Addresses given to a bridge with --bridge-ip that this port answers for ("A/P" each). */
  readonly bridgeAddrs?: readonly string[] | undefined;
  /**
   * On a bridge port's host end: the static addresses given to the container's end ("A/P"
   * each, as many as fit in the alias), so that the next attach to that bridge sees which
   * addresses are taken there without entering every other container (plan/duplicates.ts).
   */
  readonly addrs?: readonly string[] | undefined;
  /** Access VLAN of a bridge port, or "inside": a VLAN made on the container's own trunk. */
  readonly vlan?: number | 'inside' | undefined;
  /** Trunk VLANs of a bridge port, ascending. */
  readonly trunk?: readonly number[] | undefined;
  /** Users of a shared VLAN sub-interface or host shim (short hashes), or "*" when too many to list. */
  readonly users?: readonly string[] | '*' | undefined;
  /** Addressed by DHCP: detach stops the client. */
  readonly dhcp?: boolean | undefined;
  /** Recipe that owns it (recipes). */
  readonly recipe?: string | undefined;
}

/** The result of reading an alias: our tag, none at all, or one of ours that does not parse. */
export type TagRead =
  | { readonly status: 'ours'; readonly tag: OwnerTag; readonly version: 1 | 2 }
  | { readonly status: 'none' }
  | { readonly status: 'corrupt'; readonly message: string };
