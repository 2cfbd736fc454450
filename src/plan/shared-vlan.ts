/**
 * pipework's `eth0 … @10`: a macvlan (or ipvlan) on PARENT.VLAN, an 802.1Q sub-interface made
 * once and shared by every container on that VLAN. The sub-interface records its users in its
 * tag (short hashes of target and ifname; plan/shared-users.ts, the bookkeeping of a host shim's
 * users too); the last user's detach removes it. A user more than
 * the tag can list is refused. A sub-interface pipefitter did not make is used as it is and
 * never removed.
 */
import { refuse } from '../errors.js';
import { HOST } from '../model/netns.js';
import { isIfName, shortHash } from '../names.js';
import type { VlanId } from '../values.js';
import { linkAddVlan, linkSet, linkSetDownCmd, linkSetUp } from './commands.js';
import type { PlanContext } from './context.js';
import { plannedLink } from './context.js';
import { PHASE } from './phases.js';
import { firstTag, joinShared, leaveShared, sharedLinksOf } from './shared-users.js';

export const vlanUserKey = (targetId: string, ifname: string): string =>
  shortHash(`${targetId}/${ifname}`, 8);

/**
 * One more user than the sub-interface's tag can list: refused, so that the last user's detach
 * always knows it is the last (a tag of an earlier version that gave up counting, `*`, is used
 * as it is and never removed).
 */
const tooManyUsers = (name: string, users: number, label: string) =>
  refuse(
    'E_CONFLICT',
    label,
    `the shared VLAN sub-interface "${name}" already has ${users} users, as many as its tag can list`,
    `make ${name} yourself (pipefitter then uses it as it is and never removes it), or put the containers on a bridge`,
  );

/** The name of PARENT.VLAN; it must fit the kernel's 15 bytes. */
export const subName = (parent: string, vid: VlanId, label: string): string => {
  const name = `${parent}.${vid}`;
  if (!isIfName(name))
    throw refuse(
      'E_NAME_TOO_LONG',
      label,
      `the VLAN sub-interface "${name}" would be longer than 15 bytes`,
      `rename the host interface or make ${parent}.${vid} yourself under a shorter name`,
    );
  return name;
};

/** Make sure PARENT.VLAN exists and counts this user; returns its name. */
export const ensureSharedVlan = (
  ctx: PlanContext,
  parent: string,
  vid: VlanId,
  user: string,
  label: string,
): string => {
  const name = subName(parent, vid, label);
  const phase = ctx.phase;
  ctx.phase = PHASE.prepare;
  const sub = ctx.link(HOST, name);
  if (sub) {
    if (
      sub.kind !== 'vlan' ||
      (sub.vlanId !== undefined && sub.vlanId !== vid) ||
      (sub.parent !== undefined && sub.parent !== parent)
    )
      throw refuse(
        'E_CONFLICT',
        `host interface "${name}"`,
        `exists but is not VLAN ${vid} on ${parent}`,
        'remove or rename it',
      );
    // a sub-interface pipefitter did not make (no such tag) is used as it is
    joinShared(ctx, name, 'vlan-shared', user, (users) => tooManyUsers(name, users, label));
    if (!sub.up) {
      ctx.push(linkSetUp(HOST, name, sub.planned ? 'covered' : linkSetDownCmd(HOST, name)));
      ctx.updateLink(HOST, name, { up: true });
    }
    ctx.phase = phase;
    return name;
  }
  const p = ctx.link(HOST, parent);
  if (!p)
    throw refuse(
      'E_NO_HOST_IF',
      `host interface "${parent}"`,
      'not found',
      'list the host interfaces with `ip link` and give one of them',
    );
  // its parent was brought up before (ensureParentUp), with a record of who needs it
  const alias = firstTag({ kind: 'vlan-shared' }, user);
  ctx.push(linkAddVlan(HOST, parent, name, vid, p.mtu));
  ctx.push(
    linkSet(
      HOST,
      name,
      { alias, up: true },
      {
        id: `link-alias:${name}`,
        describes: `tag "${name}" as pipefitter's (shared) and bring it up`,
        undo: 'covered',
      },
    ),
  );
  ctx.putLink(HOST, {
    ...plannedLink({ name, kind: 'vlan', alias, mtu: p.mtu, parent }),
    vlanId: vid,
    up: true,
  });
  ctx.notes.push(
    `${label}: VLAN ${vid} sub-interface "${name}" is made on ${parent} (shared; removed with its last user)`,
  );
  ctx.phase = phase;
  return name;
};

/** The shared sub-interfaces whose tag lists `user` (vlanUserKey) among their users. */
export const sharedVlansOf = (ctx: PlanContext, user: string): string[] =>
  sharedLinksOf(ctx, 'vlan-shared', user);

/** A user of PARENT.VLAN goes: dropped from the tag, and the sub-interface goes with the last one. */
export const releaseSharedVlan = (ctx: PlanContext, name: string, user: string): void =>
  leaveShared(
    ctx,
    name,
    'vlan-shared',
    user,
    `VLAN sub-interface "${name}" has no users left; it is removed`,
  );
