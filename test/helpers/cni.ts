/**
 * Shared by the CNI plugin's tests (direct invocation, Podman, containerd): where the reference
 * plugins are, and what host-local holds (its lease files, named by address).
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
