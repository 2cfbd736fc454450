/** The bridge of a veth attachment: made or adopted, up, its addresses and its firewall rule. */
import { refuse } from '../errors.js';
import type { LinkIntent } from '../model/attachment.js';
import { HOST } from '../model/netns.js';
import { decodeTag, encodeTag } from '../model/owner.js';
import {
  bridgeSetVlanFiltering,
  bridgeVlanAdd,
  bridgeVlanDel,
  linkAddBridge,
  linkSetAlias,
  linkSetDownCmd,
  linkSetUp,
  linkSetMtu,
  addrAdd,
  addrAddCmd,
  addrDel,
  addrDelCmd,
  addrOf,
  bridgeSetVlanFilteringCmd,
  observedAddrOf,
} from './commands.js';
import { PHASE } from './phases.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { plannedLink } from './context.js';
import { planBridgeFirewall } from './firewall.js';
import { sameAddress } from '../addr.js';

/** Make sure the bridge exists and is up; create it (tagged as pipefitter's) when allowed. */
export const ensureBridge = (
  ctx: PlanContext,
  link: Extract<LinkIntent, { kind: 'bridge' }>,
  label: string,
  owner?: string,
): ProjectedLink => {
  const br = ctx.link(HOST, link.bridge);
  if (br) {
    if (br.kind !== 'bridge')
      throw refuse(
        'E_CONFLICT',
        `bridge "${link.bridge}"`,
        `a host interface of that name exists and is ${br.kind ? `a ${br.kind}` : 'not a bridge'}`,
        'choose another bridge name',
      );
    if (!br.up) {
      ctx.push(linkSetUp(HOST, link.bridge, br.planned ? 'covered' : linkSetDownCmd(HOST, link.bridge)));
      ctx.updateLink(HOST, link.bridge, { up: true });
    }
    // the addresses as planned so far: each one added joins them (not `br`'s, read before)
    let addrs = br.addrs;
    for (const c of link.bridgeAddrs) {
      if (addrs.some((o) => o.prefix === c.prefix && sameAddress(o.address, c.address))) continue;
      const a = addrOf(link.bridge, c);
      ctx.push(addrAdd(HOST, a, br.planned ? 'covered' : addrDelCmd(HOST, a)));
      addrs = [...addrs, { family: c.family, address: c.address, prefix: c.prefix, scope: 'global' }];
      ctx.updateLink(HOST, link.bridge, { addrs });
    }
    const ours = decodeTag(br.alias)?.kind === 'bridge';
    if (wantsFiltering(link) && !br.vlanFiltering) {
      // Turning filtering on changes the bridge for every port; only on a bridge pipefitter made.
      if (!ours && !br.planned)
        throw refuse(
          'E_CONFLICT',
          `bridge "${link.bridge}"`,
          'has VLAN filtering off, and pipefitter did not make it',
          `turn it on yourself (ip link set ${link.bridge} type bridge vlan_filtering 1), then retry`,
        );
      ctx.push(
        bridgeSetVlanFiltering(
          HOST,
          link.bridge,
          true,
          br.planned ? 'covered' : bridgeSetVlanFilteringCmd(HOST, link.bridge, false),
        ),
      );
      ctx.updateLink(HOST, link.bridge, { vlanFiltering: true });
    }
    planBridgeFirewall(ctx, HOST, link.bridge, ours, label);
    return ctx.link(HOST, link.bridge) ?? br;
  }
  if (!link.create)
    throw refuse(
      'E_NO_HOST_IF',
      `bridge "${link.bridge}"`,
      'does not exist on the host',
      'create it, or leave out --no-create-bridge',
    );
  const alias = encodeTag({ kind: 'bridge', ...(owner ? { recipe: owner } : {}) });
  const filtering = wantsFiltering(link);
  ctx.push(linkAddBridge(HOST, link.bridge, filtering));
  ctx.push(linkSetAlias(HOST, link.bridge, alias, 'covered'));
  ctx.putLink(HOST, {
    ...plannedLink({ name: link.bridge, kind: 'bridge', alias }),
    vlanFiltering: filtering,
  });
  if (link.bridgeMtu !== undefined) ctx.push(linkSetMtu(HOST, link.bridge, link.bridgeMtu, 'covered'));
  for (const c of link.bridgeAddrs) ctx.push(addrAdd(HOST, addrOf(link.bridge, c), 'covered'));
  ctx.push(linkSetUp(HOST, link.bridge, 'covered'));
  ctx.updateLink(HOST, link.bridge, {
    up: true,
    addrs: link.bridgeAddrs.map((c) => ({
      family: c.family,
      address: c.address,
      prefix: c.prefix,
      scope: 'global',
    })),
  });
  ctx.notes.push(`${label}: bridge "${link.bridge}" does not exist and is created`);
  planBridgeFirewall(ctx, HOST, link.bridge, true, label);
  return ctx.link(HOST, link.bridge) as ProjectedLink;
};

