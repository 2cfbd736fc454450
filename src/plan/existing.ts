/** An interface of the asked-for name exists: is it this attachment (repair drift), or a conflict? */
import type { ConcreteAttachment } from '../model/attachment.js';
import { assertNever } from '../model/assert-never.js';
import type { IfaceSpec } from '../model/iface.js';
import type { NetnsRef } from '../model/netns.js';
import { HOST } from '../model/netns.js';
import type { ObservedAddr } from '../model/observed.js';
import { hostEndOf } from '../model/observed.js';
import { decodeTag, encodeTag, readTag } from '../model/owner.js';
import { hostSideName } from '../names.js';
import {
  addrAddCmd,
  addrDel,
  linkSetNomasterCmd,
  observedAddrOf,
  linkSetDownCmd,
  linkSetMac,
  linkSetMacCmd,
  linkSetMaster,
  linkSetMtu,
  linkSetMtuCmd,
  linkSetUp,
  linkSet,
  linkSetAliasCmd,
} from './commands.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { planInside } from './iface.js';
import { PHASE } from './phases.js';
import { networkOf, sameAddress } from '../addr.js';
import { ensureBridge } from './bridge.js';
import { ensureOvsBridge } from './ovs.js';
import { tagKindOf } from './tags.js';
import { ensureParentUp, parentUser } from './parent.js';
import { dropStaleShimRoutes, ensureShim } from './host-shim.js';
import { vlanUserKey } from './shared-vlan.js';
import { checkDuplicateAddresses, withAddrs } from './duplicates.js';
import type { AttachPlanOptions } from './options.js';

/** Undefined when the existing interface is this attachment already (maybe with drift to repair). */
export const compareExisting = (
  ctx: PlanContext,
  a: ConcreteAttachment,
  l: ProjectedLink,
): string | undefined => {
  const read = readTag(l.alias);
  if (read.status === 'corrupt') return `its pipefitter tag cannot be read (${read.message})`;
  if (read.status === 'none') return 'it was not made by pipefitter';
  const tag = read.tag;
  // It lives in this target's namespace, so it is this target's, however the target was spelled
  // when it was made (pid:N, /proc/N/ns/net, docker:…).
  if (tag.ifname !== undefined && tag.ifname !== a.iface.ifname)
    return `pipefitter made it as "${tag.ifname}" (renamed since)`;
  if ((tag.recipe ?? '') !== (a.owner ?? ''))
    return tag.recipe
      ? `it belongs to recipe "${tag.recipe}"`
      : 'it was made by `pipefitter attach`, not by this recipe';
  const kind = tagKindOf(a.link);
  if (tag.kind !== kind) return `it is a ${tag.kind} link, asked for ${kind}`;
  const link = a.link;
  switch (link.kind) {
    case 'bridge':
      if (tag.bridge !== link.bridge)
        return `it is a port of bridge ${tag.bridge ?? '?'}, asked for ${link.bridge}`;
      if ((tag.parent === 'ovs') !== (link.ovs === true))
        return `it is a port of ${tag.parent === 'ovs' ? 'an Open vSwitch' : 'a Linux'} bridge`;
      if (tag.vlan !== link.vlan)
        return `its access VLAN is ${tag.vlan ?? 'none'}, asked for ${link.vlan ?? 'none'}`;
      if ((tag.trunk ?? []).join(',') !== [...new Set(link.trunk ?? [])].sort((x, y) => x - y).join(','))
        return `its trunk VLANs are ${(tag.trunk ?? []).join(',') || 'none'}, asked for ${(link.trunk ?? []).join(',') || 'none'}`;
      break;
    case 'macvlan': {
      const parent = link.vlan === undefined ? link.parent : `${link.parent}.${link.vlan}`;
      if (tag.parent !== parent) return `its parent is ${tag.parent ?? '?'}, asked for ${parent}`;
      if (l.macvlanMode !== undefined && l.macvlanMode !== link.mode)
        return `its mode is ${l.macvlanMode}, asked for ${link.mode}`;
      break;
    }
    case 'ipvlan': {
      const parent = link.vlan === undefined ? link.parent : `${link.parent}.${link.vlan}`;
      if (tag.parent !== parent) return `its parent is ${tag.parent ?? '?'}, asked for ${parent}`;
      if (l.ipvlanMode !== undefined && l.ipvlanMode !== link.mode)
        return `its mode is ${l.ipvlanMode}, asked for ${link.mode}`;
      break;
    }
    case 'vlan':
      if (tag.parent !== link.parent) return `its parent is ${tag.parent ?? '?'}, asked for ${link.parent}`;
      if (l.vlanId !== undefined && l.vlanId !== link.vlanId)
        return `its VLAN id is ${l.vlanId}, asked for ${link.vlanId}`;
      break;
    case 'phys':
      if (tag.origName !== link.device)
        return `it is host interface ${tag.origName ?? '?'}, asked for ${link.device}`;
      break;
    case 'pair':
      if (tag.peer !== link.peer.id || tag.peerIfname !== link.peerIface.ifname)
        return `its peer is ${tag.peer ?? '?'}:${tag.peerIfname ?? '?'}, asked for ${link.peer.label}:${link.peerIface.ifname}`;
      break;
    default:
      return assertNever(link, 'link kind');
  }
  // MAC, MTU and addresses are changed in place (repairExisting), as a recipe repairs drift.
  if ((tag.dhcp === true) !== (a.iface.dhcp !== undefined))
    return tag.dhcp === true ? 'it is addressed by DHCP' : 'it has static addresses';
  void ctx;
  return undefined;
};

