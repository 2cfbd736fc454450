/**
 * A host NIC moved into a container (pipework's --direct-phys, `attach --phys`) and home again.
 * Moving a device to another namespace takes its addresses and routes with it (the kernel
 * flushes them): pipefitter removes them itself first, each step with its undo (so a rollback
 * puts them back), remembers them in the device's tag, and puts them back when detach brings
 * the device home — or refuses, saying so, when there are more than a tag can hold.
 */
import { refuse } from '../errors.js';
import type { ConcreteAttachment } from '../model/attachment.js';
import { HOST } from '../model/netns.js';
import type { OwnerTag, SavedAddr } from '../model/owner.js';
import { decodeTag, tagFits } from '../model/owner.js';
import type { ResolvedTarget } from '../model/target.js';
import {
  addrAdd,
  addrAddCmd,
  addrDel,
  addrDelCmd,
  linkRename,
  linkRenameCmd,
  linkSetAlias,
  linkSetAliasCmd,
  linkSetDown,
  linkSetDownCmd,
  linkSetMac,
  linkSetMacCmd,
  linkSetMtu,
  linkSetMtuCmd,
  linkSetNetns,
  linkSetNetnsCmd,
  linkSetUp,
  linkSetUpCmd,
  observedAddrOf,
  routeAdd,
  routeAddCmd,
  routeDel,
  routeDelCmd,
} from './commands.js';
import { routeArgs } from '../render/ip.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { defaultRoutes, planInside, sameRoute } from './iface.js';
import { sameAddress } from '../addr.js';
import type { AttachPlanOptions } from './options.js';
import { PHASE } from './phases.js';
import { checkTag, hostParent } from './tags.js';

/** An address as `ip addr` words, for messages: "192.0.2.5/24 brd 192.0.2.255", "2001:db8::5/64 nodad". */
const addrText = (x: SavedAddr): string =>
  [
    `${x.address}/${x.prefix}`,
    ...(x.broadcast !== undefined ? ['brd', x.broadcast] : []),
    ...(x.flags ?? []),
  ].join(' ');

export const planPhysIn = (
  ctx: PlanContext,
  a: ConcreteAttachment,
  device: string,
  baseTag: Omit<OwnerTag, 'kind'>,
  opts: AttachPlanOptions,
): void => {
  const t = a.target;
  const ns = t.netns;
  const ifname = a.iface.ifname;
  const dev = hostParent(ctx, device, t.label);
  if (dev.master !== undefined)
    throw refuse(
      'E_CONFLICT',
      `host interface "${device}"`,
      `is a port of "${dev.master}"`,
      `take it out first (ip link set ${device} nomaster)`,
    );
  if (
    !opts.force &&
    defaultRoutes(ctx.routes(HOST), 4)
      .concat(defaultRoutes(ctx.routes(HOST), 6))
      .some((r) => r.dev === device)
  )
    throw refuse(
      'E_CONFLICT',
      `host interface "${device}"`,
      "carries the host's default route; moving it cuts the host off",
      'pick another interface, or pass --force if that is intended',
    );
  if (device !== ifname && ctx.link(ns, device))
    throw refuse(
      'E_CONFLICT',
      `${t.label}`,
      `already has an interface named "${device}", so the host's cannot move in`,
      'rename one of them first',
    );
  // home, but not settled: what it had on the host is in that tag, and only that detach knows it
  const home = decodeTag(dev.alias);
  if (home?.kind === 'phys')
    throw refuse(
      'E_CONFLICT',
      `host interface "${device}"`,
      `came home from ${home.target ?? '?'} by a detach that did not finish (it still carries that attachment's tag)`,
      `finish it first: pipefitter detach ${home.target ?? 'TARGET'} --ifname ${home.ifname ?? 'IFNAME'}`,
    );

  // what leaves the host with it: global addresses, and routes through it that the kernel did not
  // derive from an address (those come back with the address)
  const addrs: SavedAddr[] = dev.addrs
    .filter((x) => x.scope === 'global')
    .map((x) => ({
      family: x.family,
      address: x.address,
      prefix: x.prefix,
      ...(x.broadcast !== undefined ? { broadcast: x.broadcast } : {}),
      ...(x.flags?.length ? { flags: x.flags } : {}),
    }));
  const routes = ctx
    .routes(HOST)
    .filter((r) => r.dev === device && r.protocol !== 'kernel' && r.type === 'unicast');
  const prevAlias = dev.alias ?? '';
  const fields: OwnerTag = {
    kind: 'phys',
    origName: device,
    ...(prevAlias ? { prevAlias } : {}),
    ...(a.iface.mtu !== undefined && a.iface.mtu !== dev.mtu ? { origMtu: dev.mtu } : {}),
    ...(a.iface.mac !== undefined && a.iface.mac !== dev.mac ? { origMac: dev.mac } : {}),
    ...(dev.up ? { origUp: true } : {}),
    ...baseTag,
  };
  const remembered: OwnerTag = {
    ...fields,
    // with the flags it had (nodad, noprefixroute…): put back without them, it is another address
    ...(addrs.length ? { hostAddrs: addrs } : {}),
    ...(routes.length ? { hostRoutes: routes } : {}),
  };
  const lost = `${addrs.map(addrText).join(', ')}${addrs.length && routes.length ? '; routes ' : ''}${routes
    .map((r) => routeArgs(r).join(' '))
    .join(', ')}`;
  let tagFields = remembered;
  if (!tagFits(remembered)) {
    if (!opts.force)
      throw refuse(
        'E_CONFLICT',
        `host interface "${device}"`,
        `has more addresses and routes than pipefitter can remember to put back (${lost})`,
        'remove some of them first, or pass --force to move it anyway (they are then lost to the host)',
      );
    tagFields = fields;
    ctx.notes.push(
      `${t.label}: host interface "${device}" takes ${lost} off the host; --force: they are not put back`,
    );
  } else if (addrs.length || routes.length)
    ctx.notes.push(
      `${t.label}: host interface "${device}" takes ${lost} off the host with it; detach puts them back`,
    );
  const tag = checkTag(tagFields, t.label);

  ctx.phase = PHASE.prepare;
  for (const r of routes) ctx.push(routeDel(HOST, r, routeAddCmd(HOST, r)));
  for (const x of dev.addrs.filter((o) => o.scope === 'global')) {
    const op = observedAddrOf(device, x);
    ctx.push(addrDel(HOST, op, addrAddCmd(HOST, op)));
  }
  ctx.phase = PHASE.link;
  // Moving takes the device down; doing it as its own step lets a rollback bring it back up.
  if (dev.up) ctx.push(linkSetDown(HOST, device, linkSetUpCmd(HOST, device)), PHASE.prepare);
  ctx.push(linkSetNetns(HOST, device, ns, t.label, linkSetNetnsCmd(ns, device, HOST, 'the host')));
  ctx.dropLink(HOST, device);
  ctx.phase = PHASE.inside;
  if (device !== ifname) ctx.push(linkRename(ns, device, ifname, linkRenameCmd(ns, ifname, device)));
  ctx.putLink(ns, { ...dev, name: ifname, up: false, addrs: [], planned: false });
  ctx.push(linkSetAlias(ns, ifname, tag, linkSetAliasCmd(ns, ifname, prevAlias)));
  if (a.iface.mac !== undefined && a.iface.mac !== dev.mac)
    ctx.push(linkSetMac(ns, ifname, a.iface.mac, linkSetMacCmd(ns, ifname, dev.mac)));
  if (a.iface.mtu !== undefined && a.iface.mtu !== dev.mtu)
    ctx.push(linkSetMtu(ns, ifname, a.iface.mtu, linkSetMtuCmd(ns, ifname, dev.mtu)));
  for (const s of planInside(ctx, {
    ns,
    label: t.label,
    targetId: t.id,
    ownMounts: t.ownMounts,
    dev: ifname,
    iface: a.iface,
    created: false,
  }))
    ctx.push(s);
};

