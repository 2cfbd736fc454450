/** detach: remove exactly what attach made, from ownership tags and observed state. */
import { refuse } from '../errors.js';
import type { DetachRequest } from '../model/attachment.js';
import { HOST } from '../model/netns.js';
import type { SavedRoute } from '../model/owner.js';
import { decodeTag, readTag } from '../model/owner.js';
import type { ObservedState } from '../model/observed.js';
import { hostEndOf } from '../model/observed.js';
import type { Plan } from '../model/step.js';
import type { ResolvedTarget } from '../model/target.js';
import { hostSideName, isIfName } from '../names.js';
import { routeArgs } from '../render/ip.js';
import { linkDel, routeAdd, routeDelCmd, routeReplace, routeReplaceCmd } from './commands.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { PlanContext as Context } from './context.js';
import { defaultRoutes, sameRoute } from './iface.js';
import { PHASE } from './phases.js';
import { planOvsPortRemoval } from './ovs.js';
import { dhcpStop } from './dhcp.js';
import { releaseSharedVlan, sharedVlansOf, vlanUserKey } from './shared-vlan.js';
import { releaseShim, shimsOf } from './host-shim.js';
import { planBridgeFirewallRemoval, planOrphanFirewallRemoval } from './firewall.js';
import { releaseBridgeAddrs } from './bridge.js';
import { parentUser, releaseParents } from './parent.js';
import { planPhysHome, planPhysSettle } from './phys.js';

export interface DetachPlanOptions {
  /** Remove the interface even when pipefitter did not make it. @default false */
  readonly force?: boolean;
}

/** What detach observed besides the namespaces. */
export interface DetachObserved {
  /**
   * The target is gone for good (`pipefitter watch`: a container removed) and the interface was
   * a port of this bridge: a bridge pipefitter made that has no ports left goes too, as it would
   * have with the detach of its last port.
   */
  readonly goneFromBridge?: string | undefined;
  /**
   * A DHCP state directory of this target and interface exists (plan/dhcp.ts dhcpStateDir): a
   * client pipefitter started may still run, or its one-shot lease's state is kept — also when
   * the interface went with a namespace made anew (a restarted container), where the client
   * lives on in the old one and keeps it alive. @default false
   */
  readonly dhcpState?: boolean | undefined;
  /**
   * The target at the other end of the pair being removed, when it is known (a recipe's; a
   * detach's, found by the pair's tag `p=`): the default routes that end replaced go back too,
   * as the pair goes as a whole.
   */
  readonly peer?: ResolvedTarget | undefined;
}

interface RemoveOptions extends DetachPlanOptions, DetachObserved {
  /** Phase of the removal steps: `inside` for detach, `prepare` when a replacement follows. */
  readonly phase?: typeof PHASE.inside | typeof PHASE.prepare;
  /** The bridge a replacement joins: kept even when its last port goes (the replacement uses it). */
  readonly keepBridge?: string | undefined;
  /**
   * The shared host links (a host shim, a shared VLAN sub-interface) the replacement uses: the
   * replacement is the same user (same target and ifname), so it stays listed and they stay
   * even when it is their only user; only the old addresses' shim routes go.
   */
  readonly keepShared?: readonly string[] | undefined;
  /**
   * A bridge port goes after the bridge it leaves empty (and its accept rules): a detach. Only
   * the port's tag says which bridge that is, so a detach stopped between the two — a failure
   * past the bridge's deletion (exit 3), a kill — leaves the tag behind, and running it again
   * finishes the job. (A parent brought up, a shared VLAN sub-interface: recorded elsewhere, so
   * they keep following the interface, as the kernel wants.) @default false
   */
  readonly portLast?: boolean | undefined;
}

/**
 * Plan the removal of one interface. A missing interface plans nothing (detach twice is fine),
 * except finishing what it left that is recorded outside it: a DHCP client of it that is left
 * (see DetachObserved), a host parent brought up for it, its place among the users of a shared
 * VLAN sub-interface, a device moved home that still carries its tag — left by a detach stopped
 * right after deleting it or moving it (exit 3, or killed), or by a container whose namespace
 * went with the interface.
 * @example planDetach({ target, ifname, force: false }, observed).steps
 */
