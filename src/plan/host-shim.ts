/**
 * The host-to-macvlan shim (pipework #4, #130): by a kernel rule the host cannot reach its own
 * macvlan containers through their parent. A macvlan of the host on the same parent, mode bridge
 * (`pfshim-PARENT`), with a /32 (/128) host route to each container address through it, makes
 * them reachable; the host's replies leave from the address it already has (on the parent, as a
 * host's LAN address usually is). One shim per parent, shared by every container on it that asked
 * for one: its tag lists their users (short hashes of target and ifname; plan/shared-users.ts, the
 * bookkeeping of a shared VLAN's users too);
 * a container's detach removes its routes, and the last one's removes the shim (and its routes).
 * Each route carries its user's mark as its metric (shimMetric), so a user whose interface is
 * gone — its addresses unknown — still has its routes found (a detach, watch's cleanup).
 */
import { refuse } from '../errors.js';
import type { Cidr } from '../addr.js';
import { inSubnet, parseIp } from '../addr.js';
import { HOST } from '../model/netns.js';
import type { ObservedAddr, ObservedRoute } from '../model/observed.js';
import { decodeTag } from '../model/owner.js';
import { isIfName, shortHash } from '../names.js';
import {
  linkAdd,
  linkDelCmd,
  linkSet,
  linkSetDownCmd,
  linkSetUp,
  routeAdd,
  routeAddCmd,
  routeDel,
  routeDelCmd,
} from './commands.js';
import type { PlanContext } from './context.js';
import { plannedLink } from './context.js';
import { sameRoute } from './iface.js';
import { PHASE } from './phases.js';
import { firstTag, joinShared, leaveShared, listsUser, sharedLinksOf, userCount } from './shared-users.js';

/** The shim's name on PARENT: `pfshim-PARENT`, or a hash of PARENT when that is over 15 bytes. */
export const shimName = (parent: string): string => {
  const plain = `pfshim-${parent}`;
  return isIfName(plain) ? plain : `pfshim-${shortHash(parent, 8)}`;
};

/**
 * The metric of `user`'s routes through a shim: its mark, from its short hash (1…2^32-1). A
 * route carries it, so a user whose interface is gone (a restarted container, a namespace gone
 * with its process) still has its routes found and removed, with no addresses recorded anywhere.
 */
export const shimMetric = (user: string): number => 1 + (parseInt(user, 36) % 0xfffffffe);

/** A route to one container address of `user` through the shim, as the kernel shows it. */
export const shimRoute = (
  shim: string,
  a: { family: 4 | 6; address: string },
  user: string,
  src?: string,
): ObservedRoute => ({
  family: a.family,
  dst: `${a.address}/${a.family === 4 ? 32 : 128}`,
  dev: shim,
  metric: shimMetric(user),
  ...(src !== undefined ? { prefsrc: src } : {}),
  onlink: false,
  type: 'unicast',
});

/**
 * The host's own address to answer a container from: the parent's global address in the
 * container's subnet (or else of its family). The shim has none, and without `src` the kernel
 * would pick one of another interface's (Docker's 172.17.0.1 on docker0, say), which the
 * container has no route back to.
 */
export const shimSource = (
  parentAddrs: readonly Pick<ObservedAddr, 'family' | 'address' | 'scope'>[],
  a: Cidr,
): string | undefined => {
  const own = parentAddrs.filter((p) => p.family === a.family && p.scope === 'global');
  return (own.find((p) => inSubnet(a, parseIp(p.address, 'address'))) ?? own[0])?.address;
};

/**
 * `user`'s routes through the shim `name`: marked with its metric — to `only` of its addresses,
 * when given — and unmarked ones (made before routes were marked) to `addrs`.
 */
const routesOf = (
  ctx: PlanContext,
  name: string,
  user: string,
  addrs: readonly Pick<ObservedAddr, 'family' | 'address'>[],
  only = false,
): ObservedRoute[] => {
  const dsts = new Set(addrs.map((a) => `${a.family}/${a.address}/${a.family === 4 ? 32 : 128}`));
  const mark = shimMetric(user);
  return ctx.routes(HOST).filter((r) => {
    if (r.dev !== name || r.type !== 'unicast' || r.gateway !== undefined) return false;
    const listed = dsts.has(`${r.family}/${r.dst}`);
    const metric = r.metric ?? 0;
    if (metric === mark) return !only || listed;
    return listed && metric === (r.family === 6 ? 1024 : 0);
  });
};

/**
 * Make sure the shim on `parent` exists, is up, counts `user`, and routes each of `addrs` to
 * it. Returns the shim's name.
 */