const wantsFiltering = (link: Extract<LinkIntent, { kind: 'bridge' }>): boolean =>
  link.vlanFiltering === true || link.vlan !== undefined || (link.trunk ?? []).length > 0;

/**
 * A new bridge port's VLANs: access (PVID, untagged) and/or tagged trunk VLANs. The kernel puts
 * every new port in VLAN 1 untagged (default_pvid); an access port of another VLAN leaves it.
 */
export const planPortVlans = (
  ctx: PlanContext,
  port: string,
  access: number | undefined,
  trunk: readonly number[],
): void => {
  if (access === undefined && trunk.length === 0) return;
  if (access !== undefined) ctx.push(bridgeVlanAdd(HOST, port, access, true, 'covered'));
  for (const v of trunk) if (v !== access) ctx.push(bridgeVlanAdd(HOST, port, v, false, 'covered'));
  if (access !== 1 && !trunk.includes(1)) ctx.push(bridgeVlanDel(HOST, port, 1, 'covered'));
};

/** The bridge addresses a port's tag lists (`ba`), by their `A/P` text. */
export const portBridgeAddrs = (alias: string | undefined): string[] => [
  ...(decodeTag(alias)?.bridgeAddrs ?? []),
];

const recordedByPorts = (ctx: PlanContext, bridge: string, text: string): boolean =>
  ctx.links(HOST).some((h) => h.master === bridge && portBridgeAddrs(h.alias).includes(text));

/**
 * Which of an attachment's --bridge-ip addresses it answers for, decided before ensureBridge
 * adds the missing ones: those it adds, and those another pipefitter port answers for already
 * (shared). An address that was on the bridge before anyone asked is the operator's: never
 * recorded, never removed. The last port answering for one takes it off on detach.
 */
export const ownedBridgeAddrs = (
  ctx: PlanContext,
  link: Extract<LinkIntent, { kind: 'bridge' }>,
): string[] => {
  const br = ctx.link(HOST, link.bridge);
  return link.bridgeAddrs
    .filter(
      (c) =>
        !br ||
        br.planned ||
        !br.addrs.some((o) => o.prefix === c.prefix && sameAddress(o.address, c.address)) ||
        recordedByPorts(ctx, link.bridge, c.text),
    )
    .map((c) => c.text);
};

/** A port leaves a bridge that stays: take off the addresses no remaining port answers for. */
export const releaseBridgeAddrs = (
  ctx: PlanContext,
  bridge: string,
  port: { readonly alias?: string | undefined } | undefined,
): void => {
  const br = ctx.link(HOST, bridge);
  if (!br) return;
  for (const text of portBridgeAddrs(port?.alias)) {
    if (recordedByPorts(ctx, bridge, text)) continue;
    const o = br.addrs.find((x) => `${x.address}/${x.prefix}` === text);
    if (!o) continue;
    const a = observedAddrOf(bridge, o);
    ctx.push(addrDel(HOST, a, addrAddCmd(HOST, a)), PHASE.finish);
    ctx.updateLink(HOST, bridge, { addrs: br.addrs.filter((x) => x !== o) });
    ctx.notes.push(`${text} was added to bridge "${bridge}" for this attachment; it is removed`);
  }
};