export const planDetach = (
  req: DetachRequest<ResolvedTarget>,
  observed: ObservedState,
  seen: DetachObserved = {},
): Plan => {
  const ctx = new Context(observed);
  const l = ctx.link(req.target.netns, req.ifname);
  if (!l) {
    if (seen.dhcpState) {
      ctx.phase = PHASE.inside;
      ctx.push({
        id: `dhcp-stop:${req.ifname}`,
        ...dhcpStop(req.target.netns, req.target.id, req.ifname),
        describes: `stop the DHCP client of "${req.ifname}" and remove its state (the interface is gone: was ${req.target.label} restarted?)`,
        undo: 'irreversible',
      });
    }
    // a device sent home by a detach that stopped before it had settled there: still tagged
    for (const h of ctx.links(HOST)) {
      const tag = decodeTag(h.alias);
      if (
        tag?.kind === 'phys' &&
        tag.origName === h.name &&
        tag.target === req.target.id &&
        tag.ifname === req.ifname
      )
        planPhysSettle(ctx, h, { ...tag, origName: h.name });
    }
    const vlanUser = vlanUserKey(req.target.id, req.ifname);
    // the interface is gone, and with it what it had: its routes leave the shim by their mark
    for (const name of shimsOf(ctx, vlanUser)) releaseShim(ctx, name, vlanUser, []);
    for (const name of sharedVlansOf(ctx, vlanUser)) releaseSharedVlan(ctx, name, vlanUser);
    releaseParents(ctx, parentUser(req.target.id, req.ifname));
    const gb = seen.goneFromBridge;
    const br = gb === undefined ? undefined : ctx.link(HOST, gb);
    if (
      gb !== undefined &&
      br &&
      decodeTag(br.alias)?.kind === 'bridge' &&
      !ctx.links(HOST).some((h) => h.master === gb)
    ) {
      ctx.phase = PHASE.finish;
      planBridgeFirewallRemoval(ctx, HOST, gb);
      ctx.push(linkDel(HOST, gb, `link-del:${gb}`));
      ctx.dropLink(HOST, gb);
      ctx.notes.push(`bridge "${gb}" was made by pipefitter and has no ports left; it is removed`);
    }
    const plan = ctx.finish();
    return plan.steps.length
      ? plan
      : {
          ...plan,
          noops: [...plan.noops, `${req.target.label}: no interface "${req.ifname}"; nothing to remove`],
        };
  }
  planRemoveIface(ctx, req.target, l, {
    force: req.force,
    dhcpState: seen.dhcpState,
    portLast: true,
    peer: seen.peer,
  });
  return ctx.finish();
};

/**
 * Put back the default routes the attachment replaced (saved in its tag), while its own
 * default route still exists: one of the same metric is swapped
 * in with `replace`, others are added.
 */
const restoreDefaults = (
  ctx: PlanContext,
  t: ResolvedTarget,
  l: ProjectedLink,
  prev: readonly SavedRoute[],
): void => {
  for (const family of [4, 6] as const) {
    const saved = prev.filter((r) => r.family === family);
    if (saved.length === 0) continue;
    const kernelMetric = family === 6 ? 1024 : 0;
    const current = defaultRoutes(ctx.routes(t.netns), family);
    const ours = current.find((r) => r.dev === l.name);
    const oursMetric = ours?.metric ?? kernelMetric;
    let replaced = false;
    for (const r of saved) {
      if (r.dev === undefined || !ctx.link(t.netns, r.dev) || r.dev === l.name) continue;
      const metric = r.metric ?? kernelMetric;
      // back already: a detach killed after putting it back is run again
      if (current.some((o) => sameRoute({ ...o, metric: o.metric ?? kernelMetric }, { ...r, metric })))
        continue;
      const describes = `restore the default route ${routeArgs(r).slice(1).join(' ')}`;
      if (ours && !replaced && metric === oursMetric) {
        replaced = true;
        ctx.push({
          ...routeReplace(t.netns, r, routeReplaceCmd(t.netns, ours)),
          id: `route-restore:${family}:${r.dev}:${r.gateway ?? ''}:${metric}`,
          describes,
        });
      } else
        ctx.push({
          ...routeAdd(t.netns, r, routeDelCmd(t.netns, r)),
          id: `route-restore:${family}:${r.dev}:${r.gateway ?? ''}:${metric}`,
          describes,
        });
    }
    if (ours && replaced) ctx.removeRoute(t.netns, ours);
  }
};

