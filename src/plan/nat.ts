/**
 * NAT and published ports for recipe bridges, as Docker does for its own: masquerade for a
 * subnet leaving the host, DNAT from host ports to containers. One nftables table per recipe
 * (ip pf_<recipe>), replaced atomically when it changes; its comment carries a hash of the
 * ruleset so an unchanged one plans nothing. NAT needs IPv4 forwarding, which is turned on.
 */
import type { Cidr, IpAddr } from '../addr.js';
import { HOST } from '../model/netns.js';
import type { Step } from '../model/step.js';
import { shortHash } from '../names.js';
import type { PlanContext } from './context.js';
import { PHASE } from './phases.js';

export interface NatBridge {
  readonly name: string;
  readonly nat?: { readonly subnet: Cidr; readonly outInterface?: string | undefined } | undefined;
  readonly publish: readonly {
    readonly port: number;
    readonly to: { readonly address: IpAddr; readonly port: number };
    readonly proto: 'tcp' | 'udp';
  }[];
}

/** What the host has now. */
export interface NatObserved {
  /** `nft list table ip pf_<recipe>` output, when the table exists. */
  readonly tableText?: string | undefined;
  readonly ipForward: boolean;
}

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

export const natTable = (recipe: string): string => `pf_${recipe.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** The table's body (without its comment), or undefined when the recipe needs no NAT. */
export const natRules = (bridges: readonly NatBridge[]): string | undefined => {
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
  if (post.length === 0 && pre.length === 0) return undefined;
  const chain = (name: string, hook: string, prio: string, rules: string[]): string =>
    `  chain ${name} {\n    type nat hook ${hook} priority ${prio}; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n`;
  return (
    chain('postrouting', 'postrouting', 'srcnat', post) +
    (pre.length
      ? chain('prerouting', 'prerouting', 'dstnat', pre) + chain('output', 'output', '-100', pre)
      : '')
  );
};

const hashOf = (text: string | undefined): string | undefined =>
  /comment "pf1:[^"]*h=([0-9a-z]+)/.exec(text ?? '')?.[1];

const replaceScript = (table: string, body: string): string =>
  // "table …" then "delete table …" makes the replacement work whether or not it exists, in one transaction
  `table ip ${table}\ndelete table ip ${table}\ntable ip ${table} {\n${body}}\n`;

export const planNat = (
  ctx: PlanContext,
  recipe: string,
  bridges: readonly NatBridge[],
  now: NatObserved,
): void => {
  const table = natTable(recipe);
  const rules = natRules(bridges);
  const phase = ctx.phase;
  ctx.phase = PHASE.finish;
  const restore: Step['undo'] = now.tableText
    ? {
        netns: HOST,
        op: { op: 'exec', argv: ['nft', '-f', '-'] },
        input: replaceScript(table, now.tableText.replace(/^table ip \S+ \{\n/, '').replace(/\}\s*$/, '')),
        describes: `put back nftables table ${table}`,
      }
    : {
        netns: HOST,
        op: { op: 'exec', argv: ['nft', 'delete', 'table', 'ip', table] },
        describes: `remove nftables table ${table}`,
      };
  if (rules === undefined) {
    if (now.tableText)
      ctx.push({
        id: `nat-del:${table}`,
        netns: HOST,
        op: { op: 'exec', argv: ['nft', 'delete', 'table', 'ip', table] },
        describes: `remove the NAT rules of recipe "${recipe}" (nftables table ${table})`,
        undo: restore,
      });
  } else {
    const hash = shortHash(rules, 10);
    if (hashOf(now.tableText) !== hash) {
      if (!now.ipForward) ctx.push(ipForwardStep(true));
      const body = `  comment "pf1:r=${recipe}&h=${hash}"\n${rules}`;
      ctx.push({
        id: `nat:${table}`,
        netns: HOST,
        op: { op: 'exec', argv: ['nft', '-f', '-'] },
        input: replaceScript(table, body),
        describes: `${now.tableText ? 'update' : 'add'} the NAT rules of recipe "${recipe}" (nftables table ${table})`,
        undo: restore,
      });
    } else ctx.noops.push(`NAT rules of recipe "${recipe}" are in place`);
  }
  ctx.phase = phase;
};
