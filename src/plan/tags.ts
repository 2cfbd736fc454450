/** Ownership tags as the planner writes them, and the host parents links hang off. */
import { refuse } from '../errors.js';
import type { Attachment, ConcreteLink } from '../model/attachment.js';
import { HOST } from '../model/netns.js';
import type { OwnerTag, SavedRoute, TagKind } from '../model/owner.js';
import { encodeTag, tagFits } from '../model/owner.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { defaultRoutes } from './iface.js';

export const tagKindOf = (l: ConcreteLink): TagKind => (l.kind === 'bridge' ? 'veth' : l.kind);

export const hostParent = (ctx: PlanContext, parent: string, label: string): ProjectedLink => {
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

/** The default routes a gateway replaces, remembered in the tag. */
export const prevDefaults = (ctx: PlanContext, a: Attachment): Pick<OwnerTag, 'prevDefaults'> => {
  const out: SavedRoute[] = [];
  // A DHCP lease with a router replaces the IPv4 default route too.
  const families = new Set<4 | 6>([
    ...a.iface.gateways.map((g) => g.family),
    ...(a.iface.dhcp ? [4 as const] : []),
  ]);
  for (const family of families) {
    out.push(...defaultRoutes(ctx.routes(a.target.netns), family).filter((r) => r.dev !== a.iface.ifname));
  }
  return out.length ? { prevDefaults: out } : {};
};

export const checkTag = (tag: OwnerTag, label: string): string => {
  if (!tagFits(tag))
    throw refuse(
      'E_BAD_VALUE',
      label,
      'the ownership tag does not fit in a link alias (255 bytes)',
      'use shorter names',
    );
  return encodeTag(tag);
};