export const planRemoveIface = (
  ctx: PlanContext,
  t: ResolvedTarget,
  l: ProjectedLink,
  opts: RemoveOptions,
): void => {
  const ns = t.netns;
  const read = readTag(l.alias);
  const tag = read.status === 'ours' ? read.tag : undefined;
  if (read.status === 'corrupt' && !opts.force)
    throw refuse(
      'E_NOT_OWNED',
      `${t.label}: interface "${l.name}"`,
      `carries a pipefitter tag that cannot be read (${read.message}), so what it replaced cannot be put back`,
      'fix or clear its alias (ip link set dev NAME alias ""), or pass --force to remove it anyway',
    );
  if (!tag && !opts.force)
    throw refuse(
      'E_NOT_OWNED',
      `${t.label}: interface "${l.name}"`,
      'was not made by pipefitter',
      'pipefitter only removes what it made; pass --force to remove it anyway',
    );
  ctx.phase = opts.phase ?? PHASE.inside;
  if (tag) restoreDefaults(ctx, t, l, tag.prevDefaults ?? []);
  const peerLink =
    tag?.kind === 'pair' && opts.peer && tag.peerIfname !== undefined
      ? ctx.link(opts.peer.netns, tag.peerIfname)
      : undefined;
  const peerTag = decodeTag(peerLink?.alias);
  if (opts.peer && peerLink && peerTag?.kind === 'pair')
    restoreDefaults(ctx, opts.peer, peerLink, peerTag.prevDefaults ?? []);
  // A DHCP client (kept running, or its state from a one-shot lease) goes before its link; also
  // one left from an attach of the same name before a restart, when this one has static addresses.
  const dhcpOwners = new Set<string>();
  if (tag?.dhcp === true) dhcpOwners.add(tag.target ?? t.id);
  if (opts.dhcpState) dhcpOwners.add(t.id);
  for (const owner of dhcpOwners)
    ctx.push({
      id: `dhcp-stop:${l.name}`,
      ...dhcpStop(t.netns, owner, l.name),
      undo: 'irreversible',
    });

  if (tag?.kind === 'phys' && tag.origName !== undefined) {
    planPhysHome(ctx, t, l, { ...tag, origName: tag.origName });
    return;
  }

  // veth, macvlan, ipvlan, vlan, pair: deleting the inside end removes the peer and all addresses and
  // routes. A veth on a Linux bridge goes by its host end instead: the same effect, and the
  // host ends of many containers leave in one process.
  const hostEnd =
    tag?.kind === 'veth' && tag.bridge !== undefined
      ? hostEndOf(ctx.links(HOST), l, (h) => {
          const ht = decodeTag(h.alias);
          return ht?.kind === 'veth-host' && ht.target === (tag.target ?? t.id) && ht.ifname === l.name;
        })
      : undefined;
  const removal = opts.portLast && tag?.kind === 'veth' && tag.bridge !== undefined ? PHASE.last : ctx.phase;
  if (hostEnd && tag?.parent !== 'ovs') {
    const del = linkDel(HOST, hostEnd.name, `link-del:${hostEnd.name}`);
    ctx.push(
      {
        ...del,
        // it removes the end inside too (and what is stacked on it there): ordered with that namespace's steps
        affects: [ns],
        describes: `remove "${l.name}" from ${t.label} (with its host end "${hostEnd.name}")`,
      },
      removal,
    );
  } else ctx.push(linkDel(ns, l.name, `link-del:${l.name}`), removal);
  ctx.dropLink(ns, l.name);
  // the kernel deletes the links stacked on it in the same namespace (VLANs of a trunk) too
  for (const child of ctx.links(ns).filter((c) => c.parent === l.name)) ctx.dropLink(ns, child.name);
  if (tag?.kind === 'macvlan') {
    const user = vlanUserKey(tag.target ?? t.id, l.name);
    for (const name of shimsOf(ctx, user))
      releaseShim(ctx, name, user, l.addrs, opts.keepShared?.includes(name) ?? false);
  }
  if (
    (tag?.kind === 'macvlan' || tag?.kind === 'ipvlan') &&
    tag.parent !== undefined &&
    !opts.keepShared?.includes(tag.parent)
  )
    releaseSharedVlan(ctx, tag.parent, vlanUserKey(tag.target ?? t.id, l.name));
  if (tag?.target !== undefined && tag.ifname !== undefined)
    releaseParents(ctx, parentUser(tag.target, tag.ifname));
  if (tag?.kind === 'pair' && tag.peer !== undefined)
    ctx.notes.push(`${t.label}: the peer end ${tag.peer}:${tag.peerIfname ?? '?'} goes with it`);

  if (tag?.kind === 'veth' && tag.bridge !== undefined) {
    const hostName = hostEnd?.name ?? (isIfName(l.name) ? hostSideName(t, l.name) : undefined);
    if (hostName !== undefined) ctx.dropLink(HOST, hostName);
    if (tag.parent === 'ovs') {
      if (hostName !== undefined)
        planOvsPortRemoval(ctx, tag.bridge, hostName, opts.keepBridge === tag.bridge);
      ctx.phase = PHASE.link;
      return;
    }
    const br = ctx.link(HOST, tag.bridge);
    const ports = ctx.links(HOST).filter((h) => h.master === tag.bridge);
    if (
      br &&
      opts.keepBridge !== tag.bridge &&
      decodeTag(br.alias)?.kind === 'bridge' &&
      ports.length === 0
    ) {
      // pipefitter made this bridge and its last port is going: take the bridge too.
      ctx.phase = PHASE.finish;
      planBridgeFirewallRemoval(ctx, HOST, tag.bridge);
      ctx.push(linkDel(HOST, tag.bridge, `link-del:${tag.bridge}`));
      ctx.dropLink(HOST, tag.bridge);
      ctx.notes.push(`bridge "${tag.bridge}" was made by pipefitter and has no ports left; it is removed`);
    } else if (!br && opts.keepBridge !== tag.bridge) {
      // gone already (a detach stopped after deleting it): its accept rules, which that
      // detach's rollback put back, go now
      ctx.phase = PHASE.finish;
      planOrphanFirewallRemoval(ctx, HOST, [tag.bridge]);
    } else releaseBridgeAddrs(ctx, tag.bridge, hostEnd);
  }
  ctx.phase = PHASE.link;
};
