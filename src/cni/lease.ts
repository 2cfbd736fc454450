/**
 * Leases of pipefitter's own IPAM (`"ipam": {"type": "pipefitter"}`) in the store recipes' `auto`
 * addresses live in (ipam/store.ts): the pool `cni:NETWORK`, the key
 * `cni:NETWORK/CONTAINERID/IFNAME` — the attachment's identity, so `pipefitter ipam ls` names its
 * owner. Recipe names have no `:`, so the two never meet. Pure.
 */

export const CNI_LEASE_PREFIX = 'cni:';

/** The pool id of a network's leases. */
export const cniPoolId = (network: string): string => `${CNI_LEASE_PREFIX}${network}`;

/** The key of one attachment's lease. */
export const cniLeaseKey = (network: string, containerId: string, ifname: string): string =>
  `${cniPoolId(network)}/${containerId}/${ifname}`;

/** The identity a lease's key names, or undefined for a key that is not a CNI lease's. */
export const parseCniLeaseKey = (
  key: string,
): { network: string; containerId: string; ifname: string } | undefined => {
  if (!key.startsWith(CNI_LEASE_PREFIX)) return undefined;
  const parts = key.slice(CNI_LEASE_PREFIX.length).split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  const [network, containerId, ifname] = parts as [string, string, string];
  return { network, containerId, ifname };
};
