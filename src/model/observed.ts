/** What is: read from the kernel with `ip -j`, never used as input for a desired state. */

export interface ObservedAddr {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  readonly scope: string;
  /** IPv4: the broadcast address it was added with, if any. */
  readonly broadcast?: string | undefined;
  /**
   * The flags it was added with that `ip addr add` can set again (nodad, noprefixroute, home,
   * mngtmpaddr, autojoin), in that order; an address put back without them is another address
   * (without nodad, an IPv6 one is tentative until DAD ends, and has no local route meanwhile).
   */
  readonly flags?: readonly AddrFlag[] | undefined;
}

export const ADDR_FLAGS = ['nodad', 'noprefixroute', 'home', 'mngtmpaddr', 'autojoin'] as const;
export type AddrFlag = (typeof ADDR_FLAGS)[number];

export interface ObservedLink {
  readonly ifindex: number;
  readonly name: string;
  /** `ip`'s info_kind: veth, bridge, macvlan, vlan, ipvlan, vxlan…; undefined for plain devices. */
  readonly kind?: string | undefined;
  readonly master?: string | undefined;
  readonly up: boolean;
  readonly operstate: string;
  /** The kernel's LOWER_UP flag: the link has carrier. */
  readonly carrier?: boolean | undefined;
  readonly mtu: number;
  readonly mac: string;
  readonly alias?: string | undefined;
  /** Parent device name when it is in the same namespace (macvlan, vlan, ipvlan). */
  readonly parent?: string | undefined;
  /** Set when the peer/parent lives in another namespace. */
  readonly linkNetnsid?: number | undefined;
  /** The ifindex of a veth's peer (or a stacked link's parent), in whichever namespace it is. */
  readonly linkIndex?: number | undefined;
  readonly macvlanMode?: string | undefined;
  readonly ipvlanMode?: string | undefined;
  readonly vlanId?: number | undefined;
  /** For a bridge: is VLAN filtering on? */
  readonly vlanFiltering?: boolean | undefined;
  readonly addrs: readonly ObservedAddr[];
}

export interface ObservedRoute {
  readonly family: 4 | 6;
  readonly dst: string;
  readonly gateway?: string | undefined;
  readonly dev?: string | undefined;
  readonly protocol?: string | undefined;
  readonly scope?: string | undefined;
  readonly metric?: number | undefined;
  readonly prefsrc?: string | undefined;
  readonly onlink: boolean;
  readonly type: string;
}

/**
 * What decides whether bridged traffic reaches iptables and is dropped there: with br_netfilter
 * on (bridge-nf-call-ip[6]tables=1) frames crossing any bridge traverse the FORWARD chain, and
 * Docker sets its policy to DROP, silently cutting containers on other bridges apart.
 */
export interface FirewallState {
  readonly brNetfilter: Readonly<Record<4 | 6, boolean>>;
  readonly forwardDrop: Readonly<Record<4 | 6, boolean>>;
  /** Docker's chain for user rules exists (rules there survive Docker restarts). */
  readonly dockerUser: Readonly<Record<4 | 6, boolean>>;
  /** pipefitter's own accept rules, by bridge. */
  readonly bridgeRules: readonly {
    readonly family: 4 | 6;
    readonly chain: string;
    readonly bridge: string;
  }[];
  /**
   * pipefitter's accept rules for a recipe's NAT'd bridge (IPv4): `out` lets the bridge's
   * traffic leave through another interface, `in` lets replies and published-port (DNAT)
   * traffic back in, past a FORWARD policy that drops (Docker's).
   */
  readonly natRules?:
    | readonly {
        readonly chain: string;
        readonly recipe: string;
        readonly bridge: string;
        readonly dir: 'out' | 'in';
      }[]
    | undefined;
  /**
   * Per family, why ip(6)tables could not be read where it matters (br_netfilter on, or a
   * recipe's routed NAT): its policy and pipefitter's rules there are unknown, and the plan says
   * so instead of adding or removing rules blind (plan/firewall.ts).
   */
  readonly unknown?: Readonly<Partial<Record<4 | 6, string>>> | undefined;
}

