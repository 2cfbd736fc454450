/**
 * pipework's `eth0 … @10`: a macvlan (or ipvlan) on PARENT.VLAN, an 802.1Q sub-interface made
 * once and shared by every container on that VLAN. The sub-interface records its users in its
 * tag (short hashes of target and ifname); the last user's detach removes it. A user more than
 * the tag can list is refused. A sub-interface pipefitter did not make is used as it is and
 * never removed.
 */
import { refuse } from '../errors.js';
import { HOST } from '../model/netns.js';
import { decodeTag, encodeTag, tagFits } from '../model/owner.js';
import { isIfName, shortHash } from '../names.js';
import type { VlanId } from '../values.js';
import {
  linkAddVlan,
  linkDel,
  linkSet,
  linkSetAlias,
  linkSetAliasCmd,
  linkSetDownCmd,
  linkSetUp,
} from './commands.js';
import type { PlanContext } from './context.js';
import { plannedLink } from './context.js';
import { PHASE } from './phases.js';

const MANY = '*';

export const vlanUserKey = (targetId: string, ifname: string): string =>
  shortHash(`${targetId}/${ifname}`, 8);

const usersOf = (alias: string | undefined): string[] | typeof MANY => {
  const u = decodeTag(alias)?.users ?? [];
  return u === MANY ? MANY : [...u];
};

/** The tag listing `users`; undefined when they do not fit in an alias. */
const tagWith = (users: string[]): string | undefined => {
  const tag = { kind: 'vlan-shared', ...(users.length ? { users } : {}) } as const;
  return tagFits(tag) ? encodeTag(tag) : undefined;
};

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
    const tag = decodeTag(sub.alias);
    if (tag?.kind === 'vlan-shared') {
      const users = usersOf(sub.alias);
      if (users !== MANY && !users.includes(user)) {
        const next = tagWith([...users, user]);
        if (next === undefined) throw tooManyUsers(name, users.length, label);
        // made by this plan: its tag is written once, with every user
        if (sub.planned)
          ctx.amend(`link-alias:${name}`, (s) =>
            s.op.op === 'link.set' ? { ...s, op: { ...s.op, patch: { ...s.op.patch, alias: next } } } : s,
          );
        else ctx.push(linkSetAlias(HOST, name, next, linkSetAliasCmd(HOST, name, sub.alias ?? '')));
        ctx.updateLink(HOST, name, { alias: next });
      }
    }
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
  const alias = tagWith([user]) ?? encodeTag({ kind: 'vlan-shared' });
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
  ctx
    .links(HOST)
    .filter((l) => {
      if (decodeTag(l.alias)?.kind !== 'vlan-shared') return false;
      const users = usersOf(l.alias);
      return users !== MANY && users.includes(user);
    })
    .map((l) => l.name);

/** A user of PARENT.VLAN goes: drop it from the tag, and the sub-interface with the last one. */
export const releaseSharedVlan = (ctx: PlanContext, name: string, user: string): void => {
  const sub = ctx.link(HOST, name);
  const tag = decodeTag(sub?.alias);
  if (!sub || tag?.kind !== 'vlan-shared') return;
  const users = usersOf(sub.alias);
  if (users === MANY) return;
  const left = users.filter((u) => u !== user);
  const phase = ctx.phase;
  ctx.phase = PHASE.finish;
  if (left.length === 0) {
    ctx.push(linkDel(HOST, name, `link-del:${name}`));
    ctx.dropLink(HOST, name);
    ctx.notes.push(`VLAN sub-interface "${name}" has no users left; it is removed`);
  } else if (left.length !== users.length) {
    // fewer users than it listed: they fit
    const next = tagWith(left) ?? sub.alias ?? '';
    ctx.push(linkSetAlias(HOST, name, next, linkSetAliasCmd(HOST, name, sub.alias ?? '')));
    ctx.updateLink(HOST, name, { alias: next });
  }
  ctx.phase = phase;
};
