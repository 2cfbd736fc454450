/**
 * The links of namespaces, alone, for a caller that needs nothing else (no addresses, routes,
 * neighbours or firewall): `after an attach, has it carrier?` (carrier.ts), the bridges and
 * interfaces shell completion offers (api/completion.ts), the names a CNI ADD checks and the
 * MACs its result gives (api/cni-add.ts). In-process under the netlink backend (one dump per
 * namespace, where an observation makes five), else one `ip -d -j link show` each.
 */
import type { Runner } from '../exec/runner.js';
import type { NetnsRef } from '../model/netns.js';
import type { ObservedLink } from '../model/observed.js';
import { identityOf, netnsKey, netnsPath } from '../model/netns.js';
import { dumpLinks } from '../netlink/dump.js';
import { decodeLinks } from './ip-json.js';
import { linkOf, observeNetnsNetlink } from './netlink.js';
import { inProcessFailure, observeFailure } from './snapshot.js';

const NO_ADDRS: ReadonlyMap<number, never[]> = new Map();

/**
 * Each namespace's links (by netnsKey), without their addresses; a namespace that cannot be read
 * is the error an observation gives (observe/snapshot.ts).
 */
export const observeLinks = async (
  runner: Runner,
  namespaces: readonly NetnsRef[],
): Promise<Map<string, ObservedLink[]>> => {
  const out = new Map<string, ObservedLink[]>();
  const nl = runner.netlink;
  if (nl) {
    try {
      for (const ns of namespaces) {
        const key = netnsKey(ns);
        try {
          const links = dumpLinks(nl.session.socket(netnsPath(ns), identityOf(ns)));
          const names = new Map(links.map((l) => [l.index, l.name]));
          out.set(
            key,
            links.map((l) => linkOf(l, names, NO_ADDRS)),
          );
        } catch (e) {
          throw inProcessFailure(key, e);
        }
      }
    } finally {
      nl.session.close();
    }
    return out;
  }
  for (const ns of namespaces) {
    const r = await runner.run(['ip', '-d', '-j', 'link', 'show'], { netns: ns });
    if (r.failed)
      throw observeFailure(netnsKey(ns), {
        reason: r.reason ?? 'other',
        detail: r.stderr.trim().split('\n')[0] || `exit code ${r.exitCode ?? '?'}`,
        missing: r.missing ?? ['ip'],
      });
    out.set(netnsKey(ns), decodeLinks(r.stdout));
  }
  return out;
};

/** The links of one namespace, quietly: a namespace that cannot be read has none. */
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
