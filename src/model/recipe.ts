/** A recipe after validation: typed desired state, ready to become attachments. */
import type { Cidr, IpAddr } from '../addr.js';
import type { DhcpSpec, RouteSpec } from './iface.js';
import type { TargetSpec } from './target.js';
import type { IfName } from '../names.js';
import type { IpvlanMode, Mac, MacvlanMode, Mtu, VlanId } from '../values.js';

export interface RecipeBridge {
  readonly name: IfName;
  readonly addrs: readonly Cidr[];
  readonly mtu?: Mtu | undefined;
  readonly vlanFiltering: boolean;
  readonly nat?: { readonly subnet: Cidr; readonly outInterface?: IfName | undefined } | undefined;
  readonly publish: readonly {
    readonly port: number;
    readonly to: { readonly address: IpAddr; readonly port: number };
    readonly proto: 'tcp' | 'udp';
  }[];
}

export type RecipeNetwork = {
  readonly name: string;
  readonly subnet?: Cidr | undefined;
  readonly gateway?: IpAddr | undefined;
  /** The pool text, parsed by the IPAM layer. */
  readonly pool?: string | undefined;
  readonly mtu?: Mtu | undefined;
} & (
  | {
      readonly kind: 'bridge';
      readonly bridge: IfName;
      readonly vlan?: VlanId | undefined;
      readonly trunk: readonly VlanId[];
    }
  | {
      readonly kind: 'macvlan';
      readonly parent: IfName;
      readonly mode: MacvlanMode;
      readonly vlan?: VlanId | undefined;
      /** The host reaches the containers through a shim on the parent (plan/host-shim.ts). */
      readonly hostShim?: boolean | undefined;
    }
  | {
      readonly kind: 'ipvlan';
      readonly parent: IfName;
      readonly mode: IpvlanMode;
      readonly vlan?: VlanId | undefined;
    }
  | { readonly kind: 'vlan'; readonly parent: IfName; readonly vlan: VlanId; readonly inside: boolean }
);

export type RecipeAddressing =
  | { readonly kind: 'static'; readonly addrs: readonly Cidr[] }
  | { readonly kind: 'auto' }
  | { readonly kind: 'dhcp'; readonly dhcp: DhcpSpec }
  | { readonly kind: 'none' };

export interface RecipeIface {
  readonly ifname: IfName;
  readonly network: string;
  readonly addressing: RecipeAddressing;
  readonly mac?: Mac | undefined;
  readonly mtu?: Mtu | undefined;
  readonly gateway?: IpAddr | undefined;
  readonly routes: readonly RouteSpec[];
}

export interface RecipeContainer {
  readonly name: string;
  readonly target: TargetSpec;
  readonly create: boolean;
  /** IPv4 and IPv6 forwarding on inside (a router). */
  readonly forwarding: boolean;
  readonly interfaces: readonly RecipeIface[];
}

export interface RecipeLinkEnd {
  readonly container: string;
  readonly ifname: IfName;
  readonly addr?: Cidr | undefined;
  readonly gateway?: IpAddr | undefined;
  readonly routes: readonly RouteSpec[];
}

export interface RecipeLink {
  readonly a: RecipeLinkEnd;
  readonly b: RecipeLinkEnd;
  readonly mtu?: Mtu | undefined;
}

export interface Recipe {
  /** Owner name: tags and state are keyed by it. */
  readonly name: string;
  readonly file: string;
  readonly description?: string | undefined;
  readonly bridges: readonly RecipeBridge[];
  readonly networks: readonly RecipeNetwork[];
  readonly containers: readonly RecipeContainer[];
  readonly links: readonly RecipeLink[];
  /**
   * The text's SHA-256 and its parsed YAML: a successful `apply` keeps them with the recipe's
   * state, and the next run of the same text skips the YAML parser (recipe/load.ts).
   */
  readonly source?:
    | {
        readonly sha256: string;
        readonly raw: unknown;
        /** The document came from the kept one (nothing to write again). */
        readonly kept?: boolean | undefined;
      }
    | undefined;
}

/** The IPAM key of an interface's auto address. */
export const ipamKey = (recipe: string, container: string, ifname: string): string =>
  `${recipe}/${container}/${ifname}`;
export const poolId = (recipe: string, network: string): string => `${recipe}/${network}`;
