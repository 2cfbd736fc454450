/**
 * A recipe's whole difference in one plan: namespaces it makes, its bridges, every
 * interface (through the attach planner), NAT, and — the other way — whatever it owns that it
 * no longer asks for. `destroy` is this plan for a recipe that asks for nothing.
 */
import type { Cidr } from '../addr.js';
import type { Attachment, LinkIntent } from '../model/attachment.js';
import type { IfaceSpec } from '../model/iface.js';
import { HOST, netnsKey } from '../model/netns.js';
import type { NetnsState, ObservedState } from '../model/observed.js';
import { decodeTag } from '../model/owner.js';
import type { Recipe, RecipeIface, RecipeLinkEnd, RecipeNetwork } from '../model/recipe.js';
import { ipamKey } from '../model/recipe.js';
import type { Op, Plan, Step } from '../model/step.js';
import type { ResolvedTarget } from '../model/target.js';
import { linkDel } from './commands.js';
import { planAttachment } from './attach.js';
import { ensureBridge } from './bridge.js';
import { planBridgeFirewallRemoval, planOrphanFirewallRemoval } from './firewall.js';
import { PlanContext } from './context.js';
import { planRemoveIface } from './detach.js';
import type { NatObserved } from '../model/observed.js';
import { planNat, publishedBridges } from './nat.js';
import type { AttachPlanOptions } from './options.js';
import { PHASE } from './phases.js';

export interface RecipePlanInput {
  readonly recipe: Recipe;
  /** Containers that are there (or will be made), by container name. */
  readonly targets: ReadonlyMap<string, ResolvedTarget>;
  /** Named namespaces this plan makes first (create: true, missing). */
  readonly create: readonly string[];
  /** Named namespaces the recipe made earlier and no longer asks for (from its state). */
  readonly dropNamespaces: readonly string[];
  /** Targets the recipe touched earlier and no longer names: only pruned. */
  readonly former: readonly ResolvedTarget[];
  /** Addresses of `auto` interfaces, by ipamKey. */
  readonly auto: ReadonlyMap<string, Cidr>;
  readonly observed: ObservedState;
  readonly nat: NatObserved;
  readonly options?: AttachPlanOptions | undefined;
  /** Targets where the recipe turned forwarding on and no longer wants it. */
  readonly unforward?: readonly ResolvedTarget[] | undefined;
  /** Bridges of the recipe whose accept rules go when the bridge is gone (destroy). */
  readonly sweepFirewall?: readonly string[] | undefined;
  /**
   * Addresses of containers removed for good (their part released): no port is published to
   * them, so their DNAT rules go and are not added back while they are gone.
   */
  readonly released?: ReadonlySet<string> | undefined;
}

/** sysctl net.ipv4.conf.all.forwarding / net.ipv6.conf.all.forwarding inside a target. */
export const forwardingStep = (t: ResolvedTarget, on: boolean): Step => {
  const op = (v: string): Op => ({
    op: 'sysctl',
    set: [
      { key: 'net.ipv4.conf.all.forwarding', value: v },
      { key: 'net.ipv6.conf.all.forwarding', value: v },
    ],
    missingOk: false,
  });
  return {
    // qualified by its namespace when planned (PlanContext.push)
    id: 'forwarding',
    netns: t.netns,
    op: op(on ? '1' : '0'),
    describes: `turn ${on ? 'on' : 'off'} forwarding`,
    undo: {
      netns: t.netns,
      op: op(on ? '0' : '1'),
      describes: `turn forwarding ${on ? 'off' : 'on'} again`,
    },
  };
};

/** A namespace made by this plan starts with a loopback that is down, and nothing else. */
export const freshNetns: NetnsState = {
  links: [
    { ifindex: 1, name: 'lo', up: false, operstate: 'DOWN', mtu: 65536, mac: '00:00:00:00:00:00', addrs: [] },
  ],
  routes: [],
};

