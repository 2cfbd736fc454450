import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addResult } from '../../../src/cni/result.js';

const made = {
  cniVersion: '1.1.0',
  host: [
    { name: 'br-lab', mac: '02:00:00:00:00:01', mtu: 1500 },
    { name: 'pfabc', mac: '02:00:00:00:00:02', mtu: 1500 },
  ],
  container: { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1500 },
  sandbox: '/run/netns/a',
  ips: [{ address: '198.51.100.2/24', gateway: '198.51.100.1' }],
  routes: [{ dst: '0.0.0.0/0', gw: '198.51.100.1' }],
};

test('ADD result: host interfaces, then the container one with sandbox; ips point at it', () => {
  const r = addResult({ ...made, dns: { nameservers: ['198.51.100.53'] } });
  assert.deepEqual(
    r.interfaces?.map((i) => [i.name, i.sandbox]),
    [
      ['br-lab', undefined],
      ['pfabc', undefined],
      ['eth0', '/run/netns/a'],
    ],
  );
  assert.deepEqual(r.ips, [{ address: '198.51.100.2/24', gateway: '198.51.100.1', interface: 2 }]);
  assert.deepEqual(r.routes, made.routes);
  assert.deepEqual(r.dns, { nameservers: ['198.51.100.53'] });
});

test('with a prevResult its entries come first and the indexes shift', () => {
  const r = addResult({
    ...made,
    prevResult: {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/a' }],
      ips: [{ address: '192.0.2.5/24', interface: 2 }],
      routes: [{ dst: '192.0.2.0/24' }],
      dns: { nameservers: ['192.0.2.53'] },
    },
    container: { name: 'net1' },
  });
  assert.equal(r.interfaces?.length, 6);
  assert.deepEqual(
    r.ips?.map((i) => i.interface),
    [2, 5],
  );
  assert.equal(r.routes?.length, 2);
  assert.deepEqual(r.dns, { nameservers: ['192.0.2.53'] });
});

test('no routes and no dns: the keys are left out', () => {
  const r = addResult({ ...made, routes: [] });
  assert.equal('routes' in r, false);
  assert.equal('dns' in r, false);
});
