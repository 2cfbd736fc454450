/** Container-side steps: announce, addresses, link up, routes and gateways. */
import { inSubnet, parseCidr, sameAddress } from '../addr.js';
import type { IpAddr } from '../addr.js';
import { refuse } from '../errors.js';
import type { IfaceSpec } from '../model/iface.js';
import type { NetnsRef } from '../model/netns.js';
import type { ObservedRoute } from '../model/observed.js';
import type { Command, Step } from '../model/step.js';
import {
  addrAdd,
  addrDelCmd,
  addrOf,
  ipv6Enable,
  arpAnnounce,
  describeRoute,
  linkSetDownCmd,
  linkSetUp,
  routeAdd,
  routeAddCmd,
  routeDel,
  routeDelCmd,
  wantedRoute,
} from './commands.js';
import type { PlanContext } from './context.js';
import { planDhcp } from './dhcp.js';

export interface InsideParams {
  readonly ns: NetnsRef;
  readonly label: string;
  /** The interface's final name inside. */
  readonly dev: string;
  readonly iface: IfaceSpec;
  /** The link was made by this plan: its undo removes everything below. */
  readonly created: boolean;
  /** Identity of the target (DHCP state is kept per target and interface). */
  readonly targetId: string;
  /** The target has its own file system (for --dhcp-dns). */
  readonly ownMounts?: boolean | undefined;
  /**
   * Could anyone on the link's segment hold this address with another MAC in its neighbour
   * cache? Only then is it announced. @default always
   */
  readonly mayBeCached?: ((address: string) => boolean) | undefined;
}

export const sameRoute = (a: ObservedRoute, b: ObservedRoute): boolean =>
  a.family === b.family &&
  a.dst === b.dst &&
  (a.dev ?? '') === (b.dev ?? '') &&
  (a.gateway === undefined
    ? b.gateway === undefined
    : b.gateway !== undefined && sameAddress(a.gateway, b.gateway)) &&
  (a.metric ?? 0) === (b.metric ?? 0);

/** The default routes of a family, as observed or projected. */
export const defaultRoutes = (routes: readonly ObservedRoute[], family: 4 | 6): ObservedRoute[] =>
  routes.filter((r) => r.dst === 'default' && r.family === family && r.type === 'unicast');

/** True when the gateway needs an on-link route: none of the interface's subnets holds it. */
export const needsOnlink = (iface: IfaceSpec, gw: NonNullable<IfaceSpec['gateways'][number]>): boolean =>
  !iface.addrs.some((a) => inSubnet(a, gw));

/**
 * A gateway outside every subnet of the interface is reachable only as `onlink` (pipework added
 * a /32 route to it first): done for routes and default gateways alike — attach, pipework forms,
 * links and recipes — and always said.
 */
const onlinkNote = (label: string, dev: string, via: string, route: string): string =>
  `${label}: ${via} is outside the subnets of ${dev}; the route ${route} is added with onlink (the gateway must be on that link)`;

/**
 * Where the namespace's main table reaches an IPv6 address once the plan is done: the devices of
 * its longest matches among the subnets of global addresses and the unicast routes other than
 * the default. Undefined when nothing but a default route matches.
 */
