import type { Cidr, IpAddr } from '../addr.js';
import type { IfName } from '../names.js';
import type { Mac, Mtu } from '../values.js';

export interface RouteSpec {
  readonly dst: Cidr | 'default';
  readonly via?: IpAddr | undefined;
  readonly metric?: number | undefined;
}

/** The container side of an attachment: what the interface looks like inside. */
export interface IfaceSpec {
  readonly ifname: IfName;
  readonly mac?: Mac | undefined;
  /** Default: the MTU of the host link it hangs off (bridge or parent). */
  readonly mtu?: Mtu | undefined;
  readonly addrs: readonly Cidr[];
  /** At most one per family; each replaces the default route of its family. */
  readonly gateways: readonly IpAddr[];
  readonly routes: readonly RouteSpec[];
  /** Announce the new addresses (gratuitous ARP / unsolicited NA) when the link comes up. @default true */
  readonly announce: boolean;
}

export const DEFAULT_IFNAME = 'eth1';
