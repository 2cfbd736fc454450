/**
 * A recipe's NAT and published ports: one nftables table, replaced in one transaction when its
 * rules change (a hash in its comment says whether they did), removed when none are asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatBridge, NatObserved } from '../../../src/plan/nat.js';
import { ipForwardStep, natRules, natTable, planNat } from '../../../src/plan/nat.js';
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
const hashOf = (input: string | undefined) => /h=([0-9a-z]+)/.exec(input ?? '')?.[1] ?? '';

test('first apply: IPv4 forwarding on, then the whole table (masquerade per subnet, DNAT from outside and from the host)', () => {
  golden('nat-first-apply.plan.txt', dumpPlan(plan(bridges, { ipForward: false })));
});

test('unchanged rules plan nothing; changed ones replace the table, whose old text is the undo', () => {
  const first = plan(bridges, { ipForward: true });
  // forwarding already on: no sysctl
  assert.deepEqual(
    first.steps.map((s) => s.id),
    ['nat:pf_lab'],
  );
  const hash = hashOf(first.steps[0]?.input);
  assert.match(hash, /^[0-9a-z]{10}$/);
  const same = plan(bridges, { ipForward: true, tableText: listed(hash) });
  assert.deepEqual([same.steps, same.noops], [[], ['NAT rules of recipe "lab" are in place']]);
  const changed = plan(bridges.slice(1), { ipForward: true, tableText: listed(hash) });
  assert.equal(changed.steps.length, 1);
  const step = changed.steps[0]!;
  assert.equal(step.describes, 'update the NAT rules of recipe "lab" (nftables table pf_lab)');
  assert.notEqual(hashOf(step.input), hash);
  assert.deepEqual(step.undo, {
    netns: { kind: 'host' },
    argv: ['nft', '-f', '-'],
    input: `table ip pf_lab\ndelete table ip pf_lab\ntable ip pf_lab {\n\tcomment "pf1:r=lab&h=${hash}"\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n}\n`,
    describes: 'put back nftables table pf_lab',
  });
  // forwarding is checked only with a change: an unchanged table does not turn it on again (as planned today)
  assert.deepEqual(plan(bridges, { ipForward: false, tableText: listed(hash) }).steps, []);
});

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
    fib daddr type local tcp dport 1 dnat to 192.0.2.1:65535
  }
  chain output {
    type nat hook output priority -100; policy accept;
    fib daddr type local tcp dport 1 dnat to 192.0.2.1:65535
  }
`,
  );
  // a table name nft accepts, whatever the recipe is called
  assert.equal(natTable('my-lab.v2'), 'pf_my_lab_v2');
  assert.equal(natTable('lab_1'), 'pf_lab_1');
});

test('IPv4 forwarding: on with its undo, and back off with its own', () => {
  assert.deepEqual(ipForwardStep(true), {
    id: 'ip-forward',
    netns: { kind: 'host' },
    argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'],
    describes: 'turn on IPv4 forwarding (NAT needs it)',
    undo: {
      netns: { kind: 'host' },
      argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0'],
      describes: 'turn IPv4 forwarding back off',
    },
  });
  assert.deepEqual(ipForwardStep(false), {
    id: 'ip-forward-off',
    netns: { kind: 'host' },
    argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0'],
    describes: 'turn IPv4 forwarding back off (the recipe turned it on)',
    undo: {
      netns: { kind: 'host' },
      argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'],
      describes: 'turn IPv4 forwarding on again',
    },
  });
});