export interface NetnsState {
  readonly links: readonly ObservedLink[];
  /** Main-table routes only. */
  readonly routes: readonly ObservedRoute[];
  /** Observed for the host only. */
  readonly firewall?: FirewallState | undefined;
  /** Open vSwitch bridges and their ports (host only, when OVS runs). */
  readonly ovs?: ReadonlyMap<string, readonly string[]> | undefined;
  /** net.ipv4.conf.all.forwarding / net.ipv6.conf.all.forwarding (from `ip netconf`). */
  readonly forwarding?: Readonly<Record<4 | 6, boolean>> | undefined;
  /**
   * Host only: interfaces pipefitter brought up because an attachment needed them (by name),
   * with the attachments that still do. One whose ifindex no longer matches is stale.
   */
  readonly parentsUp?: ReadonlyMap<string, ParentUpRecord> | undefined;
  /** Neighbour cache entries with a MAC address (who could hold a stale one). */
  readonly neighbours?: readonly ObservedNeighbour[] | undefined;
}

export interface ParentUpRecord {
  readonly ifindex: number;
  /** `<target id>/<ifname>` of each attachment on it. */
  readonly users: readonly string[];
}

/** A neighbour (ARP/NDP) cache entry that still names a MAC address. */
export interface ObservedNeighbour {
  readonly address: string;
  readonly dev: string;
}

/** Observed state of every namespace a plan touches, keyed by netnsKey(). */
export type ObservedState = ReadonlyMap<string, NetnsState>;

/**
 * The host end of a container's veth: the host link whose ifindex is the container end's peer
 * index and whose peer index is the container end — identified by the kernel, however the
 * target was spelled when it was made (pid:N, /proc/N/ns/net, docker:…). Falls back to the
 * ownership tag of the host end (target and ifname) when the indexes are not known.
 */
export const hostEndOf = (
  hostLinks: readonly ObservedLink[],
  inside: ObservedLink,
  tagged: (l: ObservedLink) => boolean,
): ObservedLink | undefined =>
  (inside.linkIndex !== undefined && inside.ifindex > 0
    ? hostLinks.find(
        (h) => h.kind === 'veth' && h.ifindex === inside.linkIndex && h.linkIndex === inside.ifindex,
      )
    : undefined) ?? hostLinks.find((h) => h.kind === 'veth' && tagged(h));

export const findLink = (s: NetnsState | undefined, name: string): ObservedLink | undefined =>
  s?.links.find((l) => l.name === name);

/* What the host's nftables has of a recipe's NAT (observe/nft.ts reads it; plan/nat.ts compares). */

/** A rule of the recipe's table as nft lists it (`nft -a list table`). */
export interface NatRuleObserved {
  /** The rule without its comment and handle, e.g. `ip saddr 192.0.2.0/24 … masquerade`. */
  readonly text: string;
  /** Its pf1:n=… comment, when it has one. */
  readonly id?: string | undefined;
  readonly handle: number;
}

export interface NatChainObserved {
  readonly name: string;
  /** e.g. `type nat hook postrouting priority srcnat; policy accept;` */
  readonly header: string;
  readonly rules: readonly NatRuleObserved[];
}

/** What the host has now of a recipe's NAT. */
export interface NatObserved {
  /** `nft -a list table ip pf_<recipe>` output, when the table exists. */
  readonly tableText?: string | undefined;
  /**
   * The table's name when it is not the recipe's own (plan/nat.ts natTable): one an earlier
   * version made (legacyNatTable), whose comment names this recipe.
   */
  readonly table?: string | undefined;
  /**
   * The recipe's own table name is taken by another recipe's table of an earlier version (its
   * comment names that recipe): the name of that recipe.
   */
  readonly foreign?: string | undefined;
  /** The same table, parsed (observe/nft.ts). */
  readonly chains?: readonly NatChainObserved[] | undefined;
  readonly ipForward: boolean;
}
