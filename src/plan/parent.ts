/**
 * The host interface a macvlan, ipvlan or VLAN hangs off must be up, or the new interface has no
 * carrier (pipework brings it up too). pipefitter brings a down parent up, remembers for which
 * attachments (a StateRecord, written after the apply), and takes it down again with the last
 * of them — unless something else uses it by then. A parent that was up is never touched.
 */
import { HOST } from '../model/netns.js';
import { linkSetDown, linkSetDownCmd, linkSetUp, linkSetUpCmd } from './commands.js';
import type { PlanContext } from './context.js';
import { PHASE } from './phases.js';

/** Who depends on a parent: the attachment, as its tag names it. */
export const parentUser = (targetId: string, ifname: string): string => `${targetId}/${ifname}`;

/** Bring `name` up if it is down, and count `user` among those who need it. */
export const ensureParentUp = (ctx: PlanContext, name: string, user: string, label: string): void => {
  const p = ctx.link(HOST, name);
  if (!p) return;
  if (!p.up) {
    ctx.push(linkSetUp(HOST, name, p.planned ? 'covered' : linkSetDownCmd(HOST, name)), PHASE.prepare);
    ctx.updateLink(HOST, name, { up: true });
    if (p.planned) return;
    ctx.recordParentUser(name, p.ifindex, user, 'add');
    ctx.notes.push(
      `${label}: host interface "${name}" was down; it is brought up (and taken down again when its last attachment is detached)`,
    );
    return;
  }
  // up because pipefitter brought it up for another attachment: this one needs it too
  if (ctx.parentUp(name)) ctx.recordParentUser(name, p.ifindex, user, 'add');
};

/** What keeps a host interface busy besides pipefitter's attachments on it. */
const otherUse = (ctx: PlanContext, name: string): string | undefined => {
  const p = ctx.link(HOST, name);
  if (!p) return undefined;
  // a veth's link is its peer, not a device under it: only other kinds are stacked on it
  const child = ctx.links(HOST).find((l) => l.parent === name && l.kind !== 'veth');
  if (child) return `"${child.name}" is stacked on it`;
  if (p.master !== undefined) return `it is a port of "${p.master}"`;
  const addr = p.addrs.find((a) => a.scope === 'global');
  if (addr) return `it has the address ${addr.address}/${addr.prefix}`;
  return undefined;
};

/** `user` goes: drop it from every parent it needed; a parent nobody needs any more goes down. */
export const releaseParents = (ctx: PlanContext, user: string): void => {
  for (const name of ctx.parentsUsedBy(user)) {
    const rec = ctx.parentUp(name);
    const p = ctx.link(HOST, name);
    if (!rec || !p) continue;
    ctx.recordParentUser(name, rec.ifindex, user, 'remove');
    if (rec.users.some((u) => u !== user) || !p.up) continue;
    const busy = otherUse(ctx, name);
    if (busy) {
      ctx.notes.push(`host interface "${name}" stays up although pipefitter brought it up: ${busy}`);
      continue;
    }
    ctx.push(linkSetDown(HOST, name, linkSetUpCmd(HOST, name)), PHASE.finish);
    ctx.updateLink(HOST, name, { up: false });
    ctx.notes.push(
      `host interface "${name}" was brought up by pipefitter and is no longer used; it goes down`,
    );
  }
};
