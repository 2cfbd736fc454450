/**
 * NAT and published ports for recipe bridges, as Docker does for its own: masquerade for a
 * subnet leaving the host, DNAT from host ports to containers. One nftables table per recipe
 * (ip pf_<recipe>). Each rule carries a comment naming it (pf1:n=<hash of the rule>), so the
 * table is compared with the recipe rule by rule: a rule missing from the kernel is added back
 * (that rule only), one the recipe does not have is deleted by its handle. A missing table or a
 * chain that is missing or hooked elsewhere makes the whole table anew. NAT needs IPv4
 * forwarding, which is turned on.
 */
import type { Cidr, IpAddr } from '../addr.js';
import { HOST } from '../model/netns.js';
import type { Step } from '../model/step.js';
import type { NatChainObserved, NatObserved } from '../model/observed.js';
import { shortHash } from '../names.js';
import { refuse } from '../errors.js';
import type { PlanContext } from './context.js';
import { PHASE } from './phases.js';
import { planNatFirewall } from './firewall.js';

export interface NatBridge {
  readonly name: string;
  readonly nat?: { readonly subnet: Cidr; readonly outInterface?: string | undefined } | undefined;
  readonly publish: readonly {
    readonly port: number;
    readonly to: { readonly address: IpAddr; readonly port: number };
    readonly proto: 'tcp' | 'udp';
  }[];
}

/**
 * The bridges with the ports published to these addresses left out: those of containers removed
 * for good (their part of the recipe released), so their DNAT rules go and stay out.
 */
export const publishedBridges = <B extends NatBridge>(
  bridges: readonly B[],
  released: ReadonlySet<string> | undefined,
): readonly B[] =>
  released?.size
    ? bridges.map((b) => ({ ...b, publish: b.publish.filter((p) => !released.has(p.to.address.address)) }))
    : bridges;

/**
 * sysctl -w net.ipv4.ip_forward=1|0 on the host: on for a recipe's NAT, back off when its
 * destroy finds that the recipe turned it on.
 */
export const ipForwardStep = (on: boolean): Step => {
  const set = (v: boolean): string[] => ['sysctl', '-q', '-w', `net.ipv4.ip_forward=${v ? 1 : 0}`];
  return {
    id: on ? 'ip-forward' : 'ip-forward-off',
    netns: HOST,
    op: { op: 'exec', argv: set(on) },
    describes: on
      ? 'turn on IPv4 forwarding (NAT needs it)'
      : 'turn IPv4 forwarding back off (the recipe turned it on)',
    undo: {
      netns: HOST,
      op: { op: 'exec', argv: set(!on) },
      describes: on ? 'turn IPv4 forwarding back off' : 'turn IPv4 forwarding on again',
    },
  };
};

/**
 * The recipe's nftables table: `pf_` and the name as it is — nft takes "-" and "." in a name, so
 * `a-b` and `a_b` get tables of their own. A character a recipe name cannot have (a name built
 * in code) is written `/HEX/`: "/" is in no recipe name, so no two names share a table.
 * @example natTable('a-b') // 'pf_a-b'
 */
export const natTable = (recipe: string): string =>
  `pf_${recipe.replace(/[^A-Za-z0-9_.-]/gu, (c) => `/${c.codePointAt(0)!.toString(16)}/`)}`;

/**
 * The table name of earlier versions, where "-", "." and "_" were all "_" (`a-b` and `a_b` shared
 * one). Such a table is still read, and used, by the recipe its comment names (observe/nft.ts).
 */
export const legacyNatTable = (recipe: string): string => `pf_${recipe.replace(/[^A-Za-z0-9_]/g, '_')}`;

interface NatChainWanted {
  readonly name: string;
  readonly hook: string;
  readonly header: string;
  readonly rules: readonly { readonly text: string; readonly id: string }[];
}

/** The comment that names a rule: a hash of its text. */
export const natRuleId = (text: string): string => `pf1:n=${shortHash(text, 10)}`;

/** The chains the recipe's bridges need (none when it needs no NAT). */
export const natChains = (bridges: readonly NatBridge[]): NatChainWanted[] => {
  const post: string[] = [];
  const pre: string[] = [];
  for (const b of bridges) {
    if (b.nat) {
      const s = b.nat.subnet.network;
      post.push(
        `ip saddr ${s} ip daddr != ${s}${b.nat.outInterface ? ` oifname "${b.nat.outInterface}"` : ''} masquerade`,
      );
    }
    for (const p of b.publish)
      pre.push(
        `fib daddr type local ${p.proto} dport ${p.port} dnat to ${p.to.address.address}:${p.to.port}`,
      );
  }
  if (post.length === 0 && pre.length === 0) return [];
  const chain = (name: string, hook: string, prio: string, rules: string[]): NatChainWanted => ({
    name,
    hook,
    header: `type nat hook ${hook} priority ${prio}; policy accept;`,
    rules: rules.map((text) => ({ text, id: natRuleId(text) })),
  });
  return [
    chain('postrouting', 'postrouting', 'srcnat', post),
    ...(pre.length
      ? [chain('prerouting', 'prerouting', 'dstnat', pre), chain('output', 'output', '-100', pre)]
      : []),
  ];
};

const ruleLine = (r: { text: string; id: string }): string => `${r.text} comment "${r.id}"`;

/** The table's body (without its comment), or undefined when the recipe needs no NAT. */
export const natRules = (bridges: readonly NatBridge[]): string | undefined => {
  const chains = natChains(bridges);
  if (chains.length === 0) return undefined;
  return chains
    .map(
      (c) =>
        `  chain ${c.name} {\n    ${c.header}\n${c.rules.map((r) => `    ${ruleLine(r)}\n`).join('')}  }\n`,
    )
    .join('');
};

