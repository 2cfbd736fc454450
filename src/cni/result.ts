/**
 * The ADD result (SPEC.md section 5, "ADD Success") built from what the kernel shows after the
 * attach and what IPAM returned. Pure. With a `prevResult` (pipefitter after another plugin in a
 * chain) the previous interfaces, ips and routes come first and pipefitter's are appended, their
 * `interface` indexes shifted to match.
 */
import type { CniDns, CniInterface, CniIpConfig, CniResult, CniRoute } from './types.js';

export interface MadeLink {
  readonly name: string;
  readonly mac?: string | undefined;
  readonly mtu?: number | undefined;
}

export interface ResultInput {
  readonly cniVersion: string;
  /** Host-side interfaces the attachment uses or made, in order (a bridge, then the veth's host end). */
  readonly host: readonly MadeLink[];
  /** The interface in the container. */
  readonly container: MadeLink;
  /** CNI_NETNS. */
  readonly sandbox: string;
  /** From IPAM: addresses (with their gateways), routes, DNS. */
  readonly ips: readonly CniIpConfig[];
  readonly routes: readonly CniRoute[];
  readonly dns?: CniDns | undefined;
  readonly prevResult?: CniResult | undefined;
}

export const addResult = (r: ResultInput): CniResult => {
  const prev = r.prevResult;
  const base = prev?.interfaces?.length ?? 0;
  const interfaces: CniInterface[] = [
    ...(prev?.interfaces ?? []),
    ...r.host.map((h) => ({ name: h.name, mac: h.mac, mtu: h.mtu })),
    { name: r.container.name, mac: r.container.mac, mtu: r.container.mtu, sandbox: r.sandbox },
  ];
  const index = base + r.host.length;
  const ips: CniIpConfig[] = [
    ...(prev?.ips ?? []),
    ...r.ips.map((i) => ({ address: i.address, gateway: i.gateway, interface: index })),
  ];
  const routes = [...(prev?.routes ?? []), ...r.routes];
  const dns = r.dns ?? prev?.dns;
  return {
    cniVersion: r.cniVersion,
    interfaces,
    ips,
    ...(routes.length ? { routes } : {}),
    ...(dns ? { dns } : {}),
  };
};
