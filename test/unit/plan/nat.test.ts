/**
 * NAT drift, rule by rule: the recipe's table as nft lists it (captured with nftables 1.0.6 from
 * a table pipefitter made) is compared with the recipe; a rule deleted by hand is put back alone,
 * one added by hand is removed by its handle, and a table or chain gone makes the table anew.
 */
import { argvOf } from '../../../src/render/ip.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, parseIp } from '../../../src/addr.js';
import type { NatBridge } from '../../../src/plan/nat.js';
import type { NatObserved } from '../../../src/model/observed.js';
import { natChains, natRuleId, natRules, planNat } from '../../../src/plan/nat.js';
import { PlanContext } from '../../../src/plan/context.js';
import { ownedBy, parseNatTable } from '../../../src/observe/nft.js';
import { parseIptablesS } from '../../../src/observe/firewall.js';
import type { FirewallState } from '../../../src/model/observed.js';
import { nsState, observed, text } from '../../helpers/plan-fixtures.js';

const bridges: NatBridge[] = [
  {
    name: 'br0',
    nat: { subnet: parseCidr('192.0.2.0/24', 'subnet') },
    publish: [{ port: 8080, to: { address: parseIp('192.0.2.10', 'to'), port: 80 }, proto: 'tcp' }],
  },
];

const MASQ = 'ip saddr 192.0.2.0/24 ip daddr != 192.0.2.0/24 masquerade';
const DNAT = 'fib daddr type local tcp dport 8080 dnat to 192.0.2.10:80';

/** `nft -a list table ip pf_lab` of the table made from `bridges` (tabs as nft prints them). */
const LISTING = `table ip pf_lab { # handle 1
\tcomment "pf1:r=lab"
\tchain postrouting { # handle 1
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\t${MASQ} comment "${natRuleId(MASQ)}" # handle 4
\t}

\tchain prerouting { # handle 2
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\t${DNAT} comment "${natRuleId(DNAT)}" # handle 5
\t}

\tchain output { # handle 3
\t\ttype nat hook output priority -100; policy accept;
\t\t${DNAT} comment "${natRuleId(DNAT)}" # handle 6
\t}
}
`;

const seen = (text: string, ipForward = true): NatObserved => ({
  tableText: text,
  chains: parseNatTable(text),
  ipForward,
});

const plan = (now: NatObserved, b: readonly NatBridge[] = bridges) => {
  const ctx = new PlanContext(observed(nsState()));
  planNat(ctx, 'lab', b, now);
  return ctx.finish();
};

/** The rule lines of the listing, without the one whose handle is `handle`. */
const without = (handle: number): string =>
  LISTING.split('\n')
    .filter((l) => !l.endsWith(`# handle ${handle}`))
    .join('\n');

test('the ids the listing was captured with are the ones the recipe makes', () => {
  assert.equal(natRuleId(MASQ), 'pf1:n=hpeijt1890');
  assert.equal(natRuleId(DNAT), 'pf1:n=2m3x3m9nrn');
  assert.match(natRules(bridges) ?? '', /masquerade comment "pf1:n=hpeijt1890"\n/);
});

test('parseNatTable: chains, their type line, rules with their comment and handle', () => {
  assert.deepEqual(parseNatTable(LISTING), [
    {
      name: 'postrouting',
      header: 'type nat hook postrouting priority srcnat; policy accept;',
      rules: [{ text: MASQ, id: natRuleId(MASQ), handle: 4 }],
    },
    {
      name: 'prerouting',
      header: 'type nat hook prerouting priority dstnat; policy accept;',
      rules: [{ text: DNAT, id: natRuleId(DNAT), handle: 5 }],
    },
    {
      name: 'output',
      header: 'type nat hook output priority -100; policy accept;',
      rules: [{ text: DNAT, id: natRuleId(DNAT), handle: 6 }],
    },
  ]);
  // a rule added by hand has no comment
  const hand = LISTING.replace(
    '# handle 4\n',
    '# handle 4\n\t\tip saddr 198.51.100.0/24 masquerade # handle 7\n',
  );
  assert.deepEqual(parseNatTable(hand)[0]?.rules[1], {
    text: 'ip saddr 198.51.100.0/24 masquerade',
    id: undefined,
    handle: 7,
  });
});

