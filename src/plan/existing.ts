/** An interface of the asked-for name exists: is it this attachment (repair drift), or a conflict? */
import type { ConcreteAttachment } from '../model/attachment.js';
import { assertNever } from '../model/assert-never.js';
import { HOST } from '../model/netns.js';
import { decodeTag } from '../model/owner.js';
import { hostSideName } from '../names.js';
import { linkSetDownCmd, linkSetMaster, linkSetUp } from './commands.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { planInside } from './iface.js';
import { PHASE } from './phases.js';
import { sameAddress } from '../addr.js';
import { ensureBridge } from './bridge.js';
import { ensureOvsBridge } from './ovs.js';
import { tagKindOf } from './tags.js';
import { ensureParentUp, parentUser } from './parent.js';

/** Undefined when the existing interface is this attachment already (maybe with drift to repair). */
export const compareExisting = (
  ctx: PlanContext,
  a: ConcreteAttachment,
  l: ProjectedLink,
): string | undefined => {
  const tag = decodeTag(l.alias);
  if (!tag) return 'it was not made by pipefitter';
  if (tag.target !== a.target.id || tag.ifname !== a.iface.ifname)
    return 'pipefitter made it for another target';
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
      if ((tag.vlan ?? '') !== (link.vlan === undefined ? '' : String(link.vlan)))
        return `its access VLAN is ${tag.vlan ?? 'none'}, asked for ${link.vlan ?? 'none'}`;
      if ((tag.trunk ?? '') !== [...new Set(link.trunk ?? [])].sort((x, y) => x - y).join('.'))
        return `its trunk VLANs are ${tag.trunk ?? 'none'}, asked for ${(link.trunk ?? []).join(',') || 'none'}`;
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
  if (a.iface.mac !== undefined && l.mac !== a.iface.mac)
    return `its MAC is ${l.mac}, asked for ${a.iface.mac}`;
  if (a.iface.mtu !== undefined && l.mtu !== a.iface.mtu)
    return `its MTU is ${l.mtu}, asked for ${a.iface.mtu}`;
  if ((tag.dhcp === '1') !== (a.iface.dhcp !== undefined))
    return tag.dhcp === '1' ? 'it is addressed by DHCP' : 'it has static addresses';
  // A DHCP client owns the addresses of its interface.
  const extra = a.iface.dhcp
    ? []
    : l.addrs.filter(
        (o) =>
          o.scope === 'global' &&
          !a.iface.addrs.some((w) => w.prefix === o.prefix && sameAddress(w.address, o.address)),
      );
  if (extra.length > 0)
    return `it has ${extra.map((o) => `${o.address}/${o.prefix}`).join(', ')}, which was not asked for`;
  void ctx;
  return undefined;
};

/** The interface is ours and matches: put back what drifted (addresses, routes, bridge port, up). */
export const repairExisting = (ctx: PlanContext, a: ConcreteAttachment, l: ProjectedLink): void => {
  const t = a.target;
  if (a.link.kind === 'bridge') {
    ctx.phase = PHASE.prepare;
    if (a.link.ovs) ensureOvsBridge(ctx, a.link.bridge, a.owner, t.label);
    else ensureBridge(ctx, a.link, t.label, a.owner);
    const hostName = a.link.hostIfname ?? hostSideName(t, a.iface.ifname);
    const h = ctx.link(HOST, hostName);
    ctx.phase = PHASE.link;
    if (h && !a.link.ovs && h.master !== a.link.bridge) {
      ctx.push(
        linkSetMaster(HOST, hostName, a.link.bridge, {
          netns: HOST,
          argv: ['ip', 'link', 'set', 'dev', hostName, 'nomaster'],
          describes: `take "${hostName}" out of "${a.link.bridge}"`,
        }),
      );
      ctx.updateLink(HOST, hostName, { master: a.link.bridge });
    }
    if (h && !h.up) {
      ctx.push(linkSetUp(HOST, hostName, linkSetDownCmd(HOST, hostName)));
      ctx.updateLink(HOST, hostName, { up: true });
    }
  }
  if (
    (a.link.kind === 'macvlan' || a.link.kind === 'ipvlan' || a.link.kind === 'vlan') &&
    !(a.link.kind === 'vlan' && a.link.parentIn === 'target')
  ) {
    // a parent taken down since: the link has no carrier until it is up again
    ctx.phase = PHASE.prepare;
    ensureParentUp(ctx, a.link.parent, parentUser(t.id, a.iface.ifname), t.label);
  }
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
