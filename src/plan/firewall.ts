/**
 * Bridges and br_netfilter. When bridged frames go through iptables (bridge-nf-call-iptables=1)
 * and the FORWARD policy drops (Docker sets it so), containers on a bridge Docker does not
 * know cannot reach each other. For a bridge pipefitter made, it inserts one tagged accept
 * rule for traffic within the bridge (in DOCKER-USER when Docker has it, which Docker keeps
 * first); for a bridge it only uses, it says what to run.
 *
 * When ip(6)tables could not be read (FirewallState.unknown), whether the policy drops and whether
 * pipefitter's rule is already there are unknown. The plan then neither refuses (pipework never
 * looked at iptables, and a host without it, or with an iptables that cannot read the kernel's
 * tables, mostly drops nothing there) nor adds a rule blind (it would fail the way the read did
 * and roll the whole attach back, and could not know a rule of an earlier run): it says so in a
 * note, with the exact command to run.
 */
import type { NetnsRef } from '../model/netns.js';
import type { FirewallState } from '../model/observed.js';
import type { Step } from '../model/step.js';
import type { PlanContext } from './context.js';

const TAG = 'pf1:bridge=';

const ruleSpec = (chain: string, bridge: string): string[] => [
  chain,
  '-i',
  bridge,
  '-o',
  bridge,
  '-m',
  'comment',
  '--comment',
  `${TAG}${bridge}`,
  '-j',
  'ACCEPT',
];
const tool = (family: 4 | 6): string => (family === 4 ? 'iptables' : 'ip6tables');

/** Why `family`'s rules could not be read, or undefined when they were. */
const unknownWhy = (fw: FirewallState, family: 4 | 6): string | undefined => fw.unknown?.[family];

const noteOnce = (ctx: PlanContext, note: string): void => {
  if (!ctx.notes.includes(note)) ctx.notes.push(note);
};

export const planBridgeFirewall = (
  ctx: PlanContext,
  host: NetnsRef,
  bridge: string,
  owned: boolean,
  label: string,
): void => {
  let fw: FirewallState | undefined = ctx.firewall(host);
  if (!fw) return;
  for (const family of [4, 6] as const) {
    const why = unknownWhy(fw, family);
    if (fw.brNetfilter[family] && why !== undefined) {
      noteOnce(
        ctx,
        `${label}: frames on bridge "${bridge}" pass through ${tool(family)} (br_netfilter is on), but ${tool(family)} could not be read (${why}), ` +
          `so whether its FORWARD policy drops them is unknown and no accept rule was added; ` +
          `if its ports cannot reach each other, run: ${tool(family)} -I ${ruleSpec('FORWARD', bridge).join(' ')}`,
      );
      continue;
    }
    if (!fw.brNetfilter[family] || !fw.forwardDrop[family]) continue;
    if (fw.bridgeRules.some((r) => r.family === family && r.bridge === bridge)) continue;
    const chain: string = fw.dockerUser[family] ? 'DOCKER-USER' : 'FORWARD';
    const spec = ruleSpec(chain, bridge);
    if (!owned) {
      ctx.notes.push(
        `${label}: frames on bridge "${bridge}" pass through ${tool(family)} (br_netfilter) and its FORWARD policy drops them; ` +
          `if its ports cannot reach each other, run: ${tool(family)} -I ${spec.join(' ')}`,
      );
      continue;
    }
    const step: Step = {
      id: `fw-accept:${family}:${bridge}`,
      netns: host,
      op: { op: 'exec', argv: [tool(family), '-w', '-I', ...spec] },
      describes: `let traffic within bridge "${bridge}" through ${tool(family)}'s FORWARD DROP (br_netfilter is on)`,
      undo: {
        netns: host,
        op: { op: 'exec', argv: [tool(family), '-w', '-D', ...spec] },
        describes: `remove the ${tool(family)} accept rule for "${bridge}"`,
      },
    };
    ctx.push(step);
    // kept for the next family: both rules must be known to a later port on the same bridge
    fw = { ...fw, bridgeRules: [...fw.bridgeRules, { family, chain, bridge }] };
    ctx.setFirewall(host, fw);
  }
};

/**
 * Does the step add or remove one of the iptables rules this module plans (every one of its
 * steps has an id starting "fw-")? After one, an earlier reading of the firewall is stale.
 */
export const changesFirewall = (s: Pick<Step, 'id'>): boolean => s.id.startsWith('fw-');