test('in place: nothing to do', () => {
  const p = plan(seen(LISTING));
  assert.deepEqual(p.steps, []);
  assert.deepEqual(p.noops, ['NAT rules of recipe "lab" are in place']);
});

test('one rule deleted by hand: exactly that rule is added back, named; the undo puts the table back', () => {
  for (const [handle, chain, text] of [
    [4, 'postrouting', MASQ],
    [5, 'prerouting', DNAT],
    [6, 'output', DNAT],
  ] as const) {
    const p = plan(seen(without(handle)));
    assert.equal(p.steps.length, 1, `handle ${handle}`);
    const s = p.steps[0]!;
    assert.deepEqual(argvOf(s), ['nft', '-f', '-']);
    assert.equal(s.input, `add rule ip pf_lab ${chain} ${text} comment "${natRuleId(text)}"\n`);
    assert.equal(
      s.describes,
      `add the NAT rule "${text}" to chain ${chain} of recipe "lab" (nftables table pf_lab)`,
    );
    assert.ok(typeof s.undo !== 'string');
    assert.deepEqual(argvOf(s.undo), ['nft', '-f', '-']);
    // the undo replaces the table with what was listed (its # handle comments are comments to nft)
    assert.ok(s.undo.input?.startsWith('table ip pf_lab\ndelete table ip pf_lab\ntable ip pf_lab {\n'));
    assert.ok(!s.undo.input?.includes(`# handle ${handle}`), 'the table as it was: without that rule');
  }
});

test('a rule added by hand, or a second copy, is deleted by its handle', () => {
  const hand = LISTING.replace(
    '# handle 4\n',
    `# handle 4\n\t\tip saddr 198.51.100.0/24 masquerade # handle 7\n\t\t${MASQ} comment "${natRuleId(MASQ)}" # handle 8\n`,
  );
  const p = plan(seen(hand));
  assert.deepEqual(
    p.steps.map((s) => [text(argvOf(s)), s.describes]),
    [
      [
        'nft delete rule ip pf_lab postrouting handle 7',
        'remove the NAT rule "ip saddr 198.51.100.0/24 masquerade" from chain postrouting of recipe "lab" (nftables table pf_lab) (not in the recipe)',
      ],
      [
        'nft delete rule ip pf_lab postrouting handle 8',
        `remove the NAT rule "${MASQ}" from chain postrouting of recipe "lab" (nftables table pf_lab) (a second copy)`,
      ],
    ],
  );
});

test('the recipe changed: a second bridge with NAT is one rule added; a port no longer published takes its chains, so the table is made anew', () => {
  const more = plan(seen(LISTING), [
    ...bridges,
    { name: 'br1', nat: { subnet: parseCidr('198.51.100.0/24', 'subnet') }, publish: [] },
  ]);
  assert.deepEqual(
    more.steps.map((s) => s.input),
    [
      `add rule ip pf_lab postrouting ip saddr 198.51.100.0/24 ip daddr != 198.51.100.0/24 masquerade comment "${natRuleId('ip saddr 198.51.100.0/24 ip daddr != 198.51.100.0/24 masquerade')}"\n`,
    ],
  );
  const b: NatBridge[] = [{ ...bridges[0]!, publish: [] }];
  assert.deepEqual(
    natChains(b).map((c) => c.name),
    ['postrouting'],
  );
  assert.deepEqual(
    plan(seen(LISTING), b).steps.map((s) => s.describes),
    ['update the NAT rules of recipe "lab" (nftables table pf_lab)'],
  );
});