const linkIntentOf = (r: Recipe, net: RecipeNetwork): LinkIntent => {
  switch (net.kind) {
    case 'bridge': {
      const b = r.bridges.find((x) => x.name === net.bridge);
      return {
        kind: 'bridge',
        bridge: net.bridge,
        create: true,
        bridgeAddrs: b?.addrs ?? [],
        bridgeMtu: b?.mtu,
        vlan: net.vlan,
        trunk: net.trunk,
      };
    }
    case 'macvlan':
      return {
        kind: 'macvlan',
        parent: net.parent,
        mode: net.mode,
        vlan: net.vlan,
        ...(net.hostShim ? { hostShim: true } : {}),
      };
    case 'ipvlan':
      return { kind: 'ipvlan', parent: net.parent, mode: net.mode, flag: 'bridge', vlan: net.vlan };
    case 'vlan':
      return { kind: 'vlan', parent: net.parent, vlanId: net.vlan, parentIn: net.inside ? 'target' : 'host' };
  }
};

const ifaceOf = (
  r: Recipe,
  container: string,
  i: RecipeIface,
  auto: ReadonlyMap<string, Cidr>,
): IfaceSpec => {
  const a = i.addressing;
  let addrs: readonly Cidr[] = [];
  if (a.kind === 'static') addrs = a.addrs;
  if (a.kind === 'auto') {
    const got = auto.get(ipamKey(r.name, container, i.ifname));
    if (!got) throw new Error(`internal: no address allocated for ${container}.${i.ifname}`);
    addrs = [got];
  }
  return {
    ifname: i.ifname,
    mac: i.mac,
    mtu: i.mtu,
    addrs,
    gateways: i.gateway ? [i.gateway] : [],
    routes: i.routes,
    announce: true,
    dhcp: a.kind === 'dhcp' ? a.dhcp : undefined,
  };
};

/** The recipe as attachments, for the containers that are there. */
export const recipeAttachments = (
  input: Pick<RecipePlanInput, 'recipe' | 'targets' | 'auto'>,
): Attachment[] => {
  const r = input.recipe;
  const out: Attachment[] = [];
  for (const c of r.containers) {
    const target = input.targets.get(c.name);
    if (!target) continue;
    for (const i of c.interfaces) {
      const net = r.networks.find((n) => n.name === i.network);
      if (!net) throw new Error(`internal: network ${i.network} vanished after validation`);
      out.push({
        target,
        iface: ifaceOf(r, c.name, i, input.auto),
        link: linkIntentOf(r, net),
        owner: r.name,
      });
    }
  }
  for (const l of r.links) {
    const a = input.targets.get(l.a.container);
    const b = input.targets.get(l.b.container);
    if (!a || !b) continue;
    const end = (e: RecipeLinkEnd): IfaceSpec => ({
      ifname: e.ifname,
      mtu: l.mtu,
      addrs: e.addr ? [e.addr] : [],
      gateways: e.gateway ? [e.gateway] : [],
      routes: e.routes,
      announce: true,
    });
    out.push({
      target: a,
      iface: end(l.a),
      link: { kind: 'pair', peer: b, peerIface: end(l.b) },
      owner: r.name,
    });
  }
  return out;
};

/**
 * Plan a recipe against the observed world.
 * @example planRecipe({ recipe, targets, create: [], dropNamespaces: [], former: [], auto, observed, nat }).steps
 */
