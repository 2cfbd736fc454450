import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetConf } from '../../../src/cni/config.js';
import { attachInputOf, attachRequestOf, checkAttachKeys, inConfigWords } from '../../../src/cni/request.js';
import { CniError } from '../../../src/cni/types.js';
import type { CniResult } from '../../../src/cni/types.js';

const P = { netns: '/run/netns/pf-a', ifname: 'eth0' };
const conf = (o: Record<string, unknown>) =>
  parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'lab', type: 'pipefitter', ...o }));

const ipam: CniResult = {
  cniVersion: '1.0.0',
  ips: [
    { address: '198.51.100.2/24', gateway: '198.51.100.1' },
    { address: '2001:db8::2/64', gateway: '2001:db8::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0' },
    { dst: '203.0.113.0/24' },
    { dst: '::/0' },
    { dst: '192.0.2.0/24', gw: '198.51.100.254' },
  ],
};

const fails = (f: () => unknown): CniError => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    return e;
  }
  assert.fail('no error');
};

test('a bridge config with IPAM becomes attach input: path target, addresses, gateways, routes', () => {
  const input = attachInputOf(conf({ bridge: 'br-lab', mtu: 1400, vlanId: 10 }), P, ipam);
  assert.equal(input.target, '/run/netns/pf-a');
  assert.equal(input.ifname, 'eth0');
  assert.equal(input.bridge, 'br-lab');
  assert.equal(input.mtu, 1400);
  assert.equal(input.vlanId, 10);
  assert.deepEqual(input.ip, ['198.51.100.2/24', '2001:db8::2/64']);
  // default routes become the gateway of their family; others take the ips' gateway when gw is unset
  assert.deepEqual(input.gateway, ['198.51.100.1', '2001:db8::1']);
  assert.deepEqual(input.route, ['203.0.113.0/24@198.51.100.1', '192.0.2.0/24@198.51.100.254']);
  const req = attachRequestOf(conf({ bridge: 'br-lab', mtu: 1400, vlanId: 10 }), P, ipam);
  assert.deepEqual(req.target, { kind: 'path', path: '/run/netns/pf-a' });
  assert.equal(req.link.kind, 'bridge');
  assert.equal(req.iface.ifname, 'eth0');
  assert.equal(req.iface.addrs.length, 2);
  assert.equal(req.iface.gateways.length, 2);
  assert.equal(req.iface.routes.length, 2);
});

test('an explicit "gateway" wins over IPAM default routes; config routes are added', () => {
  const input = attachInputOf(
    conf({ bridge: 'br-lab', gateway: '198.51.100.9', routes: [{ dst: '203.0.114.0/24' }] }),
    P,
    {
      cniVersion: '1.0.0',
      ips: [{ address: '198.51.100.2/24' }],
      routes: [{ dst: '0.0.0.0/0', gw: '198.51.100.1' }],
    },
  );
  assert.deepEqual(input.gateway, ['198.51.100.9']);
  assert.deepEqual(input.route, ['203.0.114.0/24']);
});

test('each way of attaching maps to its attach input', () => {
  assert.equal(attachRequestOf(conf({ bridge: 'br-o', ovs: true }), P).link.kind, 'bridge');
  assert.equal(attachInputOf(conf({ bridge: 'br-o', ovs: true }), P).ovs, 'br-o');
  const mv = attachRequestOf(conf({ macvlan: 'eth3', mode: 'private' }), P).link;
  assert.deepEqual([mv.kind, mv.kind === 'macvlan' && mv.mode], ['macvlan', 'private']);
  const iv = attachRequestOf(conf({ ipvlan: 'eth3', mode: 'l3' }), P).link;
  assert.deepEqual([iv.kind, iv.kind === 'ipvlan' && iv.mode], ['ipvlan', 'l3']);
  const vl = attachRequestOf(conf({ vlan: 'eth3', vlanId: 7 }), P).link;
  assert.deepEqual([vl.kind, vl.kind === 'vlan' && vl.vlanId], ['vlan', 7]);
  assert.equal(attachRequestOf(conf({ phys: 'eth9' }), P).link.kind, 'phys');
  const tr = attachRequestOf(conf({ bridge: 'br-t', trunk: [10, 20] }), P).link;
  assert.deepEqual(tr.kind === 'bridge' && tr.trunk, [10, 20]);
});

test("attach's checks come back as error 7 in the configuration's words", () => {
  const cases: [Record<string, unknown>, RegExp, RegExp?][] = [
    [{ bridge: 'a-bridge-name-too-long' }, /^bridge "a-bridge-name-too-long": /],
    [{ bridge: 'br-lab', mtu: 20 }, /^mtu "20": /],
    [{ bridge: 'br-lab', mac: 'zz' }, /^mac "zz": /],
    [{ bridge: 'br-lab', vlanId: 5000 }, /^vlanId "5000": /],
    [{ bridge: 'br-lab', trunk: [0] }, /^trunk "0": /],
    [{ bridge: 'br-lab', mode: 'vepa' }, /^mode "vepa": only applies to macvlan and ipvlan/, /drop mode/],
    [{ macvlan: 'eth0', mode: 'l2' }, /^mode "l2": /],
    [{ macvlan: 'eth0', trunk: [10] }, /^trunk: only applies to bridge/],
    [{ phys: 'eth9', vlanId: 4 }, /^vlanId "4": does not apply to phys/, /use vlan/],
    [{ vlan: 'eth3' }, /^vlanId: required with vlan/],
    [{ bridge: 'br-lab', routes: [{ dst: 'nowhere' }] }, /^routes "nowhere/],
    [
      { bridge: 'br-lab', routes: [{ dst: '192.0.2.0/24', gw: '2001:db8::1' }] },
      /^routes .*: destination and gateway are of different IP families/,
    ],
  ];
  for (const [o, msg, hint] of cases) {
    const e = fails(() => checkAttachKeys(conf(o), P));
    assert.equal(e.code, 7, e.message);
    assert.match(e.message, msg);
    assert.ok(e.details, `a fix for ${e.message}`);
    assert.doesNotMatch(`${e.message} ${e.details}`, /--/, 'no CLI flags in a CNI error');
    if (hint) assert.match(e.details, hint);
  }
});

test('gateways are checked against the IPAM addresses only once they are known', () => {
  const c = conf({ bridge: 'br-lab', gateway: '198.51.100.1' });
  checkAttachKeys(c, P); // no addresses yet: fine
  const e = fails(() => attachRequestOf(c, P, { cniVersion: '1.0.0', ips: [{ address: '2001:db8::2/64' }] }));
  assert.equal(e.code, 7);
  assert.match(e.message, /^gateway "198\.51\.100\.1": IPv4 gateway but no IPv4 address/);
  assert.match(e.details ?? '', /ipam \(the addresses it returned\)/);
});

test('inConfigWords rewrites flags, lists of flags, and leaves other text', () => {
  assert.equal(inConfigWords('--bridge|--ovs|--macvlan'), 'bridge|macvlan');
  assert.equal(inConfigWords('drop --mode, or use --vlan-id'), 'drop mode, or use vlanId');
  assert.equal(inConfigWords('plain text'), 'plain text');
  assert.equal(inConfigWords('--unknown-flag'), '--unknown-flag');
});