test('no table, or a chain gone or hooked elsewhere: the whole table is made', () => {
  assert.deepEqual(
    plan({ ipForward: true }).steps.map((s) => s.describes),
    ['add the NAT rules of recipe "lab" (nftables table pf_lab)'],
  );
  const noOutput = LISTING.replace(/\tchain output[\s\S]*?\t\}\n/, '');
  assert.deepEqual(
    plan(seen(noOutput)).steps.map((s) => s.describes),
    ['update the NAT rules of recipe "lab" (nftables table pf_lab)'],
  );
  const elsewhere = LISTING.replace('hook output', 'hook input');
  assert.equal(plan(seen(elsewhere)).steps.length, 1);
  const made = plan({ ipForward: true }).steps[0]!;
  assert.equal(
    made.input,
    `table ip pf_lab\ndelete table ip pf_lab\ntable ip pf_lab {\n  comment "pf1:r=lab"\n${natRules(bridges)}}\n`,
  );
});

test('IPv4 forwarding turned off by hand is drift too; a recipe without NAT removes the table', () => {
  assert.deepEqual(
    plan(seen(LISTING, false)).steps.map((s) => s.id),
    ['ip-forward'],
  );
  assert.deepEqual(
    plan(seen(LISTING), [{ name: 'br0', publish: [] }]).steps.map((s) => text(argvOf(s))),
    ['nft delete table ip pf_lab'],
  );
  assert.deepEqual(plan({ ipForward: false }, [{ name: 'br0', publish: [] }]).steps, []);
});

test("a FORWARD policy that drops (Docker's): the NAT'd bridge gets accept rules out and back in, once; destroy takes them, other recipes' stay", () => {
  const fw = (natRules: NonNullable<FirewallState['natRules']> = []): FirewallState => ({
    brNetfilter: { 4: false, 6: false },
    forwardDrop: { 4: true, 6: false },
    dockerUser: { 4: true, 6: false },
    bridgeRules: [],
    natRules,
  });
  const withFw = (f: FirewallState, b: readonly NatBridge[] = bridges) => {
    const ctx = new PlanContext(observed({ ...nsState(), firewall: f }));
    planNat(ctx, 'lab', b, seen(LISTING));
    return ctx.finish().steps.map((s) => text(argvOf(s)));
  };
  const out = 'DOCKER-USER -i br0 ! -o br0 -m comment --comment pf1:nat=lab/br0/out -j ACCEPT';
  const back =
    'DOCKER-USER -o br0 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment pf1:nat=lab/br0/in -j ACCEPT';
  assert.deepEqual(withFw(fw()), [`iptables -w -I ${out}`, `iptables -w -I ${back}`]);
  // in place (as iptables -S lists them): nothing to do
  const rules = parseIptablesS(`-P FORWARD DROP\n-N DOCKER-USER\n-A ${out}\n-A ${back}\n`, 4).natRules;
  assert.equal(rules.length, 2);
  assert.deepEqual(withFw(fw(rules)), []);
  // the recipe without NAT (or destroyed): its rules go; another recipe's stay
  const other = { chain: 'DOCKER-USER', recipe: 'edge', bridge: 'br9', dir: 'out' as const };
  const gone = withFw(fw([...rules, other]), []);
  assert.ok(
    gone.includes(`iptables -w -D ${out}`) && gone.includes(`iptables -w -D ${back}`),
    gone.join('\n'),
  );
  assert.ok(!gone.some((l) => l.includes('br9')));
  // a policy that accepts: no rules
  assert.deepEqual(withFw({ ...fw(), forwardDrop: { 4: false, 6: false } }), []);
});

