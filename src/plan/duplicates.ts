/**
 * One address given to two containers on one bridge: both answer ARP (or NDP) for it, and which
 * one a peer reaches changes with its neighbour cache (issue 13). A recipe checks its own file
 * (recipe/rules.ts); across runs, what is taken on a bridge is read from the host alone, which
 * every attach observes anyway: the bridge's own addresses, and the addresses each pipefitter
 * port records in its host end's tag (`a=`, with its access VLAN as `v=`). No other container
 * is entered, resolved or even running Docker's API for it; a port made before tags carried
 * addresses, or addresses changed by hand inside a container, are not seen.
 */
import type { Cidr } from '../addr.js';
import { sameAddress } from '../addr.js';
import { badInput, refuse } from '../errors.js';
import { HOST } from '../model/netns.js';
import type { OwnerTag } from '../model/owner.js';
import { decodeTag, tagFits } from '../model/owner.js';
import type { ResolvedTarget } from '../model/target.js';
import type { PlanContext } from './context.js';

/**
 * A host end's tag holding the container's static addresses, as many as fit in the alias (in
 * the order given: an attach never fails for want of room to record them).
 * @example withAddrs({ kind: 'veth-host', bridge: 'br0' }, [cidr('192.0.2.10/24')]).addrs // ['192.0.2.10/24']
 */
export const withAddrs = (tag: OwnerTag, addrs: readonly Cidr[]): OwnerTag => {
  const base: OwnerTag = Object.fromEntries(Object.entries(tag).filter(([k]) => k !== 'addrs')) as OwnerTag;
  for (let n = addrs.length; n > 0; n--) {
    const t = { ...base, addrs: addrs.slice(0, n).map((c) => c.text) };
    if (tagFits(t)) return t;
  }
  return base;
};

/** The untagged VLAN a port's container talks in: its access VLAN, else the bridge's default (1). */
const segmentOf = (vlan: OwnerTag['vlan']): number => (typeof vlan === 'number' ? vlan : 1);

/** A target's id as a target to type again (`path:/x` is typed `/x`). */
const specOfId = (id: string): string => (id.startsWith('path:') ? id.slice(5) : id);

interface Holder {
  readonly address: string;
  /** Who holds it, e.g. `pid:42 eth1 (host side "veth1pl42")`. */
  readonly who: string;
  /** How to free it. */
  readonly fix: string;
}

/** Every address taken on `bridge` in VLAN `segment`, by the bridge itself or another port. */
const holders = (
  ctx: PlanContext,
  bridge: string,
  segment: number,
  self: { readonly target: string; readonly ifname: string; readonly hostEnd?: string | undefined },
  recipe: string | undefined,
): Holder[] => {
  const out: Holder[] = [];
  const br = ctx.link(HOST, bridge);
  // the bridge device itself is a member of VLAN 1 (default_pvid), as an untagged port is
  if (br && segment === 1)
    for (const o of br.addrs)
      out.push({
        address: o.address,
        who: `bridge "${bridge}" itself (the host's address)`,
        fix: `or take it off the bridge (ip addr del ${o.address}/${o.prefix} dev ${bridge})`,
      });
  for (const l of ctx.links(HOST)) {
    const tag = decodeTag(l.alias);
    if (tag?.kind !== 'veth-host' || tag.bridge !== bridge || tag.addrs === undefined) continue;
    if (l.name === self.hostEnd || (tag.target === self.target && tag.ifname === self.ifname)) continue;
    // a recipe's containers are checked against each other by the recipe (rules.ts), and one
    // moving its address to another in the same apply must not trip on the old layout
    if (recipe !== undefined && tag.recipe === recipe) continue;
    if (segmentOf(tag.vlan) !== segment) continue;
    const target = tag.target ?? '?';
    const ifname = tag.ifname ?? '?';
    for (const text of tag.addrs)
      out.push({
        address: text.slice(0, text.lastIndexOf('/')),
        who: `${target} ${ifname}${tag.recipe ? ` of recipe "${tag.recipe}"` : ''} (host side "${l.name}")`,
        fix: tag.recipe
          ? `or change it in recipe "${tag.recipe}" and apply it (or destroy it) first`
          : `or detach the other first (pipefitter detach ${specOfId(target)} --ifname ${ifname})`,
      });
  }
  return out;
};

export interface DuplicateCheck {
  readonly target: ResolvedTarget;
  readonly ifname: string;
  /** The recipe making it (its own containers are not checked against each other here). */
  readonly owner?: string | undefined;
  readonly bridge: string;
  /** The port's access VLAN. */
  readonly vlan?: number | undefined;
  /** The addresses this plan gives the container (not those it has already). */
  readonly adding: readonly Cidr[];
  /** The port's own host end, when it exists already. */
  readonly hostEnd?: string | undefined;
}

/**
 * Refuse (E_CONFLICT, exit 2: planning comes before any change) an address another container
 * on the same bridge and VLAN has, or the bridge itself; with `allowDuplicate`, a note instead.
 * @example checkDuplicateAddresses(ctx, { target, ifname: 'eth1', bridge: 'br0', adding }, false)
 */
export const checkDuplicateAddresses = (
  ctx: PlanContext,
  c: DuplicateCheck,
  allowDuplicate: boolean,
): void => {
  if (c.adding.length === 0) return;
  const taken = holders(
    ctx,
    c.bridge,
    segmentOf(c.vlan),
    { target: c.target.id, ifname: c.ifname, hostEnd: c.hostEnd },
    c.owner,
  );
  for (const a of c.adding) {
    const h = taken.find((x) => sameAddress(x.address, a.address));
    if (!h) continue;
    const where = `on bridge "${c.bridge}"${c.vlan !== undefined ? ` (VLAN ${c.vlan})` : ''}`;
    if (allowDuplicate) {
      ctx.notes.push(
        `${c.target.label} ${c.ifname}: ${a.address} is also used ${where} by ${h.who}; accepted (--allow-duplicate-address)`,
      );
      continue;
    }
    const problem = `${a.address} is already used ${where} by ${h.who}`;
    const hint = `give ${c.target.label} another address, ${h.fix}; --allow-duplicate-address accepts it anyway`;
    throw c.owner === undefined
      ? badInput('E_CONFLICT', '--ip', a.text, problem, hint)
      : refuse(
          'E_CONFLICT',
          `${c.target.label} ${c.ifname} (recipe "${c.owner}") address ${a.text}`,
          problem,
          hint,
        );
  }
};
