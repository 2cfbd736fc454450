/**
 * The links of one namespace, alone, for a caller that needs nothing else (no routes, no
 * neighbours, no firewall): `after an attach, has it carrier?` (carrier.ts), and the bridges and
 * interfaces shell completion offers (api/completion.ts). In-process under the netlink backend,
 * else one `ip -d -j link show`. Quiet: a namespace that cannot be read has no links here.
 */
import type { Runner } from '../exec/runner.js';
import type { NetnsRef } from '../model/netns.js';
import type { ObservedLink } from '../model/observed.js';
import { decodeLinks } from './ip-json.js';
import { observeNetnsNetlink } from './netlink.js';

export const readLinks = async (runner: Runner, ns: NetnsRef, dev?: string): Promise<ObservedLink[]> => {
  const nl = runner.netlink;
  if (nl) {
    // in-process, as everything else is read (no nsenter, no ip); the sockets go at once
    try {
      const links = observeNetnsNetlink(nl.session, ns, { neighbours: false, forwarding: false }).links;
      return links.filter((l) => dev === undefined || l.name === dev);
    } catch {
      return [];
    } finally {
      nl.session.close();
    }
  }
  const r = await runner.run(['ip', '-d', '-j', 'link', 'show', ...(dev ? ['dev', dev] : [])], { netns: ns });
  return r.failed ? [] : decodeLinks(r.stdout);
};
