/** attach: Attachment[] × observed state → steps, per link kind. */
import { refuse } from '../errors.js';
import type { Attachment, ConcreteAttachment, ConcreteLink, LinkIntent } from '../model/attachment.js';
import { assertNever } from '../model/assert-never.js';
import type { NetnsRef } from '../model/netns.js';
import { HOST } from '../model/netns.js';
import type { OwnerTag, TagKind } from '../model/owner.js';
import { decodeTag, encodeTag, tagFits } from '../model/owner.js';
import type { ObservedState } from '../model/observed.js';
import type { Plan } from '../model/step.js';
import type { ResolvedTarget } from '../model/target.js';
import { hostSideName } from '../names.js';
import {
  linkAddBridge,
  linkDelCmd,
  linkRename,
  linkRenameCmd,
  linkSetAlias,
  linkSetAliasCmd,
  linkSetDown,
  linkSetDownCmd,
  linkSetUpCmd,
  linkSetMac,
  linkSetMacCmd,
  linkSetMaster,
  linkSetMtu,
  linkSetMtuCmd,
  linkSetNetns,
  linkSetNetnsCmd,
  linkSetUp,
  addrAdd,
  addrDelCmd,
  routeArgs,
} from './commands.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { PlanContext as Context, plannedLink } from './context.js';
import { planRemoveIface } from './detach.js';
import { defaultRoutes, planInside } from './iface.js';
import { PHASE } from './phases.js';
import { resolveAuto } from './auto.js';
import { planBridgeFirewall } from './firewall.js';
import { sameAddress } from '../addr.js';

export interface AttachPlanOptions {
  /** Replace an interface of the same name that has other settings (or is not pipefitter's). @default false */
  readonly replace?: boolean;
  /** Allow moving a host interface that carries the host's default route. @default false */
  readonly force?: boolean;
}

const tagKindOf = (l: ConcreteLink): TagKind => (l.kind === 'bridge' ? 'veth' : l.kind);

/**
 * Plan attachments against observed state.
 * @example planAttach([attachment], observed, { replace: false }).steps.map((s) => s.argv)
 */
export const planAttach = (
  atts: readonly Attachment[],
  observed: ObservedState,
  opts: AttachPlanOptions = {},
): Plan => {
  const ctx = new Context(observed);
  for (const a of atts) planAttachment(ctx, a, opts);
  return ctx.finish();
};

export const planAttachment = (ctx: PlanContext, given: Attachment, opts: AttachPlanOptions): void => {
  const a = resolveAuto(ctx, given);
  const t = a.target;
  const ns = t.netns;
  const ifname = a.iface.ifname;
  if (!ctx.isObserved(ns)) throw new Error(`internal: ${t.label} was not observed before planning`);
  if (a.link.kind === 'pair') {
    if (!ctx.isObserved(a.link.peer.netns))
      throw new Error(`internal: ${a.link.peer.label} was not observed before planning`);
    if (a.link.peer.id === t.id)
      throw refuse(
        'E_CONFLICT',
        `link ${t.label}:${ifname}`,
        'both ends are in the same namespace',
        'give two different containers',
      );
  }

  const existing = ctx.link(ns, ifname);
  if (existing) {
    if (existing.planned)
      throw refuse(
        'E_CONFLICT',
        `${t.label}: ${ifname}`,
        'asked for twice in the same request',
        'give each interface its own --ifname',
      );
    const mismatch = compareExisting(ctx, a, existing);
    if (mismatch === undefined) {
      repairExisting(ctx, a, existing);
      return;
    }
    if (!opts.replace)
      throw refuse(
        'E_CONFLICT',
        `${t.label}: interface "${ifname}"`,
        `already exists with other settings (${mismatch})`,
        `detach it first (pipefitter detach ${t.label} --ifname ${ifname}), choose another --ifname, or pass --replace`,
      );
    ctx.notes.push(
      `${t.label}: --replace removes the existing "${ifname}" first; that removal cannot be undone if a later step fails`,
    );
    planRemoveIface(ctx, t, existing, { force: true, phase: PHASE.prepare, keepBridge: true });
  }
  if (a.link.kind === 'pair') {
    const peerExisting = ctx.link(a.link.peer.netns, a.link.peerIface.ifname);
    if (peerExisting) {
      if (!opts.replace || peerExisting.planned)
        throw refuse(
          'E_CONFLICT',
          `${a.link.peer.label}: interface "${a.link.peerIface.ifname}"`,
          'already exists',
          `choose another peer interface name, or pass --replace`,
        );
      planRemoveIface(ctx, a.link.peer, peerExisting, {
        force: true,
        phase: PHASE.prepare,
        keepBridge: true,
      });
    }
  }
  createAttachment(ctx, a, opts);
};

