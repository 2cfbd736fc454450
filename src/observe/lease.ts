/** The lease a DHCP run left in its state directory (lease.env, written by our event script). */
import { readFile, stat } from 'node:fs/promises';

export interface Lease {
  readonly ip: string;
  readonly router?: string | undefined;
  readonly dns: readonly string[];
  readonly leaseSeconds?: number | undefined;
  readonly client?: string | undefined;
}

export const parseLeaseEnv = (text: string): Lease | undefined => {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const ip = kv.get('ip');
  if (!ip) return undefined;
  const lease = Number(kv.get('lease'));
  return {
    ip,
    router: kv.get('router') || undefined,
    dns: (kv.get('dns') ?? '').split(/\s+/).filter((d) => d !== ''),
    leaseSeconds: Number.isFinite(lease) && lease > 0 ? lease : undefined,
    client: kv.get('client') || undefined,
  };
};

export const readLease = async (stateDir: string): Promise<Lease | undefined> => {
  try {
    return parseLeaseEnv(await readFile(`${stateDir}/lease.env`, 'utf8'));
  } catch {
    return undefined;
  }
};

/** A DHCP state directory is there (a client may run, or a one-shot lease's state is kept). */
export const hasDhcpState = (stateDir: string): Promise<boolean> =>
  stat(stateDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
