/**
 * Shared by the CNI plugin's tests (direct invocation, Podman, containerd, chains): where the
 * reference plugins are, the host-local configuration they use, and what host-local holds (its
 * lease files, named by address).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Debian's containernetworking-plugins. */
export const REFERENCE = '/usr/lib/cni';

/** The addresses (IPv4 and IPv6) host-local holds in DATADIR for NETWORK, sorted. */
export const hostLocalLeases = async (dataDir: string, network: string): Promise<string[]> =>
  (await readdir(join(dataDir, network)).catch(() => [] as string[]))
    .filter((f) => /^[0-9a-f.:]+$/.test(f) && /[.:]/.test(f))
    .sort();

/**
 * The `ipam` of the tests' networks: host-local handing out 198.51.100.0/24 with the gateway
 * 198.51.100.1 and `routes`, its leases in DATADIR.
 */
export const hostLocalIpam = (
  dataDir: string,
  routes: readonly { dst: string; gw?: string }[] = [{ dst: '203.0.113.0/24' }],
) => ({
  type: 'host-local',
  subnet: '198.51.100.0/24',
  gateway: '198.51.100.1',
  routes,
  dataDir,
});
