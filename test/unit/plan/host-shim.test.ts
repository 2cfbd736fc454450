/** The host shim as planned: one per parent, shared, named within 15 bytes, removed with its last user. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argvOf } from '../../../src/render/ip.js';
import { planAttach } from '../../../src/plan/attach.js';
import { shimMetric, shimName, shimSource } from '../../../src/plan/host-shim.js';
import { parseCidr } from '../../../src/addr.js';
import type { AttachInput } from '../../../src/model/input.js';
import { decodeTag, encodeTag } from '../../../src/model/owner.js';
import { isIfName } from '../../../src/names.js';
import { lines, netnsTarget, nic, nsState, observed, route } from '../../helpers/plan-fixtures.js';
import { attachment as att, detachPlan, shimLink, toReplace, userOf } from '../../helpers/plan-cases.js';

const r1 = netnsTarget('r1');
const r2 = netnsTarget('r2');
const [u1, u2] = [userOf(r1), userOf(r2)];

test('shim names fit 15 bytes: pfshim-PARENT, or a hash of a long parent', () => {
  assert.equal(shimName('eth3'), 'pfshim-eth3');
  for (const p of ['enp5s0f1', 'enp5s0f1.4094', 'x'.repeat(15)]) assert.ok(isIfName(shimName(p)), p);
  assert.notEqual(shimName('enp5s0f1np0'), shimName('enp5s0f1np1'));
});

test('two containers asking for the shim in one plan: one shim, one tag with both, a /32 route each', () => {
  const p = planAttach(
    [
      att(r1, { macvlan: 'eth3', ip: '198.51.100.7/24', hostShim: true }),
      att(r2, { macvlan: 'eth3', ip: '198.51.100.8/24', hostShim: true }),
    ],
    observed(nsState([nic('eth3')]), [r1, nsState()], [r2, nsState()]),
  );
  const l = lines(p);
  assert.equal(l.filter((x) => x.startsWith('host: ip link add name pfshim-eth3')).length, 1);
  assert.ok(
    l.includes('host: ip link add name pfshim-eth3 link eth3 type macvlan mode bridge'),
    l.join('\n'),
  );
  // each route marked with its user's metric
  const m1 = shimMetric(u1);
  const m2 = shimMetric(u2);
  assert.notEqual(m1, m2);
  assert.ok(l.includes(`host: ip route add 198.51.100.7/32 dev pfshim-eth3 metric ${m1}`), l.join('\n'));
  assert.ok(l.includes(`host: ip route add 198.51.100.8/32 dev pfshim-eth3 metric ${m2}`), l.join('\n'));
  const tags = p.steps
    .filter((s) => argvOf(s)[4] === 'pfshim-eth3' && argvOf(s)[5] === 'alias')
    .map((s) => decodeTag(argvOf(s)[6] as string));
  assert.deepEqual(tags, [
    {
      kind: 'macvlan-shim',
      parent: 'eth3',
      users: [u1, u2],
    },
  ]);
  // the shim is up before its routes (the kernel refuses a route through a link that is down)
  const up = l.findIndex((x) => x.includes('pfshim-eth3') && x.includes(' up'));
  const route = l.findIndex((x) => x.startsWith('host: ip route add'));
  assert.ok(up >= 0 && up < route, l.join('\n'));
});

test('without --host-shim no shim is planned', () => {
  const p = planAttach(
    [att(r1, { macvlan: 'eth3', ip: '198.51.100.7/24' })],
    observed(nsState([nic('eth3')]), [r1, nsState()]),
  );
  assert.ok(!lines(p).some((x) => x.includes('pfshim')));
});

test('attach --replace of the only user of a shim keeps the shim: the old route goes before the new one is made', () => {
  const host = nsState([nic('eth3'), shimLink(u1)], [route({ dst: '198.51.100.7/32', dev: 'pfshim-eth3' })]);
  const mine = toReplace(r1, 'eth3');
  const replace = (input: Omit<AttachInput, 'target'>) =>
    lines(planAttach([att(r1, input)], observed(host, [r1, mine]), { replace: true }));
  const l = replace({ macvlan: 'eth3', ip: '198.51.100.9/24', hostShim: true });
  assert.ok(!l.some((x) => x.includes('ip link del dev pfshim-eth3')), `the shim stays\n${l.join('\n')}`);
  assert.ok(!l.some((x) => x.includes('ip link add name pfshim')), `and is not made again\n${l.join('\n')}`);
  assert.ok(!l.some((x) => x.includes('pfshim-eth3 alias')), `its users are the same\n${l.join('\n')}`);
  const del = l.indexOf('host: ip route del 198.51.100.7/32 dev pfshim-eth3');
  const m = shimMetric(u1);
  const add = l.indexOf(`host: ip route add 198.51.100.9/32 dev pfshim-eth3 metric ${m}`);
  assert.ok(del >= 0 && add > del, l.join('\n'));
  // the same address again: its route is made anew after the old one goes
  const same = replace({ macvlan: 'eth3', ip: '198.51.100.7/24', mtu: 1400, hostShim: true });
  const d = same.indexOf('host: ip route del 198.51.100.7/32 dev pfshim-eth3');
  const a = same.indexOf(`host: ip route add 198.51.100.7/32 dev pfshim-eth3 metric ${m}`);
  assert.ok(!same.some((x) => x.includes('ip link del dev pfshim-eth3')), same.join('\n'));
  assert.ok(d >= 0 && a > d, same.join('\n'));
  // a replacement without the shim leaves it, and it goes with its last user, as on detach
  const without = replace({ macvlan: 'eth3', ip: '198.51.100.9/24' });
  assert.ok(without.includes('host: ip link del dev pfshim-eth3'), without.join('\n'));
});

test("a user whose interface is gone: its routes leave the shim by their mark, another user's stay", () => {
  const host = nsState(
    [nic('eth3'), shimLink(u1, u2)],
    [
      route({ dst: '198.51.100.7/32', dev: 'pfshim-eth3', metric: shimMetric(u1) }),
      route({ family: 6, dst: '2001:db8::7/128', dev: 'pfshim-eth3', metric: shimMetric(u1) }),
      route({ dst: '198.51.100.8/32', dev: 'pfshim-eth3', metric: shimMetric(u2) }),
    ],
  );
  // r1 restarted: its namespace is new, without eth1
  const p = detachPlan(r1, host, nsState());
  assert.deepEqual(lines(p), [
    `host: ip route del 198.51.100.7/32 dev pfshim-eth3 metric ${shimMetric(u1)}`,
    `host: ip route del 2001:db8::7/128 dev pfshim-eth3 metric ${shimMetric(u1)}`,
    `host: ip link set dev pfshim-eth3 alias ${encodeTag({ kind: 'macvlan-shim', parent: 'eth3', users: [u2] })}`,
  ]);
});

test("a shim route's source is the parent's address in the container's subnet, else of its family, else none", () => {
  const g = (address: string) => ({
    family: address.includes(':') ? (6 as const) : (4 as const),
    address,
    scope: 'global',
  });
  const parentAddrs = [
    g('203.0.113.7'),
    g('192.0.2.1'),
    g('2001:db8::1'),
    { ...g('fe80::1'), scope: 'link' },
  ];
  assert.equal(shimSource(parentAddrs, parseCidr('192.0.2.21/24', 'ip')), '192.0.2.1');
  assert.equal(shimSource(parentAddrs, parseCidr('198.51.100.21/24', 'ip')), '203.0.113.7');
  assert.equal(shimSource(parentAddrs, parseCidr('2001:db8::21/64', 'ip')), '2001:db8::1');
  assert.equal(shimSource([g('192.0.2.1')], parseCidr('2001:db8::21/64', 'ip')), undefined);
  assert.equal(shimSource([], parseCidr('192.0.2.21/24', 'ip')), undefined);
});