/**
 * MTU, MAC and addresses of an interface of ours that differ from what is asked: changed in
 * place (same link, same ifindex), each with its undo. Addresses it has and was not asked for
 * go (a DHCP client owns the addresses of its interface, so not there).
 */
const repairProps = (
  ctx: PlanContext,
  ns: NetnsRef,
  label: string,
  l: ProjectedLink,
  iface: IfaceSpec,
  hostEnd: ProjectedLink | undefined,
): void => {
  ctx.phase = PHASE.inside;
  if (iface.mtu !== undefined && l.mtu !== iface.mtu) {
    ctx.push(linkSetMtu(ns, l.name, iface.mtu, linkSetMtuCmd(ns, l.name, l.mtu)));
    ctx.updateLink(ns, l.name, { mtu: iface.mtu });
    ctx.notes.push(`${label}: the MTU of ${l.name} changes from ${l.mtu} to ${iface.mtu} in place`);
  }
  if (hostEnd && iface.mtu !== undefined && hostEnd.mtu !== iface.mtu) {
    ctx.push(
      linkSetMtu(HOST, hostEnd.name, iface.mtu, linkSetMtuCmd(HOST, hostEnd.name, hostEnd.mtu)),
      PHASE.link,
    );
    ctx.updateLink(HOST, hostEnd.name, { mtu: iface.mtu });
  }
  if (iface.mac !== undefined && l.mac !== iface.mac) {
    ctx.push(linkSetMac(ns, l.name, iface.mac, linkSetMacCmd(ns, l.name, l.mac)));
    ctx.updateLink(ns, l.name, { mac: iface.mac });
    ctx.notes.push(`${label}: the MAC of ${l.name} changes from ${l.mac} to ${iface.mac} in place`);
  }
  if (iface.dhcp) return;
  const wanted = (o: ObservedAddr): boolean =>
    iface.addrs.some((w) => w.prefix === o.prefix && sameAddress(w.address, o.address));
  const extra = l.addrs.filter((o) => o.scope === 'global' && !wanted(o));
  // Deleting the primary IPv4 address of a subnet deletes its secondaries too: a wanted address
  // in the subnet of an extra one goes as well (and planInside adds it back). Secondaries are
  // listed after their primary, so deleting in reverse order never deletes one twice.
  const net = (o: ObservedAddr): string => (o.family === 4 ? networkOf(o.address, o.prefix) : '');
  const extraNets = new Set(extra.filter((o) => o.family === 4).map(net));
  const gone = l.addrs.filter((o) => extra.includes(o) || (o.family === 4 && extraNets.has(net(o))));
  for (const o of [...gone].reverse()) {
    const text = `${o.address}/${o.prefix}`;
    const a = observedAddrOf(l.name, o);
    ctx.push(addrDel(ns, a, addrAddCmd(ns, a)));
    if (extra.includes(o)) ctx.notes.push(`${label}: ${text} is removed from ${l.name} (not asked for)`);
  }
  if (gone.length) ctx.updateLink(ns, l.name, { addrs: l.addrs.filter((o) => !gone.includes(o)) });
};

/**
 * A bridge port whose addresses this plan adds or changes: the addresses it gains must be free
 * on the bridge (plan/duplicates.ts), and its host end's tag records the new ones. A tag that
 * records none (made before tags held them) is left as it is while nothing changes, so that
 * the same attach again still changes nothing.
 */
