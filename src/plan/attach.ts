/** attach: Attachment[] × observed state → steps. */
import { refuse } from '../errors.js';
import type { Attachment } from '../model/attachment.js';
import type { ObservedState } from '../model/observed.js';
import { decodeTag } from '../model/owner.js';
import type { Plan } from '../model/step.js';
import type { ResolvedTarget } from '../model/target.js';
import type { PlanContext } from './context.js';
import { PlanContext as Context } from './context.js';
import { planRemoveIface } from './detach.js';
import { PHASE } from './phases.js';
import { resolveAuto } from './auto.js';
import { compareExisting, repairExisting } from './existing.js';
import { createAttachment } from './create.js';
import { shimName } from './host-shim.js';
import type { AttachPlanOptions } from './options.js';

export type { AttachPlanOptions } from './options.js';

/**
 * Plan attachments against observed state.
 * @example planAttach([attachment], observed, { replace: false }).steps.map((s) => s.argv)
 */
export const planAttach = (
  atts: readonly Attachment[],
  observed: ObservedState,
  opts: AttachPlanOptions = {},
): Plan => {
  const ctx = new Context(observed);
  for (const a of atts) planAttachment(ctx, a, opts);
  noteLonePorts(ctx);
  return ctx.finish();
};

/**
 * A container on a bridge that has no other port has carrier but nobody to talk to except the
 * bridge itself: worth a line, since it is the first thing to check when nothing answers.
 */
/**
 * The shared host links a macvlan or ipvlan uses: PARENT.VLAN when it asks for a VLAN, and the
 * host shim on its parent when it asks for one. A replacement of the same interface keeps them.
 */
const sharedKept = (link: Attachment['link']): string[] => {
  if (link.kind !== 'macvlan' && link.kind !== 'ipvlan') return [];
  const parent = link.vlan === undefined ? link.parent : `${link.parent}.${link.vlan}`;
  return [
    ...(link.vlan === undefined ? [] : [parent]),
    ...(link.kind === 'macvlan' && link.hostShim ? [shimName(parent)] : []),
  ];
};

const noteLonePorts = (ctx: PlanContext): void => {
  const host = ctx.links({ kind: 'host' });
  for (const port of host.filter((l) => l.planned && l.kind === 'veth' && l.master !== undefined)) {
    const br = host.find((l) => l.name === port.master);
    if (!br || br.kind !== 'bridge' || host.some((l) => l !== port && l.master === br.name)) continue;
    const tag = decodeTag(port.alias);
    const who = tag?.ifname !== undefined ? `${tag.target ?? '?'} ${tag.ifname} ` : '';
    ctx.notes.push(
      `bridge "${br.name}" has no other port: ${who}has carrier but reaches only the bridge${br.addrs.some((a) => a.scope === 'global') ? ' and, through its address, the host' : ''} until something else joins it`,
    );
  }
};

export const planAttachment = (ctx: PlanContext, given: Attachment, opts: AttachPlanOptions): void => {
  const a = resolveAuto(ctx, given);
  const t = a.target;
  const ns = t.netns;
  const ifname = a.iface.ifname;
  if (!ctx.isObserved(ns)) throw new Error(`internal: ${t.label} was not observed before planning`);
  if (a.link.kind === 'pair') {
    if (!ctx.isObserved(a.link.peer.netns))
      throw new Error(`internal: ${a.link.peer.label} was not observed before planning`);
    if (a.link.peer.id === t.id)
      throw refuse(
        'E_CONFLICT',
        `link ${t.label}:${ifname}`,
        'both ends are in the same namespace',
        'give two different containers',
      );
  }

  const existing = ctx.link(ns, ifname);
  if (existing) {
    if (existing.planned)
      throw refuse(
        'E_CONFLICT',
        `${t.label}: ${ifname}`,
        'asked for twice in the same request',
        'give each interface its own --ifname',
      );
    const mismatch = compareExisting(ctx, a, existing);
    if (mismatch === undefined) {
      repairExisting(ctx, a, existing, opts);
      return;
    }
    if (!opts.replace)
      throw refuse(
        'E_CONFLICT',
        `${t.label}: interface "${ifname}"`,
        `already exists with other settings (${mismatch})`,
        `detach it first (pipefitter detach ${t.label} --ifname ${ifname}), choose another --ifname, or pass --replace`,
      );
    ctx.notes.push(
      `${t.label}: --replace removes the existing "${ifname}" first; that removal cannot be undone if a later step fails`,
    );
    planRemoveIface(ctx, t, existing, {
      force: true,
      phase: PHASE.prepare,
      // the bridge the replacement joins stays; one it leaves goes with its last port, as on detach
      ...(a.link.kind === 'bridge' ? { keepBridge: a.link.bridge } : {}),
      // so do the shared VLAN sub-interface and the host shim it uses (the same user as the old one)
      keepShared: sharedKept(a.link),
    });
  }
  if (a.link.kind === 'pair') {
    const peerExisting = ctx.link(a.link.peer.netns, a.link.peerIface.ifname);
    if (peerExisting) {
      if (!opts.replace || peerExisting.planned)
        throw refuse(
          'E_CONFLICT',
          `${a.link.peer.label}: interface "${a.link.peerIface.ifname}"`,
          'already exists',
          `choose another peer interface name, or pass --replace`,
        );
      planRemoveIface(ctx, a.link.peer, peerExisting, { force: true, phase: PHASE.prepare });
    }
  }
  createAttachment(ctx, a, opts);
};

export type { ResolvedTarget };