/** The accept rules of a bridge that goes away. */
export const planBridgeFirewallRemoval = (ctx: PlanContext, host: NetnsRef, bridge: string): void => {
  const fw = ctx.firewall(host);
  if (!fw) return;
  for (const family of [4, 6] as const) {
    const why = unknownWhy(fw, family);
    if (why !== undefined && fw.brNetfilter[family])
      noteOnce(
        ctx,
        `bridge "${bridge}": ${tool(family)} could not be read (${why}), so an accept rule pipefitter may have added for it is not removed; ` +
          `look for it with: ${tool(family)} -S | grep ${TAG}${bridge}`,
      );
  }
  for (const r of fw.bridgeRules.filter((x) => x.bridge === bridge)) {
    const spec = ruleSpec(r.chain, bridge);
    ctx.push({
      id: `fw-remove:${r.family}:${bridge}`,
      netns: host,
      op: { op: 'exec', argv: [tool(r.family), '-w', '-D', ...spec] },
      describes: `remove the ${tool(r.family)} accept rule for "${bridge}"`,
      undo: {
        netns: host,
        op: { op: 'exec', argv: [tool(r.family), '-w', '-I', ...spec] },
        describes: `put back the ${tool(r.family)} accept rule for "${bridge}"`,
      },
    });
  }
  ctx.setFirewall(host, { ...fw, bridgeRules: fw.bridgeRules.filter((x) => x.bridge !== bridge) });
};

/**
 * Accept rules of `bridges` that are gone: left by a destroy that stopped after deleting the
 * bridge (its rollback puts the rule back; the bridge it cannot). Nothing needs them any more.
 */
export const planOrphanFirewallRemoval = (
  ctx: PlanContext,
  host: NetnsRef,
  bridges: readonly string[],
): void => {
  const fw = ctx.firewall(host);
  if (!fw) return;
  for (const b of new Set(bridges))
    if (!ctx.link(host, b) && fw.bridgeRules.some((r) => r.bridge === b))
      planBridgeFirewallRemoval(ctx, host, b);
};

/**
 * A recipe's NAT'd bridges and a FORWARD policy that drops (Docker's): the bridge's traffic
 * leaving through another interface, and what comes back (replies, published ports: conntrack's
 * DNAT), is dropped there before any NAT helps. For each such bridge, two tagged IPv4 accept
 * rules (in DOCKER-USER when Docker has it), as Docker has for its own bridges; a recipe's
 * rules for bridges it no longer NATs go.
 */
export const planNatFirewall = (
  ctx: PlanContext,
  host: NetnsRef,
  recipe: string,
  bridges: readonly string[],
): void => {
  const fw = ctx.firewall(host);
  if (!fw) return;
  const have = fw.natRules ?? [];
  const spec = (chain: string, bridge: string, dir: 'out' | 'in'): string[] => [
    chain,
    ...(dir === 'out'
      ? ['-i', bridge, '!', '-o', bridge]
      : ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED,DNAT']),
    '-m',
    'comment',
    '--comment',
    `pf1:nat=${recipe}/${bridge}/${dir}`,
    '-j',
    'ACCEPT',
  ];
  const what = (bridge: string, dir: 'out' | 'in'): string =>
    dir === 'out'
      ? `traffic from bridge "${bridge}" out`
      : `replies and published ports into bridge "${bridge}"`;
  const added: NonNullable<typeof fw.natRules>[number][] = [];
  const why = unknownWhy(fw, 4);
  if (why !== undefined)
    for (const bridge of bridges)
      noteOnce(
        ctx,
        `recipe "${recipe}" NATs bridge "${bridge}", but iptables could not be read (${why}), so whether its FORWARD policy drops that traffic is unknown and no accept rule was added; ` +
          `if the bridge cannot reach out, run: iptables -I ${spec('FORWARD', bridge, 'out').join(' ')}; iptables -I ${spec('FORWARD', bridge, 'in').join(' ')}`,
      );
  if (fw.forwardDrop[4] && why === undefined)
    for (const bridge of bridges)
      for (const dir of ['out', 'in'] as const) {
        if (have.some((r) => r.recipe === recipe && r.bridge === bridge && r.dir === dir)) continue;
        const chain = fw.dockerUser[4] ? 'DOCKER-USER' : 'FORWARD';
        ctx.push({
          id: `fw-nat-${dir}:${bridge}`,
          netns: host,
          op: { op: 'exec', argv: ['iptables', '-w', '-I', ...spec(chain, bridge, dir)] },
          describes: `let ${what(bridge, dir)} through iptables' FORWARD DROP (recipe "${recipe}" NATs it)`,
          undo: {
            netns: host,
            op: { op: 'exec', argv: ['iptables', '-w', '-D', ...spec(chain, bridge, dir)] },
            describes: `remove the iptables accept rule for ${what(bridge, dir)}`,
          },
        });
        added.push({ chain, recipe, bridge, dir });
      }
  const gone = have.filter((r) => r.recipe === recipe && !bridges.includes(r.bridge));
  for (const r of gone)
    ctx.push({
      id: `fw-nat-remove-${r.dir}:${r.bridge}`,
      netns: host,
      op: { op: 'exec', argv: ['iptables', '-w', '-D', ...spec(r.chain, r.bridge, r.dir)] },
      describes: `remove the iptables accept rule for ${what(r.bridge, r.dir)} (recipe "${recipe}")`,
      undo: {
        netns: host,
        op: { op: 'exec', argv: ['iptables', '-w', '-I', ...spec(r.chain, r.bridge, r.dir)] },
        describes: `put back the iptables accept rule for ${what(r.bridge, r.dir)}`,
      },
    });
  if (added.length || gone.length)
    ctx.setFirewall(host, { ...fw, natRules: [...have.filter((r) => !gone.includes(r)), ...added] });
};
