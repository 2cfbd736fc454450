/**
 * The host's NAT state for a recipe: its nftables table (if any), each chain with its rules and
 * their handles, and IPv4 forwarding.
 */
import { readFile } from 'node:fs/promises';
import type { Runner } from '../exec/runner.js';
import { HOST } from '../model/netns.js';
import type { NatChainObserved, NatObserved, NatRuleObserved } from '../model/observed.js';
import { legacyNatTable, natTable } from '../plan/nat.js';

/**
 * The chains of `nft -a list table …` output: each with its type line and its rules, a rule
 * without its trailing `comment "…"` (kept as its id) and `# handle N`.
 * @example parseNatTable(text)[0]?.rules[0]?.handle
 */
export const parseNatTable = (text: string): NatChainObserved[] => {
  const chains: { name: string; header: string; rules: NatRuleObserved[] }[] = [];
  let chain: (typeof chains)[number] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const start = /^chain (\S+) \{/.exec(line);
    if (start) {
      chain = { name: start[1]!, header: '', rules: [] };
      chains.push(chain);
      continue;
    }
    if (!chain) continue;
    if (line === '}') {
      chain = undefined;
      continue;
    }
    if (line === '') continue;
    const handled = /^(.*?)\s*# handle (\d+)$/.exec(line);
    const body = handled ? handled[1]! : line;
    if (/^type \S+ hook /.test(body)) {
      chain.header = body;
      continue;
    }
    if (!handled) continue; // a rule always has a handle with -a; anything else is not a rule
    const commented = /^(.*?)\s+comment "([^"]*)"$/.exec(body);
    chain.rules.push({
      text: commented ? commented[1]! : body,
      id: commented ? commented[2] : undefined,
      handle: Number(handled[2]),
    });
  }
  return chains;
};

/**
 * Is this listing the table of this recipe? Its comment says whose it is (`pf1:r=NAME`).
 * @example ownedBy('table ip pf_a_b { # handle 3\n\tcomment "pf1:r=a-b"\n}', 'a-b') // true
 */
export const ownedBy = (text: string, recipe: string): boolean => ownerOf(text) === recipe;

/** The recipe a table listing's comment names, if any. */
const ownerOf = (text: string): string | undefined => /^\s*comment "pf1:r=([^"]*)"\s*$/m.exec(text)?.[1];

export const observeNat = async (runner: Runner, recipe: string): Promise<NatObserved> => {
  const list = (table: string) => runner.run(['nft', '-a', 'list', 'table', 'ip', table], { netns: HOST });
  const [own, legacy, fwd] = await Promise.all([
    list(natTable(recipe)),
    // the name of earlier versions, where a-b and a_b shared one: read while it is there
    legacyNatTable(recipe) === natTable(recipe) ? undefined : list(legacyNatTable(recipe)),
    readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => '0'),
  ]);
  const ipForward = fwd.trim() === '1';
  if (!own.failed) {
    const owner = ownerOf(own.stdout);
    // a table an earlier version made for another recipe under this name (a-b's pf_a_b, for a_b)
    if (owner !== undefined && owner !== recipe) return { ipForward, foreign: owner };
    return { tableText: own.stdout, chains: parseNatTable(own.stdout), ipForward };
  }
  if (legacy && !legacy.failed && ownedBy(legacy.stdout, recipe))
    return {
      tableText: legacy.stdout,
      chains: parseNatTable(legacy.stdout),
      ipForward,
      table: legacyNatTable(recipe),
    };
  return { ipForward };
};