export const planRecipe = (input: RecipePlanInput): Plan => {
  const r = input.recipe;
  const observed = new Map(input.observed);
  for (const name of input.create) observed.set(netnsKey({ kind: 'name', name }), freshNetns);
  const ctx = new PlanContext(observed);

  // 1. namespaces the recipe makes
  ctx.phase = PHASE.prepare;
  for (const name of input.create) {
    ctx.push({
      id: `netns-add:${name}`,
      netns: HOST,
      op: { op: 'exec', argv: ['ip', 'netns', 'add', name] },
      affects: [{ kind: 'name', name }],
      describes: `make network namespace "${name}"`,
      undo: {
        netns: HOST,
        op: { op: 'exec', argv: ['ip', 'netns', 'del', name] },
        describes: `remove network namespace "${name}"`,
      },
    });
    ctx.push({
      id: `netns-lo:${name}`,
      netns: { kind: 'name', name },
      op: { op: 'exec', argv: ['ip', 'link', 'set', 'dev', 'lo', 'up'] },
      describes: `bring lo up in "${name}"`,
      undo: 'covered',
    });
    ctx.updateLink({ kind: 'name', name }, 'lo', { up: true });
  }

  // 2. bridges it declares (also those no interface uses yet)
  for (const b of r.bridges)
    ensureBridge(
      ctx,
      {
        kind: 'bridge',
        bridge: b.name,
        create: true,
        bridgeAddrs: b.addrs,
        bridgeMtu: b.mtu,
        vlan: undefined,
        trunk: [],
        vlanFiltering: b.vlanFiltering,
      },
      `recipe ${r.name}`,
      r.name,
    );

  // 3. every interface and link, and forwarding in routers
  const atts = recipeAttachments(input);
  for (const a of atts) planAttachment(ctx, a, input.options ?? {});
  ctx.phase = PHASE.inside;
  for (const c of r.containers) {
    const t = input.targets.get(c.name);
    if (!t || !c.forwarding) continue;
    const now = input.create.includes(t.netns.kind === 'name' ? t.netns.name : '')
      ? undefined
      : observed.get(netnsKey(t.netns))?.forwarding;
    if (now?.[4] && now[6]) continue;
    ctx.push(forwardingStep(t, true));
  }
  for (const t of input.unforward ?? []) {
    if (observed.get(netnsKey(t.netns))?.forwarding?.[4]) ctx.push(forwardingStep(t, false));
  }

  // 4. what it owns and no longer asks for
  const wanted = new Set(
    atts.flatMap((a) => [
      `${a.target.id}/${a.iface.ifname}`,
      ...(a.link.kind === 'pair' ? [`${a.link.peer.id}/${a.link.peerIface.ifname}`] : []),
    ]),
  );
  const pruned = new Set<string>();
  const everyTarget = [...input.targets.values(), ...input.former];
  for (const t of everyTarget) {
    if (input.create.includes(t.netns.kind === 'name' ? t.netns.name : '')) continue;
    // links on a parent inside the same namespace (VLANs on a trunk) first: deleting the parent takes them along
    const links = [...ctx.links(t.netns)].sort(
      (x, y) => Number(y.parent !== undefined) - Number(x.parent !== undefined),
    );
    for (const l of links) {
      if (!ctx.link(t.netns, l.name)) continue;
      const tag = decodeTag(l.alias);
      if (
        tag?.recipe !== r.name ||
        tag.kind === 'veth-host' ||
        tag.kind === 'bridge' ||
        tag.kind === 'vlan-shared' ||
        tag.kind === 'macvlan-shim'
      )
        continue;
      if (wanted.has(`${t.id}/${l.name}`) || pruned.has(`${t.id}/${l.name}`)) continue;
      // the other end of a pair goes with it, and the default routes it replaced come back
      const peer = tag.kind === 'pair' ? everyTarget.find((x) => x.id === tag.peer) : undefined;
      planRemoveIface(ctx, t, l, { force: false, peer });
      pruned.add(`${t.id}/${l.name}`);
      if (tag.kind === 'pair' && tag.peer) pruned.add(`${tag.peer}/${tag.peerIfname ?? ''}`);
    }
  }
  // bridges it made and no longer declares or uses, once they have no ports
  const usedBridges = new Set([
    ...r.bridges.map((b) => b.name as string),
    ...atts.flatMap((a) => (a.link.kind === 'bridge' ? [a.link.bridge as string] : [])),
  ]);
  for (const l of ctx.links(HOST)) {
    const tag = decodeTag(l.alias);
    if (tag?.kind !== 'bridge' || tag.recipe !== r.name || usedBridges.has(l.name)) continue;
    if (ctx.links(HOST).some((p) => p.master === l.name)) {
      ctx.notes.push(`bridge "${l.name}" of recipe "${r.name}" still has ports of others; it stays`);
      continue;
    }
    ctx.phase = PHASE.finish;
    // its accept rule first, as detach does with the last port (it stayed behind before)
    planBridgeFirewallRemoval(ctx, HOST, l.name);
    ctx.push(linkDel(HOST, l.name, `link-del:${l.name}`));
    ctx.dropLink(HOST, l.name);
  }
  if (input.sweepFirewall) planOrphanFirewallRemoval(ctx, HOST, input.sweepFirewall);

  // 5. NAT and published ports
  planNat(ctx, r.name, publishedBridges(r.bridges, input.released), input.nat);

  // 6. namespaces it made and no longer names
  ctx.phase = PHASE.finish;
  for (const name of input.dropNamespaces)
    ctx.push({
      id: `netns-del:${name}`,
      netns: HOST,
      op: { op: 'exec', argv: ['ip', 'netns', 'del', name] },
      affects: [{ kind: 'name', name }],
      describes: `remove network namespace "${name}" (made by recipe "${r.name}")`,
      undo: 'irreversible',
    });
  return ctx.finish();
};
