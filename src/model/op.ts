/**
 * What a step does, as data: one variant per kind of change. The planner builds these; each has
 * two renderings — the rtnetlink request the netlink backend sends in-process
 * (exec/netlink-backend.ts), and the `ip`/`bridge` argv the ip backend runs and `--dry-run`
 * prints (render/ip.ts). What has no rtnetlink form (nft, ovs-vsctl, DHCP clients, tc, named
 * namespaces) is an `exec` with its argv; a gratuitous ARP is its own variant (`arp.announce`),
 * sent in-process by the netlink backend and run as arping by the ip backend.
 */
import type { IpvlanFlag, IpvlanMode, MacvlanMode } from '../values.js';
import type { NetnsRef } from './netns.js';
import type { AddrFlag, ObservedRoute } from './observed.js';

/**
 * One argv element. A namespace appears as an argument when a link is created in, or moved to,
 * another namespace (`ip link add … netns X`); the executor and the script renderer spell it.
 */
export type Arg = string | { readonly netns: NetnsRef };

export type LinkSpec =
  | { readonly kind: 'bridge'; readonly vlanFiltering?: boolean | undefined }
  | {
      readonly kind: 'veth';
      readonly peer: {
        readonly name: string;
        /** Born in this namespace (`peer name P netns N`). */
        readonly netns?: NetnsRef | undefined;
        readonly mtu?: number | undefined;
        readonly mac?: string | undefined;
      };
    }
  | { readonly kind: 'macvlan'; readonly parent: string; readonly mode: MacvlanMode }
  | { readonly kind: 'ipvlan'; readonly parent: string; readonly mode: IpvlanMode; readonly flag: IpvlanFlag }
  | { readonly kind: 'vlan'; readonly parent: string; readonly id: number };

/** Changes to an existing link, made by one request (`ip link set dev NAME …`). */
export interface LinkPatch {
  readonly up?: boolean | undefined;
  readonly mtu?: number | undefined;
  readonly mac?: string | undefined;
  /** A bridge's name; null: out of its bridge (nomaster). */
  readonly master?: string | null | undefined;
  /** The empty string clears it. */
  readonly alias?: string | undefined;
  /** A new name. */
  readonly name?: string | undefined;
  readonly netns?: NetnsRef | undefined;
  /** A bridge: VLAN filtering on or off. */
  readonly vlanFiltering?: boolean | undefined;
}

export interface AddrOp {
  readonly dev: string;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  readonly broadcast?: string | undefined;
  /**
   * Flags `ip addr add` can set (model/observed.ts ADDR_FLAGS): nodad (IPv6 usable at once, no
   * duplicate address detection), noprefixroute, home, mngtmpaddr, autojoin.
   */
  readonly flags?: readonly AddrFlag[] | undefined;
}

export type Op =
  /** ip link add name NAME [link P] [mtu M] [address A] [netns N] [master B] type KIND … */
  | {
      readonly op: 'link.add';
      readonly name: string;
      readonly spec: LinkSpec;
      readonly mtu?: number | undefined;
      readonly mac?: string | undefined;
      readonly netns?: NetnsRef | undefined;
    }
  /** ip link del dev NAME */
  | { readonly op: 'link.del'; readonly name: string }
  | { readonly op: 'link.set'; readonly name: string; readonly patch: LinkPatch }
  | { readonly op: 'addr.add'; readonly addr: AddrOp }
  | { readonly op: 'addr.del'; readonly addr: AddrOp }
  /** A route as the planner wants it, shaped like an observed one. */
  | { readonly op: 'route.add' | 'route.replace' | 'route.del'; readonly route: ObservedRoute }
  /** bridge vlan add dev PORT vid V [pvid untagged] */
  | { readonly op: 'bridge-vlan.add'; readonly dev: string; readonly vid: number; readonly access: boolean }
  | { readonly op: 'bridge-vlan.del'; readonly dev: string; readonly vid: number }
  /** sysctl -q [-e] -w KEY=VALUE…; missingOk: a key this kernel does not have is no error. */
  | {
      readonly op: 'sysctl';
      readonly set: readonly { readonly key: string; readonly value: string }[];
      readonly missingOk: boolean;
    }
  /**
   * arping -q -U -c 1 -w 0 -i DEV -S ADDRESS ADDRESS: one gratuitous ARP for an IPv4 address on
   * the interface (the netlink backend sends the packet itself; `ip`'s form runs arping).
   */
  | { readonly op: 'arp.announce'; readonly dev: string; readonly address: string }
  /** A program that has no rtnetlink form: run as it is. */
  | { readonly op: 'exec'; readonly argv: readonly Arg[] };

export type OpName = Op['op'];