const replaceScript = (table: string, body: string): string =>
  // "table …" then "delete table …" makes the replacement work whether or not it exists, in one transaction
  `table ip ${table}\ndelete table ip ${table}\ntable ip ${table} {\n${body}}\n`;

/** The chains of the observed table match the wanted ones: the same names, each on its hook. */
const sameChains = (wanted: readonly NatChainWanted[], seen: readonly NatChainObserved[]): boolean =>
  wanted.length === seen.length &&
  wanted.every((w) =>
    seen.some((c) => c.name === w.name && new RegExp(`\\btype nat hook ${w.hook}\\b`).test(c.header)),
  );

export const planNat = (
  ctx: PlanContext,
  recipe: string,
  bridges: readonly NatBridge[],
  now: NatObserved,
): void => {
  const wanted = natChains(bridges);
  // the recipe's table name is held by another recipe's table of an earlier version
  if (now.foreign !== undefined) {
    if (wanted.length === 0) return; // not ours: nothing of this recipe to remove there
    throw refuse(
      'E_CONFLICT',
      `nftables table ${natTable(recipe)}`,
      `holds the NAT rules of recipe "${now.foreign}" (named as an earlier version did), not of "${recipe}"; nothing was changed`,
      `apply (or destroy) recipe "${now.foreign}" first: that moves its rules to a table of its own`,
    );
  }
  const table = natTable(recipe);
  // the table as listed: an earlier version's name (observe/nft.ts), moved to the new one below
  const listed = now.table ?? table;
  const phase = ctx.phase;
  ctx.phase = PHASE.finish;
  planNatFirewall(
    ctx,
    HOST,
    recipe,
    bridges.filter((b) => b.nat !== undefined || b.publish.length > 0).map((b) => b.name),
  );
  // Every step's undo puts the table back as it was observed (a rule added has no handle yet).
  const restore: Step['undo'] = now.tableText
    ? {
        netns: HOST,
        op: { op: 'exec', argv: ['nft', '-f', '-'] },
        input: replaceScript(
          listed,
          now.tableText.replace(/^table ip \S+ \{[^\n]*\n/, '').replace(/\}\s*$/, ''),
        ),
        describes: `put back nftables table ${listed}`,
      }
    : {
        netns: HOST,
        op: { op: 'exec', argv: ['nft', 'delete', 'table', 'ip', table] },
        describes: `remove nftables table ${table}`,
      };
  const where = `of recipe "${recipe}" (nftables table ${table})`;
  if (wanted.length === 0) {
    if (now.tableText)
      ctx.push({
        id: `nat-del:${listed}`,
        netns: HOST,
        op: { op: 'exec', argv: ['nft', 'delete', 'table', 'ip', listed] },
        describes: `remove the NAT rules of recipe "${recipe}" (nftables table ${listed})`,
        undo: restore,
      });
    ctx.phase = phase;
    return;
  }
  if (!now.ipForward) ctx.push(ipForwardStep(true));
  const moved = listed !== table;
  if (!now.tableText || !now.chains || !sameChains(wanted, now.chains) || moved) {
    const made = replaceScript(table, `  comment "pf1:r=${recipe}"\n${natRules(bridges) ?? ''}`);
    ctx.push({
      id: `nat:${table}`,
      netns: HOST,
      op: { op: 'exec', argv: ['nft', '-f', '-'] },
      // moved: the new table made and the old one removed in one transaction
      input: moved ? `${made}delete table ip ${listed}\n` : made,
      describes: moved
        ? `move the NAT rules ${where} from nftables table ${listed} (an earlier version's name)`
        : `${now.tableText ? 'update' : 'add'} the NAT rules ${where}`,
      undo:
        moved && typeof restore !== 'string'
          ? {
              ...restore,
              input: `table ip ${table}\ndelete table ip ${table}\n${restore.input ?? ''}`,
              describes: `put back nftables table ${listed}, remove ${table}`,
            }
          : restore,
    });
    ctx.phase = phase;
    return;
  }
  // The table and its chains are there: compare rule by rule.
  let changed = false;
  for (const w of wanted) {
    const seen = now.chains.find((c) => c.name === w.name)!;
    for (const r of w.rules)
      if (!seen.rules.some((o) => o.id === r.id)) {
        changed = true;
        ctx.push({
          id: `nat-rule:${table}:${w.name}:${r.id}`,
          netns: HOST,
          op: { op: 'exec', argv: ['nft', '-f', '-'] },
          input: `add rule ip ${table} ${w.name} ${ruleLine(r)}\n`,
          describes: `add the NAT rule "${r.text}" to chain ${w.name} ${where}`,
          undo: restore,
        });
      }
    const kept = new Set<string>();
    for (const o of seen.rules) {
      if (o.id !== undefined && w.rules.some((r) => r.id === o.id) && !kept.has(o.id)) {
        kept.add(o.id);
        continue;
      }
      changed = true;
      ctx.push({
        id: `nat-rule-del:${table}:${w.name}:${o.handle}`,
        netns: HOST,
        op: { op: 'exec', argv: ['nft', 'delete', 'rule', 'ip', table, w.name, 'handle', String(o.handle)] },
        describes: `remove the NAT rule "${o.text}" from chain ${w.name} ${where} (${o.id !== undefined && kept.has(o.id) ? 'a second copy' : 'not in the recipe'})`,
        undo: restore,
      });
    }
  }
  if (!changed) ctx.noops.push(`NAT rules of recipe "${recipe}" are in place`);
  ctx.phase = phase;
};
