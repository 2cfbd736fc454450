/** The host's NAT state for a recipe: its nftables table (if any) and IPv4 forwarding. */
import { readFile } from 'node:fs/promises';
import type { Runner } from '../exec/runner.js';
import { HOST } from '../model/netns.js';
import type { NatObserved } from '../plan/nat.js';
import { natTable } from '../plan/nat.js';

export const observeNat = async (runner: Runner, recipe: string): Promise<NatObserved> => {
  const [r, fwd] = await Promise.all([
    runner.run(['nft', 'list', 'table', 'ip', natTable(recipe)], { netns: HOST }),
    readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => '0'),
  ]);
  return { tableText: r.failed ? undefined : r.stdout, ipForward: fwd.trim() === '1' };
};
