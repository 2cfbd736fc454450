/** A new attachment, per link kind: links born where they will live, then the inside. */
import { refuse } from '../errors.js';
import type { ConcreteAttachment } from '../model/attachment.js';
import { assertNever } from '../model/assert-never.js';
import type { NetnsRef } from '../model/netns.js';
import { HOST } from '../model/netns.js';
import { hostSideName } from '../names.js';
import { linkAdd, linkDelCmd, linkSet, linkSetAlias } from './commands.js';
import type { LinkSpec } from '../model/op.js';
import type { PlanContext } from './context.js';
import { plannedLink } from './context.js';
import { planInside } from './iface.js';
import { PHASE } from './phases.js';
import { ensureBridge, ownedBridgeAddrs, planPortVlans } from './bridge.js';
import { ensureOvsBridge, ovsAddPort } from './ovs.js';
import type { AttachPlanOptions } from './options.js';
import { checkTag, hostParent, prevDefaults } from './tags.js';
import { ensureSharedVlan, vlanUserKey } from './shared-vlan.js';
import { ensureParentUp, parentUser } from './parent.js';
import { planPhysIn } from './phys.js';
import { ensureShim } from './host-shim.js';
import { checkDuplicateAddresses, withAddrs } from './duplicates.js';

export const createAttachment = (ctx: PlanContext, a: ConcreteAttachment, opts: AttachPlanOptions): void => {
  const t = a.target;
  const ns = t.netns;
  const ifname = a.iface.ifname;
  const link = a.link;
  const baseTag = {
    target: t.id,
    ifname,
    ...(a.owner ? { recipe: a.owner } : {}),
    ...(a.iface.dhcp ? { dhcp: true } : {}),
    ...prevDefaults(ctx, a),
  };
  switch (link.kind) {
    case 'bridge': {
      ctx.phase = PHASE.prepare;
      const ownedAddrs = link.ovs ? [] : ownedBridgeAddrs(ctx, link);
      const br = link.ovs
        ? ensureOvsBridge(ctx, link.bridge, a.owner, t.label)
        : ensureBridge(ctx, link, t.label, a.owner);
      const hostName = link.hostIfname ?? hostSideName(t, ifname);
      if (ctx.link(HOST, hostName))
        throw refuse(
          'E_CONFLICT',
          `host interface "${hostName}"`,
          `already exists (the host side of ${t.label}:${ifname} would take that name)`,
          'remove it, or name the host side with --host-ifname',
        );
      const mtu = a.iface.mtu ?? (br.planned ? undefined : br.mtu);
      const trunk = [...new Set(link.trunk ?? [])].sort((x, y) => x - y);
      const vlanTag = {
        ...(link.vlan !== undefined ? { vlan: link.vlan } : {}),
        ...(trunk.length ? { trunk } : {}),
      };
      const tag = checkTag(
        { kind: 'veth', bridge: link.bridge, ...(link.ovs ? { parent: 'ovs' } : {}), ...vlanTag, ...baseTag },
        t.label,
      );
      // taken on this bridge already (by another port or the bridge itself)? Before the host
      // end's tag records them in turn, with the port's VLAN
      checkDuplicateAddresses(
        ctx,
        { target: t, ifname, owner: a.owner, bridge: link.bridge, vlan: link.vlan, adding: a.iface.addrs },
        opts.allowDuplicateAddress === true,
      );
      const hostTag = checkTag(
        withAddrs(
          {
            kind: 'veth-host',
            bridge: link.bridge,
            target: t.id,
            ifname,
            ...(ownedAddrs.length ? { bridgeAddrs: ownedAddrs } : {}),
            ...(link.vlan !== undefined ? { vlan: link.vlan } : {}),
            ...(a.owner ? { recipe: a.owner } : {}),
          },
          a.iface.addrs,
        ),
        t.label,
      );
      ctx.phase = PHASE.link;
      ctx.push(
        linkAdd(HOST, {
          name: hostName,
          mtu,
          spec: { kind: 'veth', peer: { name: ifname, mtu, mac: a.iface.mac, netns: ns } },
          describes: `create veth "${hostName}" with its peer "${ifname}" inside ${t.label}`,
          undo: linkDelCmd(HOST, hostName),
        }),
      );
      if (link.ovs) {
        // an OVS port: the switch takes it (its kernel master is ovs-system), with its VLANs as tags
        ctx.push(
          linkSet(
            HOST,
            hostName,
            { alias: hostTag, up: true },
            {
              describes: `tag "${hostName}" and bring it up`,
              undo: 'covered',
            },
          ),
        );
        ctx.push(ovsAddPort(link.bridge, hostName, link.vlan, trunk));
        ctx.setOvsPorts(HOST, link.bridge, [...(ctx.ovsPorts(HOST, link.bridge) ?? []), hostName]);
      } else
        ctx.push(
          linkSet(
            HOST,
            hostName,
            { master: link.bridge, alias: hostTag, up: true },
            {
              describes: `make "${hostName}" a port of "${link.bridge}", tag it and bring it up`,
              undo: 'covered',
            },
          ),
        );
      ctx.putLink(HOST, {
        ...plannedLink({
          name: hostName,
          kind: 'veth',
          master: link.ovs ? 'ovs-system' : link.bridge,
          mtu,
          alias: hostTag,
        }),
        up: true,
      });
      if (!link.ovs) planPortVlans(ctx, hostName, link.vlan, trunk);
      // Who could hold one of its addresses with a stale MAC? A port that was there before this
      // plan (its namespace's cache), or the host's own cache on the bridge. A bridge made now,
      // or one whose every port is new, has no one to tell: no gratuitous ARP, no process.
      const oldPorts =
        !br.planned &&
        ctx
          .links(HOST)
          .some((l) => !l.planned && (l.master === link.bridge || (link.ovs && l.master === 'ovs-system')));
      insideNew(
        ctx,
        a,
        tag,
        mtu,
        (addr) => oldPorts || (!br.planned && ctx.knowsNeighbour(HOST, link.bridge, addr)),
      );
      return;
    }
    case 'macvlan':
    case 'ipvlan':
    case 'vlan': {
      if (link.kind === 'ipvlan' && a.iface.mac !== undefined)
        throw refuse(
          'E_BAD_VALUE',
          `${t.label}: ${ifname}`,
          "an ipvlan link shares its parent's MAC and cannot have its own",
          'leave out --mac, or use macvlan',
        );
      const inside = link.kind === 'vlan' && link.parentIn === 'target';
      // pipework's "@VLAN" on a host NIC: the link goes on PARENT.VLAN, made and shared as needed.
      const sharedVid = link.kind === 'vlan' ? undefined : link.vlan;
      // the host NIC (itself, or under PARENT.VLAN) must be up, or the new link has no carrier
      if (!inside) {
        hostParent(ctx, link.parent, t.label);
        ctx.phase = PHASE.prepare;
        ensureParentUp(ctx, link.parent, parentUser(t.id, ifname), t.label);
      }
      const parentName =
        sharedVid === undefined
          ? link.parent
          : ensureSharedVlan(ctx, link.parent, sharedVid, vlanUserKey(t.id, ifname), t.label);
      const parent = inside ? ctx.link(ns, parentName) : hostParent(ctx, parentName, t.label);
      if (!parent)
        throw refuse(
          'E_NO_HOST_IF',
          `${t.label}: interface "${parentName}"`,
          'not found inside the target',
          'attach the trunk first, then the VLAN on it',
        );
      const mtu = a.iface.mtu ?? parent.mtu;
      const spec: LinkSpec =
        link.kind === 'macvlan'
          ? { kind: 'macvlan', parent: parentName, mode: link.mode }
          : link.kind === 'ipvlan'
            ? { kind: 'ipvlan', parent: parentName, mode: link.mode, flag: link.flag }
            : { kind: 'vlan', parent: parentName, id: link.vlanId };
      const tag = checkTag(
        { kind: link.kind, parent: parentName, ...(inside ? { vlan: 'inside' as const } : {}), ...baseTag },
        t.label,
      );
      ctx.phase = PHASE.link;
      if (inside) {
        // A VLAN of a trunk the container already has: made inside, on the inside parent.
        ctx.push(
          linkAdd(ns, {
            name: ifname,
            spec,
            mtu,
            mac: a.iface.mac,
            describes: `create VLAN ${link.kind === 'vlan' ? link.vlanId : ''} interface "${ifname}" on ${parentName} inside ${t.label}`,
            undo: linkDelCmd(ns, ifname),
          }),
          PHASE.inside,
        );
      } else {
        // Born inside the target (ip link add … netns): no move, and the parent stays on the host.
        ctx.push(
          linkAdd(HOST, {
            name: ifname,
            spec,
            mtu,
            mac: a.iface.mac,
            into: ns,
            describes: `create ${link.kind} "${ifname}" on ${parentName} inside ${t.label}`,
            undo: linkDelCmd(ns, ifname),
          }),
        );
      }
      insideNew(ctx, a, tag, mtu);
      if (link.kind === 'macvlan' && link.hostShim)
        ensureShim(ctx, parentName, vlanUserKey(t.id, ifname), a.iface.addrs, t.label);
      return;
    }
    case 'phys':
      planPhysIn(ctx, a, link.device, baseTag, opts);
      return;
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
      ctx.push(
        linkAdd(HOST, {
          name: ifname,
          mtu: a.iface.mtu,
          mac: a.iface.mac,
          into: ns,
          spec: {
            kind: 'veth',
            peer: {
              name: link.peerIface.ifname,
              mtu: link.peerIface.mtu ?? a.iface.mtu,
              mac: link.peerIface.mac,
              netns: peer.netns,
            },
          },
          describes: `create veth pair ${t.label}:${ifname} <-> ${peer.label}:${link.peerIface.ifname}`,
          undo: linkDelCmd(ns, ifname),
        }),
      );
      // both ends are new: no cache anywhere can hold their addresses
      insideNew(ctx, a, tagA, a.iface.mtu, () => false);
      insideNew(
        ctx,
        { target: peer, iface: link.peerIface, link },
        tagB,
        link.peerIface.mtu ?? a.iface.mtu,
        () => false,
      );
      return;
    }
    default:
      assertNever(link, 'link kind');
  }
};

/** The inside of a link this plan just made: tag, then address/up/routes with covered undos. */
const insideNew = (
  ctx: PlanContext,
  a: ConcreteAttachment,
  tag: string,
  mtu: number | undefined,
  mayBeCached?: (address: string) => boolean,
): void => {
  const ns: NetnsRef = a.target.netns;
  const kind = a.link.kind === 'bridge' || a.link.kind === 'pair' ? 'veth' : a.link.kind;
  ctx.putLink(ns, plannedLink({ name: a.iface.ifname, kind, mtu, mac: a.iface.mac, alias: tag }));
  ctx.phase = PHASE.inside;
  const announcements = planInside(ctx, {
    ns,
    label: a.target.label,
    targetId: a.target.id,
    ownMounts: a.target.ownMounts,
    dev: a.iface.ifname,
    iface: a.iface,
    created: true,
    mayBeCached,
  });
  // Tag in the same batch as the configuration; announcements run last, each in its own process.
  ctx.push(linkSetAlias(ns, a.iface.ifname, tag, 'covered'));
  for (const s of announcements) ctx.push(s);
};
