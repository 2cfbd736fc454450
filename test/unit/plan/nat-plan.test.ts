/**
 * A recipe's NAT and published ports: one nftables table, replaced in one transaction when its
 * rules change (a hash in its comment says whether they did), removed when none are asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatBridge } from '../../../src/plan/nat.js';
import type { NatObserved } from '../../../src/model/observed.js';
import {
  ipForwardStep,
  legacyNatTable,
  natRuleId,
  natRules,
  natTable,
  planNat,
  publishedBridges,
} from '../../../src/plan/nat.js';
import { PlanContext } from '../../../src/plan/context.js';
import { PHASE } from '../../../src/plan/phases.js';
import { parseCidr, parseIp } from '../../../src/addr.js';
import { dumpPlan, golden } from '../../helpers/plan-dump.js';
import { nsState } from '../../helpers/plan-fixtures.js';

const bridges: NatBridge[] = [
  {
    name: 'br0',
    nat: { subnet: parseCidr('192.0.2.0/24', 'subnet'), outInterface: 'eth0' },
    publish: [
      { port: 8080, to: { address: parseIp('192.0.2.10', 'to'), port: 80 }, proto: 'tcp' },
      { port: 53, to: { address: parseIp('192.0.2.11', 'to'), port: 5353 }, proto: 'udp' },
    ],
  },
  { name: 'br1', nat: { subnet: parseCidr('198.51.100.0/24', 'subnet') }, publish: [] },
];
const plan = (b: readonly NatBridge[], now: NatObserved) => {
  const ctx = new PlanContext(new Map([['host', nsState()]]));
  ctx.phase = PHASE.inside;
  planNat(ctx, 'lab', b, now);
  // the caller's phase is left as it was
  assert.equal(ctx.phase, PHASE.inside);
  return ctx.finish();
};
/** The table as `nft list table` prints it, with the comment of the given hash. */
const listed = (hash: string) =>
  `table ip pf_lab {\n\tcomment "pf1:r=lab&h=${hash}"\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n}\n`;

test('first apply: IPv4 forwarding on, then the whole table (masquerade per subnet, DNAT from outside and from the host)', () => {
  golden('nat-first-apply.plan.txt', dumpPlan(plan(bridges, { ipForward: false })));
});

// (unchanged and changed rules, rule by rule: nat.test.ts)

test('no NAT asked for: the table goes if there is one (put back on undo), nothing otherwise', () => {
  const none: NatBridge[] = [{ name: 'br0', publish: [] }];
  assert.equal(natRules(none), undefined);
  assert.equal(natRules([]), undefined);
  assert.deepEqual(plan(none, { ipForward: true }), { steps: [], noops: [], notes: [] });
  const gone = plan(none, { ipForward: true, tableText: listed('abc') });
  assert.equal(
    dumpPlan(gone),
    `
1. nat-del:pf_lab
   host: nft delete table ip pf_lab
     describes: remove the NAT rules of recipe "lab" (nftables table pf_lab)
   undo:
     host: nft -f -
       describes: put back nftables table pf_lab
       input:
         | table ip pf_lab
         | delete table ip pf_lab
         | table ip pf_lab {
         | 	comment "pf1:r=lab&h=abc"
         | 	chain postrouting {
         | 		type nat hook postrouting priority srcnat; policy accept;
         | 	}
         | }
`,
  );
});

const DNAT1 = 'fib daddr type local tcp dport 1 dnat to 192.0.2.1:65535';

test('published ports alone: an empty postrouting chain, DNAT before routing and for the host itself', () => {
  assert.equal(
    natRules([
      {
        name: 'b',
        publish: [{ port: 1, to: { address: parseIp('192.0.2.1', 'to'), port: 65535 }, proto: 'tcp' }],
      },
    ]),
    `  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local tcp dport 1 dnat to 192.0.2.1:65535 comment "${natRuleId(DNAT1)}"
  }
  chain output {
    type nat hook output priority -100; policy accept;
    fib daddr type local tcp dport 1 dnat to 192.0.2.1:65535 comment "${natRuleId(DNAT1)}"
  }
`,
  );
  // a table name nft accepts, one per recipe name (issue 13: a-b and a_b shared one)
  assert.equal(natTable('my-lab.v2'), 'pf_my-lab.v2');
  assert.equal(natTable('lab_1'), 'pf_lab_1');
  const names = ['a-b', 'a_b', 'a.b', 'a__b', 'a-_b', 'a/2d/b', 'a b', 'a\u00e9'];
  assert.equal(new Set(names.map(natTable)).size, names.length, names.map(natTable).join(' '));
  assert.equal(natTable('a b'), 'pf_a/20/b');
  // the name of earlier versions, still read (observe/nft.ts)
  assert.equal(legacyNatTable('my-lab.v2'), 'pf_my_lab_v2');
});

test('IPv4 forwarding: on with its undo, and back off with its own', () => {
  assert.deepEqual(ipForwardStep(true), {
    id: 'ip-forward',
    netns: { kind: 'host' },
    op: { op: 'exec', argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'] },
    describes: 'turn on IPv4 forwarding (NAT needs it)',
    undo: {
      netns: { kind: 'host' },
      op: { op: 'exec', argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0'] },
      describes: 'turn IPv4 forwarding back off',
    },
  });
  assert.deepEqual(ipForwardStep(false), {
    id: 'ip-forward-off',
    netns: { kind: 'host' },
    op: { op: 'exec', argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0'] },
    describes: 'turn IPv4 forwarding back off (the recipe turned it on)',
    undo: {
      netns: { kind: 'host' },
      op: { op: 'exec', argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'] },
      describes: 'turn IPv4 forwarding on again',
    },
  });
});

test('ports published to released addresses (a container removed for good) are left out, and only those', () => {
  assert.equal(publishedBridges(bridges, undefined), bridges);
  assert.equal(publishedBridges(bridges, new Set()), bridges);
  const left = publishedBridges(bridges, new Set(['192.0.2.10', '203.0.113.9']));
  assert.deepEqual(
    left.map((b) => [b.name, b.nat, b.publish.map((p) => p.to.address.address)]),
    [
      ['br0', bridges[0]!.nat, ['192.0.2.11']],
      ['br1', bridges[1]!.nat, []],
    ],
  );
  // the masquerade stays; the DNAT rules to 192.0.2.10 go
  const rules = natRules(left)!;
  assert.match(rules, /masquerade/);
  assert.doesNotMatch(rules, /192\.0\.2\.10:80/);
  assert.match(rules, /dnat to 192\.0\.2\.11:5353/);
  // nothing published at all: the table keeps its masquerade only
  assert.doesNotMatch(natRules(publishedBridges(bridges, new Set(['192.0.2.10', '192.0.2.11'])))!, /dnat/);
});