const reachedThrough = (
  ctx: PlanContext,
  ns: NetnsRef,
  ip: IpAddr,
): { devs: string[]; subnet: string } | undefined => {
  const nets = [
    ...ctx
      .links(ns)
      .flatMap((l) =>
        l.addrs
          .filter((a) => a.family === 6 && a.scope === 'global')
          .map((a) => ({ dev: l.name, cidr: parseCidr(`${a.address}/${a.prefix}`, 'address') })),
      ),
    ...ctx
      .routes(ns)
      .filter((r) => r.family === 6 && r.dst !== 'default' && r.type === 'unicast' && r.dev !== undefined)
      .map((r) => ({
        dev: r.dev as string,
        cidr: parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/128`, 'route'),
      })),
  ].filter((n) => inSubnet(n.cidr, ip));
  const longest = Math.max(...nets.map((n) => n.cidr.prefix));
  const best = nets.filter((n) => n.cidr.prefix === longest);
  return best[0] && { devs: best.map((n) => n.dev), subnet: best[0].cidr.network };
};

/**
 * The kernel takes an IPv6 gateway on an on-link route only through the interface its main
 * table reaches it by ("Nexthop has invalid gateway or device mismatch"): a gateway in the
 * subnet of another interface's address is refused on this one. It checks when the route is
 * added, so it accepts the route while that address is not there yet — and refuses it again
 * when a drifted route is put back. Refused before anything changes, whatever the order, once
 * the whole plan is known. Link-local gateways are not checked (by the kernel either).
 */
const refuseGatewayElsewhere = (ctx: PlanContext, p: InsideParams, via: IpAddr, route: string): void => {
  if (via.family !== 6 || /^fe[89ab]/i.test(via.address)) return;
  ctx.atFinish(() => {
    const r = reachedThrough(ctx, p.ns, via);
    if (!r || r.devs.includes(p.dev)) return;
    const other = r.devs[0] as string;
    throw refuse(
      'E_CONFLICT',
      `${p.label}: route ${route}`,
      `the gateway ${via.address} is reached through ${other} (${r.subnet}), and the kernel takes an IPv6 gateway only through the interface it is reached by`,
      `put the route on ${other}, or give ${p.dev} an address in ${r.subnet}`,
    );
  });
};

/**
 * Plan the inside of an interface (its link already exists or is planned). Returns the
 * announcement steps, which the caller pushes last (after its own tagging step).
 */
export const planInside = (ctx: PlanContext, p: InsideParams): Step[] => {
  const { ns, dev, iface, created, label } = p;
  const announcements: Step[] = [];
  const link = ctx.link(ns, dev);
  const undoIfKept = (c: Command): Command | 'covered' => (created ? 'covered' : c);
  // A route that took the place of others (removed right before it, put back by their undos)
  // is removed by its own undo, even on a link this plan made: the rollback puts them back
  // before it deletes the link, and the kernel refuses a second route to the same destination
  // and metric ("File exists").
  const undoReplacing = (replaced: readonly ObservedRoute[], c: Command): Command | 'covered' =>
    replaced.length ? c : undoIfKept(c);

  const missing = iface.addrs.filter(
    (a) => !link?.addrs.some((o) => o.prefix === a.prefix && sameAddress(o.address, a.address)),
  );
  if (missing.length === 0 && iface.addrs.length > 0)
    ctx.noops.push(`${label}: ${dev} already has ${iface.addrs.map((a) => a.text).join(', ')}`);
  const addAddr = (a: (typeof missing)[number]): void => {
    const op = addrOf(dev, a);
    ctx.push(addrAdd(ns, op, undoIfKept(addrDelCmd(ns, op))));
    const cur = ctx.link(ns, dev);
    if (cur)
      ctx.updateLink(ns, dev, {
        addrs: [...cur.addrs, { family: a.family, address: a.address, prefix: a.prefix, scope: 'global' }],
      });
  };

  // IPv4 addresses, then up; IPv6 addresses after a separate process (the announce step) so
  // that their unsolicited NA leaves once the link is up and a bridge port forwards.
  for (const a of missing.filter((x) => x.family === 4)) addAddr(a);
  const wasUp = link?.up === true;
  if (!wasUp) {
    ctx.push(linkSetUp(ns, dev, undoIfKept(linkSetDownCmd(ns, dev))));
    ctx.updateLink(ns, dev, { up: true });
  }
  // DHCP: the client configures the address and default route itself, once the link is up.
  if (iface.dhcp && !wasUp)
    for (const s of planDhcp({
      ns,
      targetId: p.targetId,
      label,
      dev,
      spec: iface.dhcp,
      ownMounts: p.ownMounts === true,
    }))
      ctx.push(s);
  const v6 = missing.filter((x) => x.family === 6);
  const announce = (a: { address: string }): boolean =>
    iface.announce && !wasUp && (p.mayBeCached?.(a.address) ?? true);
  if (v6.length > 0) ctx.push(ipv6Enable(ns, dev, v6.some(announce)));
  for (const a of v6) addAddr(a);
  for (const a of missing.filter((x) => x.family === 4 && announce(x)))
    announcements.push(arpAnnounce(ns, dev, a.address));

  for (const r of iface.routes) {
    const onlink = r.via !== undefined && !iface.addrs.some((a) => r.via !== undefined && inSubnet(a, r.via));
    const want = wantedRoute({ dst: r.dst, via: r.via, dev, metric: r.metric, onlink });
    const existing = ctx
      .routes(ns)
      .filter(
        (o) => o.family === want.family && o.dst === want.dst && (o.metric ?? 0) === (want.metric ?? 0),
      );
    if (existing.some((o) => sameRoute(o, want))) {
      ctx.noops.push(`${label}: route ${describeRoute(want)} already there`);
      continue;
    }
    for (const o of existing) {
      // A different route to the same destination would make `route add` fail; take it out, put it back on undo.
      ctx.push(routeDel(ns, o, routeAddCmd(ns, o)));
      ctx.removeRoute(ns, o);
      ctx.notes.push(`${label}: route ${describeRoute(o)} is replaced by ${describeRoute(want)}`);
    }
    if (onlink && r.via) {
      ctx.notes.push(onlinkNote(label, dev, r.via.address, describeRoute(want)));
      refuseGatewayElsewhere(ctx, p, r.via, describeRoute(want));
    }
    ctx.push(routeAdd(ns, want, undoReplacing(existing, routeDelCmd(ns, want))));
    ctx.addRoute(ns, want);
  }

  for (const gw of iface.gateways) {
    const want = wantedRoute({ dst: 'default', via: gw, dev, onlink: needsOnlink(iface, gw) });
    const current = defaultRoutes(ctx.routes(ns), gw.family);
    if (
      current.length === 1 &&
      current[0] !== undefined &&
      sameRoute({ ...current[0], metric: want.metric }, want)
    ) {
      ctx.noops.push(`${label}: default route via ${gw.address} dev ${dev} already there`);
      continue;
    }
    for (const o of current) {
      ctx.push(routeDel(ns, o, routeAddCmd(ns, o)));
      ctx.removeRoute(ns, o);
      ctx.notes.push(
        `${label}: the default route${o.gateway ? ` via ${o.gateway}` : ''}${o.dev ? ` dev ${o.dev}` : ''} is replaced by one via ${gw.address} dev ${dev}` +
          (o.dev !== dev ? ` (ports published through ${o.dev} stop answering; detach restores it)` : ''),
      );
    }
    if (want.onlink) {
      ctx.notes.push(onlinkNote(label, dev, gw.address, describeRoute(want)));
      refuseGatewayElsewhere(ctx, p, gw, describeRoute(want));
    }
    ctx.push(routeAdd(ns, want, undoReplacing(current, routeDelCmd(ns, want))));
    ctx.addRoute(ns, want);
  }
  return announcements;
};