/**
 * Detach: the device goes home under its own name, with its MTU, MAC, up state, addresses and
 * routes, and its own alias back last: until then its tag says what is left to do, so a detach
 * stopped after the move (a failure past it, exit 3; a kill) finishes when run again
 * (planPhysSettle, from planDetach).
 */
export const planPhysHome = (
  ctx: PlanContext,
  t: ResolvedTarget,
  l: ProjectedLink,
  tag: OwnerTag & { origName: string },
): void => {
  const ns = t.netns;
  const orig = tag.origName;
  if (l.up) ctx.push(linkSetDown(ns, l.name, linkSetUpCmd(ns, l.name)));
  if (orig !== l.name) ctx.push(linkRename(ns, l.name, orig, linkRenameCmd(ns, orig, l.name)));
  if (tag.origMtu !== undefined) ctx.push(linkSetMtu(ns, orig, tag.origMtu, linkSetMtuCmd(ns, orig, l.mtu)));
  if (tag.origMac !== undefined) ctx.push(linkSetMac(ns, orig, tag.origMac, linkSetMacCmd(ns, orig, l.mac)));
  ctx.push(linkSetNetns(ns, orig, HOST, 'the host', 'irreversible'));
  ctx.dropLink(ns, l.name);
  planPhysSettle(ctx, { ...l, name: orig, up: false, addrs: [] }, tag);
};

/**
 * A device home (or on its way home, as `home` will be after the move): up as it was, the
 * addresses and routes it had on the host that it lacks, then its own alias instead of the tag.
 */
export const planPhysSettle = (
  ctx: PlanContext,
  home: ProjectedLink,
  tag: OwnerTag & { origName: string },
): void => {
  const orig = home.name;
  ctx.phase = PHASE.finish;
  if (tag.origUp === true && !home.up) ctx.push(linkSetUp(HOST, orig, linkSetDownCmd(HOST, orig)));
  const addrs = tag.hostAddrs ?? [];
  const routes = tag.hostRoutes ?? [];
  for (const saved of addrs) {
    const a = { ...saved, dev: orig };
    if (home.addrs.some((x) => x.prefix === a.prefix && sameAddress(x.address, a.address))) continue;
    ctx.push({
      ...addrAdd(HOST, a, addrDelCmd(HOST, a)),
      id: `addr-restore:${orig}:${a.address}/${a.prefix}`,
      describes: `put ${a.address}/${a.prefix} back on "${orig}"`,
    });
  }
  for (const r of routes) {
    if (ctx.routes(HOST).some((o) => sameRoute(o, r))) continue;
    const text = routeArgs(r).join(' ');
    const dst = text.split(' ')[0] ?? 'default';
    ctx.push({
      ...routeAdd(HOST, r, routeDelCmd(HOST, r)),
      id: `route-restore:${orig}:${dst}`,
      describes: `put the route ${text} back`,
    });
  }
  if (addrs.length || routes.length)
    ctx.notes.push(
      `host interface "${orig}" comes home with ${[...addrs.map(addrText), ...routes.map((r) => routeArgs(r).join(' '))].join(', ')}`,
    );
  ctx.push({
    ...linkSetAlias(HOST, orig, tag.prevAlias ?? '', linkSetAliasCmd(HOST, orig, home.alias ?? '')),
    describes: tag.prevAlias ? `give "${orig}" its own alias back` : `clear the tag of "${orig}"`,
  });
  ctx.phase = PHASE.link;
};