const planPortAddrs = (
  ctx: PlanContext,
  a: ConcreteAttachment,
  l: ProjectedLink,
  h: ProjectedLink | undefined,
  opts: AttachPlanOptions,
): void => {
  if (a.link.kind !== 'bridge') return;
  const has = l.addrs.filter((o) => o.scope === 'global');
  // an address it has with another prefix is not taken from anyone by the change
  const adding = a.iface.addrs.filter((w) => !has.some((o) => sameAddress(o.address, w.address)));
  checkDuplicateAddresses(
    ctx,
    {
      target: a.target,
      ifname: a.iface.ifname,
      owner: a.owner,
      bridge: a.link.bridge,
      vlan: a.link.vlan,
      adding,
      hostEnd: h?.name,
    },
    opts.allowDuplicateAddress === true,
  );
  const tag = h ? decodeTag(h.alias) : undefined;
  if (!h || tag?.kind !== 'veth-host') return;
  const changes =
    has.length !== a.iface.addrs.length ||
    a.iface.addrs.some((w) => !has.some((o) => o.prefix === w.prefix && sameAddress(o.address, w.address)));
  if (tag.addrs === undefined && !changes) return;
  const fitted = withAddrs(
    { ...tag, ...(a.link.vlan !== undefined ? { vlan: a.link.vlan } : {}) },
    a.iface.addrs,
  );
  // recorded already (in whatever order the addresses were given then)
  const recorded = new Set(tag.addrs ?? []);
  const same =
    (fitted.addrs ?? []).length === recorded.size && (fitted.addrs ?? []).every((x) => recorded.has(x));
  if (tag.addrs !== undefined && same && fitted.vlan === tag.vlan) return;
  const want = encodeTag(fitted);
  ctx.push(
    linkSet(
      HOST,
      h.name,
      { alias: want },
      {
        id: `link-alias:${h.name}`,
        describes: `record the addresses of ${a.target.label} ${a.iface.ifname} in the tag of "${h.name}"`,
        undo: linkSetAliasCmd(HOST, h.name, h.alias ?? ''),
      },
    ),
    PHASE.link,
  );
  ctx.updateLink(HOST, h.name, { alias: want });
};

/** The interface is ours and matches: put back what drifted (addresses, routes, bridge port, up). */
export const repairExisting = (
  ctx: PlanContext,
  a: ConcreteAttachment,
  l: ProjectedLink,
  opts: AttachPlanOptions = {},
): void => {
  const t = a.target;
  let hostEnd: ProjectedLink | undefined;
  if (a.link.kind === 'bridge') {
    ctx.phase = PHASE.prepare;
    if (a.link.ovs) ensureOvsBridge(ctx, a.link.bridge, a.owner, t.label);
    else ensureBridge(ctx, a.link, t.label, a.owner);
    const h = hostEndOf(ctx.links(HOST), l, (x) => {
      const xt = decodeTag(x.alias);
      return (
        xt?.kind === 'veth-host' && xt.target === (decodeTag(l.alias)?.target ?? t.id) && xt.ifname === l.name
      );
    }) as ProjectedLink | undefined;
    const hostName = h?.name ?? a.link.hostIfname ?? hostSideName(t, a.iface.ifname);
    hostEnd = h;
    ctx.phase = PHASE.link;
    if (h && !a.link.ovs && h.master !== a.link.bridge) {
      ctx.push(
        linkSetMaster(HOST, hostName, a.link.bridge, linkSetNomasterCmd(HOST, hostName, a.link.bridge)),
      );
      ctx.updateLink(HOST, hostName, { master: a.link.bridge });
    }
    if (h && !h.up) {
      ctx.push(linkSetUp(HOST, hostName, linkSetDownCmd(HOST, hostName)));
      ctx.updateLink(HOST, hostName, { up: true });
    }
    if (!a.iface.dhcp) planPortAddrs(ctx, a, l, h, opts);
  }
  if (
    (a.link.kind === 'macvlan' || a.link.kind === 'ipvlan' || a.link.kind === 'vlan') &&
    !(a.link.kind === 'vlan' && a.link.parentIn === 'target')
  ) {
    // a parent taken down since: the link has no carrier until it is up again
    ctx.phase = PHASE.prepare;
    ensureParentUp(ctx, a.link.parent, parentUser(t.id, a.iface.ifname), t.label);
  }
  // the host shim and its routes, when asked for (made anew if removed by hand)
  if (a.link.kind === 'macvlan' && a.link.hostShim) {
    const parent = a.link.vlan === undefined ? a.link.parent : `${a.link.parent}.${a.link.vlan}`;
    const user = vlanUserKey(t.id, a.iface.ifname);
    // addresses it had and is not asked for any more: their routes leave the shim
    dropStaleShimRoutes(ctx, user, l.addrs, a.iface.addrs);
    ensureShim(ctx, parent, user, a.iface.addrs, t.label);
  }
  repairProps(ctx, t.netns, t.label, l, a.iface, hostEnd);
  ctx.phase = PHASE.inside;
  for (const s of planInside(ctx, {
    ns: t.netns,
    label: t.label,
    targetId: t.id,
    ownMounts: t.ownMounts,
    dev: l.name,
    iface: a.iface,
    created: false,
  }))
    ctx.push(s);
  if (a.link.kind === 'pair') {
    const peer = ctx.link(a.link.peer.netns, a.link.peerIface.ifname);
    if (peer) {
      const want = { ...a.link.peerIface, mtu: a.link.peerIface.mtu ?? a.iface.mtu };
      repairProps(ctx, a.link.peer.netns, a.link.peer.label, peer, want, undefined);
      ctx.phase = PHASE.inside;
    }
    if (peer)
      for (const s of planInside(ctx, {
        ns: a.link.peer.netns,
        label: a.link.peer.label,
        targetId: a.link.peer.id,
        ownMounts: a.link.peer.ownMounts,
        dev: peer.name,
        iface: a.link.peerIface,
        created: false,
      }))
        ctx.push(s);
  }
  ctx.noops.push(`${t.label}: ${a.iface.ifname} is in place`);
};