/** Undefined when the existing interface is this attachment already (maybe with drift to repair). */
const compareExisting = (ctx: PlanContext, a: ConcreteAttachment, l: ProjectedLink): string | undefined => {
  const tag = decodeTag(l.alias);
  if (!tag) return 'it was not made by pipefitter';
  if (tag.target !== a.target.id || tag.ifname !== a.iface.ifname)
    return 'pipefitter made it for another target';
  const kind = tagKindOf(a.link);
  if (tag.kind !== kind) return `it is a ${tag.kind} link, asked for ${kind}`;
  const link = a.link;
  switch (link.kind) {
    case 'bridge':
      if (tag.bridge !== link.bridge)
        return `it is a port of bridge ${tag.bridge ?? '?'}, asked for ${link.bridge}`;
      break;
    case 'macvlan':
      if (tag.parent !== link.parent) return `its parent is ${tag.parent ?? '?'}, asked for ${link.parent}`;
      if (l.macvlanMode !== undefined && l.macvlanMode !== link.mode)
        return `its mode is ${l.macvlanMode}, asked for ${link.mode}`;
      break;
    case 'ipvlan':
      if (tag.parent !== link.parent) return `its parent is ${tag.parent ?? '?'}, asked for ${link.parent}`;
      if (l.ipvlanMode !== undefined && l.ipvlanMode !== link.mode)
        return `its mode is ${l.ipvlanMode}, asked for ${link.mode}`;
      break;
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
  const extra = l.addrs.filter(
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
const repairExisting = (ctx: PlanContext, a: ConcreteAttachment, l: ProjectedLink): void => {
  const t = a.target;
  if (a.link.kind === 'bridge') {
    ctx.phase = PHASE.prepare;
    ensureBridge(ctx, a.link, t.label);
    const hostName = a.link.hostIfname ?? hostSideName(t, a.iface.ifname);
    const h = ctx.link(HOST, hostName);
    ctx.phase = PHASE.link;
    if (h && h.master !== a.link.bridge) {
      ctx.push(
        linkSetMaster(HOST, hostName, a.link.bridge, {
          netns: HOST,
          argv: ['ip', 'link', 'set', hostName, 'nomaster'],
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
  ctx.phase = PHASE.inside;
  for (const s of planInside(ctx, {
    ns: t.netns,
    label: t.label,
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
        dev: peer.name,
        iface: a.link.peerIface,
        created: false,
      }))
        ctx.push(s);
  }
  ctx.noops.push(`${t.label}: ${a.iface.ifname} is in place`);
};

/** Make sure the bridge exists and is up; create it (tagged as pipefitter's) when allowed. */
const ensureBridge = (
  ctx: PlanContext,
  link: Extract<LinkIntent, { kind: 'bridge' }>,
  label: string,
): ProjectedLink => {
  const br = ctx.link(HOST, link.bridge);
  if (br) {
    if (br.kind !== 'bridge')
      throw refuse(
        'E_CONFLICT',
        `bridge "${link.bridge}"`,
        `a host interface of that name exists and is ${br.kind ? `a ${br.kind}` : 'not a bridge'}`,
        'choose another bridge name',
      );
    if (!br.up) {
      ctx.push(linkSetUp(HOST, link.bridge, br.planned ? 'covered' : linkSetDownCmd(HOST, link.bridge)));
      ctx.updateLink(HOST, link.bridge, { up: true });
    }
    for (const c of link.bridgeAddrs) {
      if (br.addrs.some((o) => o.prefix === c.prefix && sameAddress(o.address, c.address))) continue;
      ctx.push(addrAdd(HOST, link.bridge, c, br.planned ? 'covered' : addrDelCmd(HOST, link.bridge, c.text)));
      ctx.updateLink(HOST, link.bridge, {
        addrs: [...br.addrs, { family: c.family, address: c.address, prefix: c.prefix, scope: 'global' }],
      });
    }
    planBridgeFirewall(ctx, HOST, link.bridge, decodeTag(br.alias)?.kind === 'bridge', label);
    return ctx.link(HOST, link.bridge) ?? br;
  }
  if (!link.create)
    throw refuse(
      'E_NO_HOST_IF',
      `bridge "${link.bridge}"`,
      'does not exist on the host',
      'create it, or leave out --no-create-bridge',
    );
  const alias = encodeTag({ kind: 'bridge' });
  ctx.push(linkAddBridge(HOST, link.bridge));
  ctx.push(linkSetAlias(HOST, link.bridge, alias, 'covered'));
  ctx.putLink(HOST, plannedLink({ name: link.bridge, kind: 'bridge', alias }));
  for (const c of link.bridgeAddrs) ctx.push(addrAdd(HOST, link.bridge, c, 'covered'));
  ctx.push(linkSetUp(HOST, link.bridge, 'covered'));
  ctx.updateLink(HOST, link.bridge, {
    up: true,
    addrs: link.bridgeAddrs.map((c) => ({
      family: c.family,
      address: c.address,
      prefix: c.prefix,
      scope: 'global',
    })),
  });
  ctx.notes.push(`${label}: bridge "${link.bridge}" does not exist and is created`);
  planBridgeFirewall(ctx, HOST, link.bridge, true, label);
  return ctx.link(HOST, link.bridge) as ProjectedLink;
};

const hostParent = (ctx: PlanContext, parent: string, label: string): ProjectedLink => {
  const p = ctx.link(HOST, parent);
  if (!p)
    throw refuse(
      'E_NO_HOST_IF',
      `host interface "${parent}"`,
      'not found',
      'list the host interfaces with `ip link` and give one of them',
    );
  void label;
  return p;
};

/** The default routes a gateway replaces, remembered in the tag as `ip route` arguments. */
const prevDefaults = (ctx: PlanContext, a: Attachment): Pick<OwnerTag, 'prevDefault4' | 'prevDefault6'> => {
  const out: { prevDefault4?: string; prevDefault6?: string } = {};
  for (const gw of a.iface.gateways) {
    const old = defaultRoutes(ctx.routes(a.target.netns), gw.family).filter((r) => r.dev !== a.iface.ifname);
    if (old.length === 0) continue;
    const v = old.map((r) => routeArgs(r).slice(1).join(' ')).join(';');
    if (gw.family === 4) out.prevDefault4 = v;
    else out.prevDefault6 = v;
  }
  return out;
};

const checkTag = (tag: OwnerTag, label: string): string => {
  if (!tagFits(tag))
    throw refuse(
      'E_BAD_VALUE',
      label,
      'the ownership tag does not fit in a link alias (255 bytes)',
      'use shorter names',
    );
  return encodeTag(tag);
};

const linkArgs = (mtu: number | undefined, mac: string | undefined): string[] => [
  ...(mtu !== undefined ? ['mtu', String(mtu)] : []),
  ...(mac !== undefined ? ['address', mac] : []),
];

const createAttachment = (ctx: PlanContext, a: ConcreteAttachment, opts: AttachPlanOptions): void => {
  const t = a.target;
  const ns = t.netns;
  const ifname = a.iface.ifname;
  const link = a.link;
  const baseTag = { target: t.id, ifname, ...prevDefaults(ctx, a) };
  switch (link.kind) {
    case 'bridge': {
      ctx.phase = PHASE.prepare;
      const br = ensureBridge(ctx, link, t.label);
      const hostName = link.hostIfname ?? hostSideName(t, ifname);
      if (ctx.link(HOST, hostName))
        throw refuse(
          'E_CONFLICT',
          `host interface "${hostName}"`,
          `already exists (the host side of ${t.label}:${ifname} would take that name)`,
          'remove it, or name the host side with --host-ifname',
        );
      const mtu = a.iface.mtu ?? (br.planned ? undefined : br.mtu);
      const tag = checkTag({ kind: 'veth', bridge: link.bridge, ...baseTag }, t.label);
      const hostTag = checkTag({ kind: 'veth-host', bridge: link.bridge, target: t.id, ifname }, t.label);
      ctx.phase = PHASE.link;
      ctx.push({
        id: `link-add:${hostName}`,
        netns: HOST,
        argv: [
          'ip',
          'link',
          'add',
          hostName,
          ...linkArgs(mtu, undefined),
          'type',
          'veth',
          'peer',
          'name',
          ifname,
          ...linkArgs(mtu, a.iface.mac),
          'netns',
          { netns: ns },
        ],
        describes: `create veth "${hostName}" with its peer "${ifname}" inside ${t.label}`,
        undo: linkDelCmd(HOST, hostName),
      });
      ctx.push({
        id: `link-set:${hostName}`,
        netns: HOST,
        argv: ['ip', 'link', 'set', hostName, 'master', link.bridge, 'alias', hostTag, 'up'],
        describes: `make "${hostName}" a port of "${link.bridge}", tag it and bring it up`,
        undo: 'covered',
      });
      ctx.putLink(HOST, {
        ...plannedLink({ name: hostName, kind: 'veth', master: link.bridge, mtu, alias: hostTag }),
        up: true,
      });
      insideNew(ctx, a, tag, mtu);
      return;
    }
    case 'macvlan':
    case 'ipvlan':
    case 'vlan': {
      const parent = hostParent(ctx, link.parent, t.label);
      const mtu = a.iface.mtu ?? parent.mtu;
      const typeArgs =
        link.kind === 'macvlan'
          ? ['type', 'macvlan', 'mode', link.mode]
          : link.kind === 'ipvlan'
            ? ['type', 'ipvlan', 'mode', link.mode, link.flag]
            : ['type', 'vlan', 'id', String(link.vlanId)];
      if (link.kind === 'ipvlan' && a.iface.mac !== undefined)
        throw refuse(
          'E_BAD_VALUE',
          `${t.label}: ${ifname}`,
          "an ipvlan link shares its parent's MAC and cannot have its own",
          'leave out --mac, or use macvlan',
        );
      const tag = checkTag({ kind: link.kind, parent: link.parent, ...baseTag }, t.label);
      ctx.phase = PHASE.link;
      // Born inside the target (ip link add … netns): no move, and the parent stays on the host.
      ctx.push({
        id: `link-add:${ifname}`,
        netns: HOST,
        argv: [
          'ip',
          'link',
          'add',
          ifname,
          'link',
          link.parent,
          ...linkArgs(mtu, a.iface.mac),
          'netns',
          { netns: ns },
          ...typeArgs,
        ],
        describes: `create ${link.kind} "${ifname}" on ${link.parent} inside ${t.label}`,
        undo: linkDelCmd(ns, ifname),
      });
      insideNew(ctx, a, tag, mtu);
      return;
    }
    case 'phys': {
      const dev = hostParent(ctx, link.device, t.label);
      if (dev.master !== undefined)
        throw refuse(
          'E_CONFLICT',
          `host interface "${link.device}"`,
          `is a port of "${dev.master}"`,
          `take it out first (ip link set ${link.device} nomaster)`,
        );
      if (
        !opts.force &&
        defaultRoutes(ctx.routes(HOST), 4)
          .concat(defaultRoutes(ctx.routes(HOST), 6))
          .some((r) => r.dev === link.device)
      )
        throw refuse(
          'E_CONFLICT',
          `host interface "${link.device}"`,
          "carries the host's default route; moving it cuts the host off",
          'pick another interface, or pass --force if that is intended',
        );
      if (link.device !== ifname && ctx.link(ns, link.device))
        throw refuse(
          'E_CONFLICT',
          `${t.label}`,
          `already has an interface named "${link.device}", so the host's cannot move in`,
          'rename one of them first',
        );
      const prevAlias = dev.alias ?? '';
      const tag = checkTag(
        {
          kind: 'phys',
          origName: link.device,
          ...(prevAlias ? { prevAlias } : {}),
          ...(a.iface.mtu !== undefined && a.iface.mtu !== dev.mtu ? { origMtu: String(dev.mtu) } : {}),
          ...(a.iface.mac !== undefined && a.iface.mac !== dev.mac ? { origMac: dev.mac } : {}),
          ...(dev.up ? { origUp: '1' } : {}),
          ...baseTag,
        },
        t.label,
      );
      ctx.phase = PHASE.link;
      // Moving takes the device down; doing it as its own step lets a rollback bring it back up.
      if (dev.up) ctx.push(linkSetDown(HOST, link.device, linkSetUpCmd(HOST, link.device)), PHASE.prepare);
      ctx.push(
        linkSetNetns(HOST, link.device, ns, t.label, linkSetNetnsCmd(ns, link.device, HOST, 'the host')),
      );
      ctx.dropLink(HOST, link.device);
      ctx.phase = PHASE.inside;
      if (link.device !== ifname)
        ctx.push(linkRename(ns, link.device, ifname, linkRenameCmd(ns, ifname, link.device)));
      ctx.putLink(ns, { ...dev, name: ifname, up: false, addrs: [], planned: false });
      ctx.push(linkSetAlias(ns, ifname, tag, linkSetAliasCmd(ns, ifname, prevAlias)));
      if (a.iface.mac !== undefined && a.iface.mac !== dev.mac)
        ctx.push(linkSetMac(ns, ifname, a.iface.mac, linkSetMacCmd(ns, ifname, dev.mac)));
      if (a.iface.mtu !== undefined && a.iface.mtu !== dev.mtu)
        ctx.push(linkSetMtu(ns, ifname, a.iface.mtu, linkSetMtuCmd(ns, ifname, dev.mtu)));
      for (const s of planInside(ctx, { ns, label: t.label, dev: ifname, iface: a.iface, created: false }))
        ctx.push(s);
      return;
    }
    case 'pair': {
      const peer = link.peer;
      const tagA = checkTag(
        { kind: 'pair', peer: peer.id, peerIfname: link.peerIface.ifname, ...baseTag },
        t.label,
      );
      const tagB = checkTag(
        {
          kind: 'pair',
          target: peer.id,
          ifname: link.peerIface.ifname,
          peer: t.id,
          peerIfname: ifname,
          ...prevDefaults(ctx, { target: peer, iface: link.peerIface, link }),
        },
        peer.label,
      );
      ctx.phase = PHASE.link;
      ctx.push({
        id: `link-add:${ifname}`,
        netns: HOST,
        argv: [
          'ip',
          'link',
          'add',
          ifname,
          ...linkArgs(a.iface.mtu, a.iface.mac),
          'netns',
          { netns: ns },
          'type',
          'veth',
          'peer',
          'name',
          link.peerIface.ifname,
          ...linkArgs(link.peerIface.mtu ?? a.iface.mtu, link.peerIface.mac),
          'netns',
          { netns: peer.netns },
        ],
        describes: `create veth pair ${t.label}:${ifname} <-> ${peer.label}:${link.peerIface.ifname}`,
        undo: linkDelCmd(ns, ifname),
      });
      insideNew(ctx, a, tagA, a.iface.mtu);
      insideNew(ctx, { target: peer, iface: link.peerIface, link }, tagB, link.peerIface.mtu ?? a.iface.mtu);
      return;
    }
    default:
      assertNever(link, 'link kind');
  }
};

/** The inside of a link this plan just made: tag, then address/up/routes with covered undos. */
const insideNew = (ctx: PlanContext, a: ConcreteAttachment, tag: string, mtu: number | undefined): void => {
  const ns: NetnsRef = a.target.netns;
  const kind = a.link.kind === 'bridge' || a.link.kind === 'pair' ? 'veth' : a.link.kind;
  ctx.putLink(ns, plannedLink({ name: a.iface.ifname, kind, mtu, mac: a.iface.mac, alias: tag }));
  ctx.phase = PHASE.inside;
  const announcements = planInside(ctx, {
    ns,
    label: a.target.label,
    dev: a.iface.ifname,
    iface: a.iface,
    created: true,
  });
  // Tag in the same batch as the configuration; announcements run last, each in its own process.
  ctx.push(linkSetAlias(ns, a.iface.ifname, tag, 'covered'));
  for (const s of announcements) ctx.push(s);
};

export type { ResolvedTarget };
