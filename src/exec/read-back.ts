/**
 * After a rollback, the kernel is asked, not trusted (issue 13, defect 2): every undo that said
 * it worked is checked against what each namespace now holds — a link deleted is gone (a veth's
 * peer too), one put back is there under its old name with its old MTU, state and bridge, an
 * address or route removed is gone, one put back is there, a named namespace deleted is gone.
 * What the undos cannot be checked against (sysctls, nft/iptables rules, other programs) keeps
 * the program's own exit code. What is still there is listed; the caller exits 3 with it.
 */
import { existsSync } from 'node:fs';
import { sameAddress } from '../addr.js';
import { isPipefitterError } from '../errors.js';
import type { NetnsRef } from '../model/netns.js';
import { netnsKey, netnsPath } from '../model/netns.js';
import type { NetnsState, ObservedRoute } from '../model/observed.js';
import type { Arg, Step } from '../model/step.js';
import { observe } from '../observe/snapshot.js';
import type { Runner } from './runner.js';

/** What one link must look like after the rollback (`present`), or that it must be gone. */
interface LinkWant {
  ns: NetnsRef;
  name: string;
  /** It must be gone (an undo deleted it). */
  deleted: boolean;
  /** It must be there (an undo put it back or changed it). */
  present: boolean;
  up?: boolean | undefined;
  mtu?: number | undefined;
  /** null: in no bridge. */
  master?: string | null | undefined;
  /** Addresses that must not be on it (address/prefix). */
  noAddrs: { address: string; prefix: number }[];
  /** The undo that set it, for the report. */
  by: string;
}

interface RouteWant {
  ns: NetnsRef;
  route: ObservedRoute;
  present: boolean;
  by: string;
}

export interface Expectations {
  readonly links: readonly LinkWant[];
  readonly routes: readonly RouteWant[];
  /** Named namespaces that must be gone, with the undo that deleted each. */
  readonly netnsGone: readonly { readonly name: string; readonly by: string }[];
}

const where = (ns: NetnsRef): string => (ns.kind === 'host' ? 'the host' : netnsKey(ns));

/**
 * What the kernel must hold once the undos of `undone` have run (in that order: the rollback's,
 * last step first). Pure: the result of every undo, followed through renames, moves and
 * deletions that come after it.
 * @example expectationsOf([vethStep]).links[0] // { name: 'veth1pl42', present: false, … }
 */
export const expectationsOf = (
  undone: readonly Step[],
  /** Steps whose undo found nothing to act on (its object gone): only what they made is looked for. */
  foundNothing: ReadonlySet<Step> = new Set(),
): Expectations => {
  const links = new Map<string, LinkWant>();
  const routes: RouteWant[] = [];
  const netnsGone: { name: string; by: string }[] = [];
  const key = (ns: NetnsRef, name: string): string => `${netnsKey(ns)}\0${name}`;
  const linkAt = (ns: NetnsRef, name: string, by: string): LinkWant => {
    const k = key(ns, name);
    let w = links.get(k);
    if (!w) {
      w = { ns, name, deleted: false, present: false, noAddrs: [], by };
      links.set(k, w);
    }
    return w;
  };
  const gone = (ns: NetnsRef, name: string, by: string): void => {
    // everything on it goes with it: what earlier undos set on it no longer matters
    links.set(key(ns, name), { ns, name, deleted: true, present: false, noAddrs: [], by });
    for (let i = routes.length - 1; i >= 0; i--) {
      const r = routes[i] as RouteWant;
      if (netnsKey(r.ns) === netnsKey(ns) && r.route.dev === name) routes.splice(i, 1);
    }
  };
  for (const step of undone) {
    const u = step.undo;
    if (typeof u === 'string') continue;
    const by = `${u.describes} (undo of: ${step.describes})`;
    // what a step made is looked for by what it made, not by what its undo names
    const f = step.op;
    if (f.op === 'link.add') {
      gone(f.netns ?? step.netns, f.name, by);
      // a veth's peer is born where the request is made unless it says where
      if (f.spec.kind === 'veth') gone(f.spec.peer.netns ?? step.netns, f.spec.peer.name, by);
      continue;
    }
    if (f.op === 'addr.add') {
      linkAt(step.netns, f.addr.dev, by).noAddrs.push({ address: f.addr.address, prefix: f.addr.prefix });
      continue;
    }
    if (f.op === 'route.add') {
      routes.push({ ns: step.netns, route: f.route, present: false, by });
      continue;
    }
    if (f.op === 'exec') {
      const made = netnsAdded(f.argv);
      if (made) {
        netnsGone.push({ name: made, by });
        continue;
      }
    }
    // an undo that found its object gone put nothing back: there is nothing to expect of it
    if (foundNothing.has(step)) continue;
    const o = u.op;
    switch (o.op) {
      case 'link.del':
        gone(u.netns, o.name, by);
        break;
      case 'link.set': {
        const p = o.patch;
        let w = linkAt(u.netns, o.name, by);
        if (p.name !== undefined || p.netns !== undefined) {
          // it moves: what was wanted of it follows it
          links.delete(key(u.netns, o.name));
          const ns = p.netns ?? u.netns;
          const name = p.name ?? o.name;
          w = { ...w, ns, name };
          links.set(key(ns, name), w);
          for (const r of routes)
            if (netnsKey(r.ns) === netnsKey(u.netns) && r.route.dev === o.name) {
              r.ns = ns;
              r.route = { ...r.route, dev: name };
            }
        }
        w.present = true;
        w.deleted = false;
        w.by = by;
        if (p.up !== undefined) w.up = p.up;
        if (p.mtu !== undefined) w.mtu = p.mtu;
        if (p.master !== undefined) w.master = p.master;
        break;
      }
      case 'addr.del':
        linkAt(u.netns, o.addr.dev, by).noAddrs.push({ address: o.addr.address, prefix: o.addr.prefix });
        break;
      case 'route.del':
      case 'route.add':
      case 'route.replace':
        routes.push({ ns: u.netns, route: o.route, present: o.op !== 'route.del', by });
        break;
      case 'exec': {
        const [a, b, c, name] = o.argv;
        if (a === 'ip' && b === 'netns' && (c === 'del' || c === 'delete') && typeof name === 'string')
          netnsGone.push({ name, by });
        break;
      }
      case 'link.add':
      case 'addr.add':
      case 'bridge-vlan.add':
      case 'bridge-vlan.del':
      case 'sysctl':
      case 'arp.announce':
        // not read back: its program's (or the kernel's) answer stands
        break;
    }
  }
  return { links: [...links.values()], routes, netnsGone };
};

