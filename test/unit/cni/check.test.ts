import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAttachment } from '../../../src/cni/check.js';
import type { CheckInput } from '../../../src/cni/check.js';

const ok: CheckInput = {
  ifname: 'eth0',
  sandbox: '/run/netns/a',
  bridge: 'br-lab',
  hostIfname: 'pfabc',
  prevResult: {
    cniVersion: '1.1.0',
    interfaces: [
      { name: 'br-lab', mac: '02:00:00:00:00:01' },
      { name: 'pfabc', mac: '02:00:00:00:00:02' },
      { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1400, sandbox: '/run/netns/a' },
    ],
    ips: [{ address: '198.51.100.2/24', gateway: '198.51.100.1', interface: 2 }],
    routes: [
      { dst: '203.0.113.0/24' },
      { dst: '0.0.0.0/0', gw: '198.51.100.1' },
      { dst: '192.0.2.0/24', gw: '10.9.9.9' },
    ],
  },
  container: {
    links: [
      { name: 'lo', addrs: ['127.0.0.1/8'] },
      {
        name: 'eth0',
        mac: '02:00:00:00:00:03',
        mtu: 1400,
        up: true,
        addrs: ['198.51.100.2/24', '198.51.100.9/24'],
      },
    ],
    routes: [
      { dst: '203.0.113.0/24', gateway: '198.51.100.1', dev: 'eth0' },
      { dst: 'default', gateway: '198.51.100.1', dev: 'eth0' },
      { dst: '198.51.100.0/24', dev: 'eth0' },
    ],
  },
  host: {
    links: [
      { name: 'br-lab', addrs: [] },
      { name: 'pfabc', master: 'br-lab', addrs: [] },
    ],
  },
};

test('as ADD left it: no difference (extra addresses and routes of later plugins are fine)', () => {
  assert.deepEqual(checkAttachment(ok), []);
});

test('each kind of drift is named', () => {
  const c = ok.container;
  const eth0 = c.links[1]!;
  const cases: [Partial<CheckInput>, RegExp][] = [
    [{ container: { ...c, links: [c.links[0]!] } }, /^interface "eth0" in \/run\/netns\/a: missing$/],
    [
      { container: { ...c, links: [{ ...eth0, mac: '02:00:00:00:00:99' }] } },
      /MAC 02:00:00:00:00:99, the result says 02:00:00:00:00:03/,
    ],
    [{ container: { ...c, links: [{ ...eth0, mtu: 1500 }] } }, /MTU 1500, the result says 1400/],
    [{ container: { ...c, links: [{ ...eth0, up: false }] } }, /"eth0" in \/run\/netns\/a: down/],
    [
      { container: { ...c, links: [{ ...eth0, addrs: [] }] } },
      /^address 198\.51\.100\.2\/24 on "eth0" in \/run\/netns\/a: missing$/,
    ],
    [
      { container: { ...c, routes: c.routes.slice(1) } },
      /^route 203\.0\.113\.0\/24 via 198\.51\.100\.1 .*: missing$/,
    ],
    [
      { container: { ...c, routes: [c.routes[0]!] } },
      /^route 0\.0\.0\.0\/0 via 198\.51\.100\.1 .*: missing$/,
    ],
    [{ host: { links: [ok.host.links[1]!] } }, /^bridge "br-lab" on the host: missing$/],
    [{ host: { links: [ok.host.links[0]!] } }, /^host end "pfabc" of "eth0": missing$/],
    [
      { host: { links: [ok.host.links[0]!, { name: 'pfabc', addrs: [] }] } },
      /not a port of bridge "br-lab" \(no bridge\)/,
    ],
    [{ host: { links: [ok.host.links[0]!, { name: 'pfabc', master: 'br-x', addrs: [] }] } }, /\(on "br-x"\)/],
    [{ sandbox: '/run/netns/b' }, /^prevResult: no interface "eth0" with sandbox \/run\/netns\/b/],
  ];
  for (const [change, msg] of cases) {
    const p = checkAttachment({ ...ok, ...change });
    assert.equal(p.length, 1, `${JSON.stringify(change)} → ${JSON.stringify(p)}`);
    assert.match(p[0]!, msg);
  }
});

test('IPv6 addresses compare in any notation; a route whose gateway is elsewhere is not ours', () => {
  const v6: CheckInput = {
    ...ok,
    bridge: undefined,
    prevResult: {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: '/run/netns/a' }],
      ips: [{ address: '2001:db8:0::2/64', interface: 0 }],
      routes: [{ dst: '2001:db8:1::/64', gw: '2001:db8:9::1' }],
    },
    container: { links: [{ name: 'eth0', addrs: ['2001:db8::2/64'] }], routes: [] },
  };
  assert.deepEqual(checkAttachment(v6), []);
});

test('the way of attaching: kind, mode, VLAN and parent against the configuration', () => {
  const c = ok.container;
  const eth0 = c.links[1]!;
  const host = { links: [{ name: 'eth9', ifindex: 7, addrs: [] }] };
  const stacked = (link: Partial<(typeof c.links)[number]>, way: CheckInput['way']): string[] =>
    checkAttachment({
      ...ok,
      bridge: undefined,
      hostIfname: undefined,
      way,
      host,
      container: { ...c, links: [{ ...eth0, ...link }] },
    });
  const macvlan = { kind: 'macvlan', mode: 'bridge', parentIndex: 7 };
  assert.deepEqual(stacked(macvlan, { kind: 'macvlan', parent: 'eth9', mode: 'bridge' }), []);
  assert.deepEqual(stacked(macvlan, { kind: 'macvlan', parent: 'eth9' }), [], 'no mode asked: any');
  assert.deepEqual(stacked({ kind: 'veth' }, { kind: 'veth' }), []);
  assert.deepEqual(stacked({ kind: undefined }, undefined), [], 'phys: any device');
  assert.deepEqual(stacked({ kind: 'veth' }, { kind: 'macvlan', parent: 'eth9' }), [
    'interface "eth0" in /run/netns/a: veth, the configuration says macvlan',
  ]);
  assert.deepEqual(stacked({ kind: undefined }, { kind: 'ipvlan', parent: 'eth9' }), [
    'interface "eth0" in /run/netns/a: a plain device, the configuration says ipvlan',
  ]);
  assert.deepEqual(
    stacked({ ...macvlan, mode: 'vepa' }, { kind: 'macvlan', parent: 'eth9', mode: 'bridge' }),
    ['interface "eth0" in /run/netns/a: macvlan mode vepa, the configuration says bridge'],
  );
  assert.deepEqual(
    stacked({ kind: 'vlan', vlanId: 11, parentIndex: 7 }, { kind: 'vlan', parent: 'eth9', vlanId: 10 }),
    ['interface "eth0" in /run/netns/a: VLAN 11, the configuration says 10'],
  );
  assert.deepEqual(stacked(macvlan, { kind: 'macvlan', parent: 'eth1' }), [
    'interface "eth0" in /run/netns/a: made on "eth9", the configuration says "eth1"',
  ]);
  assert.deepEqual(stacked({ ...macvlan, parentIndex: 8 }, { kind: 'macvlan', parent: 'eth9' }), [
    'interface "eth0" in /run/netns/a: made on host interface 8, which is gone, the configuration says "eth9"',
  ]);
});
