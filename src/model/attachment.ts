import type { Cidr } from '../addr.js';
import type { IfName } from '../names.js';
import type { IpvlanFlag, IpvlanMode, Mac, MacvlanMode, VlanId } from '../values.js';
import type { IfaceSpec } from './iface.js';
import type { ResolvedTarget, TargetSpec } from './target.js';

/** How the interface is joined to the outside: what the user asked for, one variant per way. */
export type LinkIntent<T = ResolvedTarget> =
  | {
      readonly kind: 'bridge';
      readonly bridge: IfName;
      /** Create the bridge when it does not exist. @default true */
      readonly create: boolean;
      /** Addresses for the bridge itself (added when missing). */
      readonly bridgeAddrs: readonly Cidr[];
      /** MTU of a bridge made by this attachment. */
      readonly bridgeMtu?: number | undefined;
      /** Host-side veth name; default generated (pipework's v<ifname>pl<pid> or a hash). */
      readonly hostIfname?: IfName | undefined;
      /** Access port: untagged member of this VLAN, its PVID (bridge VLAN filtering). */
      readonly vlan?: VlanId | undefined;
      /** Trunk port: tagged member of these VLANs. */
      readonly trunk?: readonly VlanId[] | undefined;
      /** Make the bridge with VLAN filtering on even without a VLAN on this port. */
      readonly vlanFiltering?: boolean | undefined;
      /** An Open vSwitch bridge rather than a Linux one (VLANs are port tags and trunks). */
      readonly ovs?: boolean | undefined;
    }
  | {
      readonly kind: 'macvlan';
      readonly parent: IfName;
      readonly mode: MacvlanMode;
      /** Put the macvlan on PARENT.VLAN, an 802.1Q sub-interface made (and shared) as needed. */
      readonly vlan?: VlanId | undefined;
      /** A macvlan of the host on the same parent routes to it, so the host reaches it (plan/host-shim.ts). */
      readonly hostShim?: boolean | undefined;
    }
  | {
      readonly kind: 'ipvlan';
      readonly parent: IfName;
      readonly mode: IpvlanMode;
      readonly flag: IpvlanFlag;
      /** Put the ipvlan on PARENT.VLAN, made (and shared) as needed. */
      readonly vlan?: VlanId | undefined;
    }
  | {
      readonly kind: 'vlan';
      readonly parent: IfName;
      readonly vlanId: VlanId;
      /** Where the parent is: a host NIC (default) or an interface inside the target, e.g. a trunk. */
      readonly parentIn?: 'host' | 'target' | undefined;
    }
  | { readonly kind: 'phys'; readonly device: IfName }
  | { readonly kind: 'pair'; readonly peer: T; readonly peerIface: IfaceSpec }
  /**
   * pipework's first argument: what it means depends on the host (an existing bridge: veth into
   * it; another interface: macvlan on it, or the interface itself with directPhys; a missing
   * name starting with "br": a new bridge). The planner decides from the observed host.
   */
  | {
      readonly kind: 'auto';
      readonly host: { readonly name: IfName } | { readonly mac: Mac };
      readonly directPhys: boolean;
      readonly vlan?: VlanId | undefined;
      readonly hostIfname?: IfName | undefined;
    };

export type LinkKind = LinkIntent['kind'];

export interface Attachment<T = ResolvedTarget> {
  readonly target: T;
  readonly iface: IfaceSpec;
  readonly link: LinkIntent<T>;
  /** The recipe that owns it (recorded in its tags); none for a CLI attach. */
  readonly owner?: string | undefined;
}

export type AttachRequest = Attachment<TargetSpec>;

export interface DetachRequest<T = TargetSpec> {
  readonly target: T;
  readonly ifname: IfName;
  /** Remove it even when pipefitter did not make it. @default false */
  readonly force: boolean;
}

/** A link intent after pipework's "auto" rule was applied by the planner. */
export type ConcreteLink<T = ResolvedTarget> = Exclude<LinkIntent<T>, { kind: 'auto' }>;
export interface ConcreteAttachment<T = ResolvedTarget> {
  readonly target: T;
  readonly iface: IfaceSpec;
  readonly link: ConcreteLink<T>;
  readonly owner?: string | undefined;
}