export const ensureShim = (
  ctx: PlanContext,
  parent: string,
  user: string,
  addrs: readonly Cidr[],
  label: string,
): string => {
  const name = shimName(parent);
  const phase = ctx.phase;
  ctx.phase = PHASE.prepare;
  const shim = ctx.link(HOST, name);
  if (shim) {
    const tag = decodeTag(shim.alias);
    if (shim.kind !== 'macvlan' || tag?.kind !== 'macvlan-shim' || tag.parent !== parent)
      throw refuse(
        'E_CONFLICT',
        `host interface "${name}"`,
        `exists but is not pipefitter's host shim on ${parent}`,
        'remove or rename it',
      );
    joinShared(ctx, name, 'macvlan-shim', user, (users) =>
      refuse(
        'E_CONFLICT',
        label,
        `the host shim "${name}" already has ${users} users, as many as its tag can list`,
        'leave out --host-shim for this one; the shim routes only to containers it lists',
      ),
    );
    if (!shim.up) {
      ctx.push(linkSetUp(HOST, name, shim.planned ? 'covered' : linkSetDownCmd(HOST, name)));
      ctx.updateLink(HOST, name, { up: true });
    }
  } else {
    const p = ctx.link(HOST, parent);
    if (!p) throw refuse('E_NO_HOST_IF', `host interface "${parent}"`, 'not found', 'give a host interface');
    const alias = firstTag({ kind: 'macvlan-shim', parent }, user);
    ctx.push(
      linkAdd(HOST, {
        name,
        spec: { kind: 'macvlan', parent, mode: 'bridge' },
        describes: `create the host shim "${name}" (macvlan, mode bridge) on ${parent}`,
        undo: linkDelCmd(HOST, name),
      }),
    );
    ctx.push(
      linkSet(
        HOST,
        name,
        { alias, up: true },
        {
          id: `link-alias:${name}`,
          describes: `tag "${name}" as pipefitter's (shared host shim) and bring it up`,
          undo: 'covered',
        },
      ),
    );
    ctx.putLink(HOST, {
      ...plannedLink({ name, kind: 'macvlan', alias, mtu: p.mtu, parent }),
      macvlanMode: 'bridge',
      up: true,
    });
    ctx.notes.push(
      `${label}: host shim "${name}" is made on ${parent}, so the host reaches its macvlan containers (shared; removed with its last user)`,
    );
  }
  // the routes after the shim is up (the kernel refuses a route through a link that is down)
  ctx.phase = PHASE.link;
  const parentAddrs = ctx.link(HOST, parent)?.addrs ?? [];
  for (const a of addrs) {
    const r = shimRoute(name, a, user, shimSource(parentAddrs, a));
    if (ctx.routes(HOST).some((x) => sameRoute(x, r))) continue;
    ctx.push({
      ...routeAdd(HOST, r, ctx.link(HOST, name)?.planned ? 'covered' : routeDelCmd(HOST, r)),
      describes: `route ${r.dst} through the host shim "${name}" (${label})`,
    });
    ctx.addRoute(HOST, r);
  }
  ctx.phase = phase;
  return name;
};

/** Those routes go (in the current phase). */
const dropRoutes = (ctx: PlanContext, routes: readonly ObservedRoute[]): void => {
  for (const r of routes) {
    ctx.push(routeDel(HOST, r, routeAddCmd(HOST, r)));
    ctx.removeRoute(HOST, r);
  }
};

/**
 * An interface of `user` repaired in place: the shim routes to the addresses it had and is no
 * longer asked to have (`had` minus `keep`) go, before the new ones are made.
 */
export const dropStaleShimRoutes = (
  ctx: PlanContext,
  user: string,
  had: readonly Pick<ObservedAddr, 'family' | 'address'>[],
  keep: readonly Pick<ObservedAddr, 'family' | 'address'>[],
): void => {
  const stale = had.filter((a) => !keep.some((k) => k.family === a.family && k.address === a.address));
  if (stale.length === 0) return;
  const phase = ctx.phase;
  ctx.phase = PHASE.prepare;
  for (const name of shimsOf(ctx, user)) dropRoutes(ctx, routesOf(ctx, name, user, stale, true));
  ctx.phase = phase;
};

/** The shims whose tag lists `user`. */
export const shimsOf = (ctx: PlanContext, user: string): string[] => sharedLinksOf(ctx, 'macvlan-shim', user);

/**
 * `user` goes: its routes (marked with its metric; unmarked older ones to `addrs`, the addresses
 * its interface had) leave the shim — also when its interface is gone and `addrs` is empty —
 * and the shim goes with its last user (the kernel takes its routes along). With `replaced`, an
 * `attach --replace` whose new interface uses this shim again (the same user): only the old
 * routes go, before the new interface's are made; the user and the shim stay.
 */
export const releaseShim = (
  ctx: PlanContext,
  name: string,
  user: string,
  addrs: readonly Pick<ObservedAddr, 'family' | 'address'>[],
  replaced = false,
): void => {
  if (!listsUser(ctx, name, 'macvlan-shim', user)) return;
  const phase = ctx.phase;
  ctx.phase = replaced ? PHASE.prepare : PHASE.finish;
  // the last user's routes go with the shim (the kernel takes them along)
  if (replaced || userCount(ctx, name, 'macvlan-shim') > 1) dropRoutes(ctx, routesOf(ctx, name, user, addrs));
  if (!replaced)
    leaveShared(
      ctx,
      name,
      'macvlan-shim',
      user,
      `host shim "${name}" has no users left; it is removed with its routes`,
    );
  ctx.phase = phase;
};