test("iptables could not be read (FirewallState.unknown): a NAT'd bridge gets no rule blind, but a note with both commands", () => {
  const fw: FirewallState = {
    brNetfilter: { 4: false, 6: false },
    forwardDrop: { 4: false, 6: false },
    dockerUser: { 4: false, 6: false },
    bridgeRules: [],
    natRules: [],
    unknown: { 4: 'Permission denied (you must be root)' },
  };
  const ctx = new PlanContext(observed({ ...nsState(), firewall: fw }));
  planNat(ctx, 'lab', bridges, seen(LISTING));
  const p = ctx.finish();
  assert.ok(!p.steps.some((s) => s.id.startsWith('fw-')), 'no rule added blind');
  const out = 'FORWARD -i br0 ! -o br0 -m comment --comment pf1:nat=lab/br0/out -j ACCEPT';
  const back =
    'FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment pf1:nat=lab/br0/in -j ACCEPT';
  assert.deepEqual(
    p.notes.filter((n) => n.includes('could not be read')),
    [
      `recipe "lab" NATs bridge "br0", but iptables could not be read (Permission denied (you must be root)), so whether its FORWARD policy drops that traffic is unknown and no accept rule was added; if the bridge cannot reach out, run: iptables -I ${out}; iptables -I ${back}`,
    ],
  );
});

test('issue 13: a table of an earlier version (pf_my_lab for "my-lab") moves to the recipe\'s own name; one it does not own is refused', () => {
  // the listing as an earlier version named it, with its comment naming the recipe
  const legacy = LISTING.replaceAll('pf_lab', 'pf_my_lab').replace('"pf1:r=lab"', '"pf1:r=my-lab"');
  assert.ok(ownedBy(legacy, 'my-lab'));
  assert.ok(!ownedBy(legacy, 'my_lab'), 'the other recipe the old name stood for does not take it');
  assert.ok(!ownedBy(legacy, 'my'));
  const planAs = (recipe: string, now: NatObserved, b: readonly NatBridge[] = bridges) => {
    const ctx = new PlanContext(observed(nsState()));
    planNat(ctx, recipe, b, now);
    return ctx.finish();
  };
  const now = { ...seen(legacy), table: 'pf_my_lab' };
  const move = planAs('my-lab', now).steps;
  assert.equal(move.length, 1);
  const s = move[0]!;
  assert.match(
    s.input ?? '',
    /^table ip pf_my-lab\ndelete table ip pf_my-lab\ntable ip pf_my-lab \{\n {2}comment "pf1:r=my-lab"\n/,
  );
  assert.match(
    s.input ?? '',
    /\}\ndelete table ip pf_my_lab\n$/,
    'the old table goes in the same transaction',
  );
  assert.match(
    s.describes,
    /^move the NAT rules of recipe "my-lab" \(nftables table pf_my-lab\) from nftables table pf_my_lab/,
  );
  // its undo: the new table gone, the old one back as it was listed
  assert.ok(typeof s.undo !== 'string');
  assert.match(
    s.undo.input ?? '',
    /^table ip pf_my-lab\ndelete table ip pf_my-lab\ntable ip pf_my_lab\ndelete table ip pf_my_lab\ntable ip pf_my_lab \{\n/,
  );
  assert.deepEqual(
    planAs('my-lab', now, [{ name: 'br0', publish: [] }]).steps.map((x) => text(argvOf(x))),
    ['nft delete table ip pf_my_lab'],
    'destroy removes the old table',
  );
  // no table at all: the new name
  assert.match(planAs('my-lab', { ipForward: true }).steps[0]?.input ?? '', /^table ip pf_my-lab\n/);
  // "my_lab" finds my-lab's old table at its own name: refused while it needs NAT, left alone when not
  assert.throws(
    () => planAs('my_lab', { ipForward: true, foreign: 'my-lab' }),
    (e: Error & { code?: string; hint?: string }) =>
      e.code === 'E_CONFLICT' &&
      /^nftables table pf_my_lab: holds the NAT rules of recipe "my-lab"/.test(e.message) &&
      /apply \(or destroy\) recipe "my-lab" first/.test(e.hint ?? ''),
  );
  assert.deepEqual(
    planAs('my_lab', { ipForward: true, foreign: 'my-lab' }, [{ name: 'br0', publish: [] }]).steps,
    [],
  );
});
