import type { Cidr, IpAddr } from '../addr.js';
import type { IfName } from '../names.js';
import type { Mac, Mtu } from '../values.js';

export interface RouteSpec {
  readonly dst: Cidr | 'default';
  readonly via?: IpAddr | undefined;
  readonly metric?: number | undefined;
}

export const DHCP_CLIENTS = ['dhcp', 'udhcpc', 'dhclient', 'dhcpcd'] as const;
/** `dhcp` picks the first installed of udhcpc, dhclient, dhcpcd. */
export type DhcpClient = (typeof DHCP_CLIENTS)[number];

/** Address by DHCP: a client run from the host in the target's namespace (and a private mount namespace). */
export interface DhcpSpec {
  readonly client: DhcpClient;
  /** Keep the client running (renewing the lease); detach stops it. @default false */
  readonly foreground: boolean;
  /** Passed to the client as they are (pipework's `:opts`). */
  readonly options: readonly string[];
  /** Hostname sent in the request. */
  readonly hostname?: string | undefined;
  /** Write the lease's DNS servers into the container's resolv.conf. @default false */
  readonly dns: boolean;
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
  /** Get an address by DHCP (instead of, not besides, static addresses and gateways). */
  readonly dhcp?: DhcpSpec | undefined;
}

export const DEFAULT_IFNAME = 'eth1';
