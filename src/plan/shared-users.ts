/**
 * The users of a host link that several attachments share — a shared VLAN sub-interface
 * (plan/shared-vlan.ts), a host shim (plan/host-shim.ts) — are kept in its tag (short hashes of
 * target and ifname, vlanUserKey): a user joins the tag, leaves it, and the last one to leave
 * removes the link. One bookkeeping for both. A tag of an earlier version that gave up counting
 * (`users: *`) is used as it is: nobody joins or leaves it, and its link is never removed.
 */
import { HOST } from '../model/netns.js';
import type { OwnerTag } from '../model/owner.js';
import { decodeTag, encodeTag, tagFits } from '../model/owner.js';
import { linkDel, linkSetAlias, linkSetAliasCmd } from './commands.js';
import type { PlanContext } from './context.js';
import { PHASE } from './phases.js';

/** The kinds of tag that list users. */
export type SharedKind = 'vlan-shared' | 'macvlan-shim';

/** A shared link's tag but for its users: its kind and (a shim's) parent. */
export type SharedTag = Omit<OwnerTag, 'kind' | 'users'> & { readonly kind: SharedKind };

/**
 * The users `alias` lists, when it is a tag of `kind` that counts them; undefined otherwise (not
 * such a tag, or `*`).
 */
const listed = (alias: string | undefined, kind: SharedKind): string[] | undefined => {
  const tag = decodeTag(alias);
  return tag?.kind !== kind || tag.users === '*' ? undefined : [...(tag.users ?? [])];
};

/** The tag `base` listing `users`; undefined when they do not fit in an alias. */
const withUsers = (base: SharedTag, users: readonly string[]): string | undefined => {
  const tag = { ...base, ...(users.length ? { users } : {}) };
  return tagFits(tag) ? encodeTag(tag) : undefined;
};

/** The tag of a shared link made for its first user. */
export const firstTag = (base: SharedTag, user: string): string => withUsers(base, [user]) ?? encodeTag(base);

/** The host's shared links of `kind` whose tag lists `user`. */
export const sharedLinksOf = (ctx: PlanContext, kind: SharedKind, user: string): string[] =>
  ctx
    .links(HOST)
    .filter((l) => listed(l.alias, kind)?.includes(user))
    .map((l) => l.name);

/** Does the tag of the host link `name`, of `kind`, list `user`? */
export const listsUser = (ctx: PlanContext, name: string, kind: SharedKind, user: string): boolean =>
  listed(ctx.link(HOST, name)?.alias, kind)?.includes(user) ?? false;

/** How many users the tag of the host link `name`, of `kind`, lists (0: none, or it does not count). */
export const userCount = (ctx: PlanContext, name: string, kind: SharedKind): number =>
  listed(ctx.link(HOST, name)?.alias, kind)?.length ?? 0;

/**
 * The link's tag becomes `next`, in one step per plan: a change made in the same plan already
 * (the tag of a link this plan makes, another user joining or leaving) is amended.
 */
const retag = (ctx: PlanContext, name: string, next: string): void => {
  const id = `link-alias:${name}`;
  if (ctx.hasStep(id))
    ctx.amend(id, (s) =>
      s.op.op === 'link.set' ? { ...s, op: { ...s.op, patch: { ...s.op.patch, alias: next } } } : s,
    );
  else
    ctx.push(linkSetAlias(HOST, name, next, linkSetAliasCmd(HOST, name, ctx.link(HOST, name)?.alias ?? '')));
  ctx.updateLink(HOST, name, { alias: next });
};

/** The tag of the host link `name`, of `kind`, but for its users. */
const baseOf = (ctx: PlanContext, name: string, kind: SharedKind): SharedTag => {
  const { users: _users, ...rest } = decodeTag(ctx.link(HOST, name)?.alias) ?? { kind };
  return { ...rest, kind };
};

/**
 * `user` joins the shared link `name` (a tag of `kind`): added to its tag, unless listed already
 * or the tag does not count. One more than the tag can list: `tooMany(users listed)` is thrown,
 * so that the last user's leave always knows it is the last.
 */
export const joinShared = (
  ctx: PlanContext,
  name: string,
  kind: SharedKind,
  user: string,
  tooMany: (users: number) => Error,
): void => {
  const users = listed(ctx.link(HOST, name)?.alias, kind);
  if (users === undefined || users.includes(user)) return;
  const next = withUsers(baseOf(ctx, name, kind), [...users, user]);
  if (next === undefined) throw tooMany(users.length);
  retag(ctx, name, next);
};

/**
 * `user` leaves the shared link `name` (a tag of `kind`), in the finish phase: dropped from its
 * tag, or, the last, the link is removed and `removed` said in a note. Nothing when the tag does
 * not list it.
 */
export const leaveShared = (
  ctx: PlanContext,
  name: string,
  kind: SharedKind,
  user: string,
  removed: string,
): void => {
  const alias = ctx.link(HOST, name)?.alias;
  const users = listed(alias, kind);
  if (!users?.includes(user)) return;
  const left = users.filter((u) => u !== user);
  const phase = ctx.phase;
  ctx.phase = PHASE.finish;
  if (left.length === 0) {
    ctx.push(linkDel(HOST, name, `link-del:${name}`));
    ctx.dropLink(HOST, name);
    ctx.notes.push(removed);
  } else
    // fewer users than it listed: they fit
    retag(ctx, name, withUsers(baseOf(ctx, name, kind), left) ?? alias ?? '');
  ctx.phase = phase;
};
