/** What `show` reports for a namespace: every field of the view, as `--json` prints it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildView } from '../../../src/model/view.js';
import { encodeTag } from '../../../src/model/owner.js';
import type { ResolvedTarget } from '../../../src/model/target.js';
import { netnsTarget, nic, nsState, pidTarget, route } from '../../helpers/plan-fixtures.js';

const r1 = netnsTarget('r1');

test('interfaces: kind, state, addresses, ownership and the host side of a bridged veth', () => {
  const inside = nsState(
    [
      nic('eth1', {
        kind: 'veth',
        ifindex: 7,
        linkIndex: 21,
        mtu: 1450,
        mac: '02:00:00:00:00:07',
        carrier: true,
        alias: encodeTag({ kind: 'veth', target: 'netns:r1', ifname: 'eth1', bridge: 'br-lab' }),
        addrs: [
          { family: 4, address: '192.0.2.10', prefix: 24, scope: 'global', broadcast: '192.0.2.255' },
          { family: 6, address: 'fe80::1', prefix: 64, scope: 'link' },
        ],
      }),
      nic('eth0', { up: false, operstate: 'DOWN', alias: 'set by hand' }),
    ],
    [
      route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth1', metric: 100 }),
      route({ dst: '192.0.2.0/24', dev: 'eth1', protocol: 'kernel', scope: 'link' }),
      route({ dst: '198.51.100.0/24', dev: 'eth1', type: 'blackhole' }),
      route({ family: 6, dst: '2001:db8::/64', dev: 'eth1', protocol: 'static' }),
    ],
  );
  const host = nsState([
    nic('br-lab', { kind: 'bridge', ifindex: 3 }),
    // the kernel's pair: this one is the host end, whatever its tag says
    nic('veth-x', { kind: 'veth', ifindex: 21, linkIndex: 7, master: 'br-lab' }),
  ]);
  assert.deepEqual(buildView(r1, inside, host), {
    target: 'netns:r1',
    id: 'netns:r1',
    netns: 'r1',
    interfaces: [
      {
        name: 'lo',
        kind: 'loopback',
        up: true,
        operstate: 'UNKNOWN',
        carrier: false,
        mtu: 65536,
        mac: '00:00:00:00:00:00',
        addresses: [],
        managed: false,
        owner: undefined,
        hostSide: undefined,
      },
      {
        name: 'eth1',
        kind: 'veth',
        up: true,
        operstate: 'UP',
        carrier: true,
        mtu: 1450,
        mac: '02:00:00:00:00:07',
        addresses: [
          { address: '192.0.2.10', prefix: 24, family: 4, scope: 'global', broadcast: '192.0.2.255' },
          // no broadcast key at all, not broadcast: undefined
          { address: 'fe80::1', prefix: 64, family: 6, scope: 'link' },
        ],
        managed: true,
        owner: { kind: 'veth', target: 'netns:r1', ifname: 'eth1', bridge: 'br-lab' },
        hostSide: { name: 'veth-x', bridge: 'br-lab' },
      },
      {
        name: 'eth0',
        kind: 'device',
        up: false,
        operstate: 'DOWN',
        carrier: false,
        mtu: 1500,
        mac: '02:aa:00:00:00:01',
        addresses: [],
        // an alias that is not our tag does not make it ours
        managed: false,
        owner: undefined,
        hostSide: undefined,
      },
    ],
    // kernel routes (the subnet's own) and non-unicast ones are not shown
    routes: [
      { dst: 'default', via: '192.0.2.1', dev: 'eth1', family: 4, metric: 100 },
      { dst: '2001:db8::/64', via: undefined, dev: 'eth1', family: 6, metric: undefined },
    ],
  });
  assert.ok(!('broadcast' in (buildView(r1, inside, host).interfaces[1]?.addresses[1] ?? {})));
});

test('without kernel indexes the host end is found by its tag: our target and ifname, a veth-host tag', () => {
  const tag = (p: { kind: 'veth-host' | 'veth'; target?: string; ifname?: string }) =>
    encodeTag({ bridge: 'br0', ...p });
  const inside = nsState([
    nic('eth1', { kind: 'veth', alias: encodeTag({ kind: 'veth', ifname: 'eth1', bridge: 'br0' }) }),
  ]);
  const hostSide = (links: ReturnType<typeof nic>[]) =>
    buildView(r1, inside, nsState(links)).interfaces[1]?.hostSide;
  const end = (name: string, alias: string) => nic(name, { kind: 'veth', master: 'br0', alias });
  // the inside tag names no target: the resolved target's id stands in
  assert.deepEqual(hostSide([end('vh', tag({ kind: 'veth-host', target: 'netns:r1', ifname: 'eth1' }))]), {
    name: 'vh',
    bridge: 'br0',
  });
  assert.equal(
    hostSide([end('vh', tag({ kind: 'veth-host', target: 'netns:r2', ifname: 'eth1' }))]),
    undefined,
  );
  assert.equal(
    hostSide([end('vh', tag({ kind: 'veth-host', target: 'netns:r1', ifname: 'eth2' }))]),
    undefined,
  );
  assert.equal(hostSide([end('vh', tag({ kind: 'veth', target: 'netns:r1', ifname: 'eth1' }))]), undefined);
  assert.equal(hostSide([end('vh', 'pf1:k=veth-host')]), undefined);
  // the host namespace was not observed: no host side
  assert.equal(buildView(r1, inside, undefined).interfaces[1]?.hostSide, undefined);
  // the tag's own target wins over the resolved id (the target spelled differently when attached)
  const spelled = nsState([
    nic('eth1', {
      kind: 'veth',
      alias: encodeTag({ kind: 'veth', target: 'pid:42', ifname: 'eth1', bridge: 'br0' }),
    }),
  ]);
  assert.equal(
    buildView(r1, spelled, nsState([end('vh', tag({ kind: 'veth-host', target: 'pid:42', ifname: 'eth1' }))]))
      .interfaces[1]?.hostSide?.name,
    'vh',
  );
  // only a veth tag looks for a host side (a macvlan has none)
  const mac = nsState([
    nic('eth1', { kind: 'macvlan', alias: encodeTag({ kind: 'macvlan', ifname: 'eth1' }) }),
  ]);
  assert.equal(
    buildView(r1, mac, nsState([end('vh', tag({ kind: 'veth-host', target: 'netns:r1', ifname: 'eth1' }))]))
      .interfaces[1]?.hostSide,
    undefined,
  );
});

test('the namespace file each kind of target is shown with', () => {
  const view = (t: ResolvedTarget) => buildView(t, nsState(), undefined);
  assert.equal(view(r1).netns, 'r1');
  assert.deepEqual(
    [view(pidTarget(4242)).target, view(pidTarget(4242)).id, view(pidTarget(4242)).netns],
    ['pid:4242', 'pid:4242', '/proc/4242/ns/net'],
  );
  const path: ResolvedTarget = {
    spec: { kind: 'path', path: '/var/run/docker/netns/abc' },
    id: 'docker:3f2a',
    label: 'docker:web',
    netns: { kind: 'path', path: '/var/run/docker/netns/abc' },
  };
  assert.deepEqual(
    [view(path).target, view(path).id, view(path).netns],
    ['docker:web', 'docker:3f2a', '/var/run/docker/netns/abc'],
  );
  const host: ResolvedTarget = {
    spec: { kind: 'bare', name: 'h' },
    id: 'host',
    label: 'host',
    netns: { kind: 'host' },
  };
  assert.equal(view(host).netns, 'host');
  assert.deepEqual(view(host).routes, []);
});