/** The name `ip netns add NAME` makes, if that is what argv is. */
const netnsAdded = (argv: readonly Arg[]): string | undefined => {
  const [a, b, c, name] = argv;
  return a === 'ip' && b === 'netns' && c === 'add' && typeof name === 'string' ? name : undefined;
};

const dstOf = (r: ObservedRoute): string =>
  r.dst === 'default'
    ? r.family === 6
      ? '::/0'
      : '0.0.0.0/0'
    : r.dst.includes('/')
      ? r.dst
      : `${r.dst}/${r.family === 6 ? 128 : 32}`;

/** The same route, as far as the undo said: destination, device, gateway, and metric if given. */
const matches = (want: ObservedRoute, seen: ObservedRoute): boolean => {
  if (want.family !== seen.family) return false;
  const [wa = '', wp] = dstOf(want).split('/');
  const [sa = '', sp] = dstOf(seen).split('/');
  if (wp !== sp || !sameAddress(wa, sa)) return false;
  if (want.dev !== undefined && want.dev !== seen.dev) return false;
  if (want.gateway !== undefined && (seen.gateway === undefined || !sameAddress(want.gateway, seen.gateway)))
    return false;
  return want.metric === undefined || want.metric === seen.metric;
};

const routeText = (r: ObservedRoute): string =>
  `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;

/** What `state` still holds that the expectations of one namespace say must not be (or lacks). */
export const leftoversIn = (e: Expectations, ns: NetnsRef, state: NetnsState): string[] => {
  const out: string[] = [];
  const k = netnsKey(ns);
  const at = where(ns);
  for (const w of e.links.filter((l) => netnsKey(l.ns) === k)) {
    const link = state.links.find((l) => l.name === w.name);
    if (!link) {
      if (w.present) out.push(`link ${w.name} is missing from ${at}: ${w.by} said it was put back`);
      continue;
    }
    if (w.deleted) {
      out.push(`link ${w.name} is still in ${at}: ${w.by}`);
      continue;
    }
    if (w.up !== undefined && link.up !== w.up)
      out.push(`link ${w.name} in ${at} is ${link.up ? 'up' : 'down'}: ${w.by}`);
    if (w.mtu !== undefined && link.mtu !== w.mtu)
      out.push(`link ${w.name} in ${at} has MTU ${link.mtu}, not ${w.mtu}: ${w.by}`);
    if (w.master !== undefined && (link.master ?? null) !== w.master)
      out.push(
        `link ${w.name} in ${at} is in bridge ${link.master ?? '(none)'}, not ${w.master ?? '(none)'}: ${w.by}`,
      );
    for (const a of w.noAddrs)
      if (link.addrs.some((x) => x.prefix === a.prefix && sameAddress(x.address, a.address)))
        out.push(`address ${a.address}/${a.prefix} is still on ${w.name} in ${at}: ${w.by}`);
  }
  for (const r of e.routes.filter((x) => netnsKey(x.ns) === k)) {
    const seen = state.routes.some((s) => matches(r.route, s));
    if (seen !== r.present)
      out.push(`route ${routeText(r.route)} is ${seen ? 'still in' : 'missing from'} ${at}: ${r.by}`);
  }
  return out;
};

/**
 * Read back every namespace the undos of `undone` touched and list what is not as they left it.
 * A namespace gone since (its container stopped) took everything in it along: nothing to list.
 */
export const readBackUndone = async (
  runner: Runner,
  undone: readonly Step[],
  foundNothing: ReadonlySet<Step> = new Set(),
): Promise<string[]> => {
  const e = expectationsOf(undone, foundNothing);
  const spaces = new Map<string, NetnsRef>();
  for (const x of [...e.links, ...e.routes]) spaces.set(netnsKey(x.ns), x.ns);
  const out: string[] = [];
  for (const ns of spaces.values()) {
    let state: NetnsState | undefined;
    try {
      state = (await observe(runner, [ns], { firewall: false, forwardingOf: new Set() })).get(netnsKey(ns));
    } catch (err) {
      if (isPipefitterError(err) && (err.code === 'E_TARGET_STOPPED' || err.code === 'E_TARGET_CHANGED'))
        continue;
      out.push(`${where(ns)} could not be read back: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (state) out.push(...leftoversIn(e, ns, state));
  }
  for (const g of e.netnsGone) {
    const path = netnsPath({ kind: 'name', name: g.name, identity: undefined });
    if (path && existsSync(path)) out.push(`namespace ${g.name} is still there (${path}): ${g.by}`);
  }
  return out;
};
