import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featuresOf } from '../../../src/api/cni-status.js';
import { parseNetConf } from '../../../src/cni/config.js';
import { featureById } from '../../../src/model/features.js';

const conf = (o: Record<string, unknown>) =>
  parseNetConf(JSON.stringify({ cniVersion: '1.1.0', name: 'lab', type: 'pipefitter', ...o }));

const cases: [Record<string, unknown>, string[]][] = [
  [{ bridge: 'br-lab' }, ['veth', 'bridge']],
  [{ bridge: 'br-lab', vlanId: 10 }, ['veth', 'bridge', 'bridge-vlan']],
  [{ bridge: 'br-lab', trunk: [10, 20] }, ['veth', 'bridge', 'bridge-vlan']],
  [{ bridge: 'br-lab', trunk: [] }, ['veth', 'bridge']],
  [{ bridge: 'br-lab', ovs: true }, ['veth']],
  [{ bridge: 'br-lab', ovs: true, vlanId: 10 }, ['veth']],
  [{ macvlan: 'eth0' }, ['macvlan']],
  [{ macvlan: 'eth0', mode: 'private', vlanId: 10 }, ['macvlan', 'vlan']],
  [{ ipvlan: 'eth0' }, ['ipvlan']],
  [{ ipvlan: 'eth0', vlanId: 10 }, ['ipvlan', 'vlan']],
  [{ vlan: 'eth0', vlanId: 10 }, ['vlan']],
  [{ phys: 'eth9' }, []],
];

test('featuresOf: the kernel features an ADD needs, by the way of attaching and its VLAN keys', () => {
  for (const [o, want] of cases) assert.deepEqual(featuresOf(conf(o)), want, JSON.stringify(o));
});

test('featuresOf names only features STATUS can probe and explain (model/features.ts)', () => {
  for (const [o] of cases)
    for (const id of featuresOf(conf(o))) {
      const f = featureById(id);
      assert.ok(f, `${id} (${JSON.stringify(o)}) is a known feature`);
      assert.ok(f.what && f.option, id);
    }
});

test('featuresOf does not depend on IPAM, addresses or routes', () => {
  const plain = featuresOf(conf({ bridge: 'br-lab' }));
  const full = featuresOf(
    conf({
      bridge: 'br-lab',
      mtu: 1400,
      mac: '02:00:00:00:00:01',
      routes: [{ dst: '203.0.113.0/24' }],
      ipam: { type: 'pipefitter', subnet: '198.51.100.0/24' },
    }),
  );
  assert.deepEqual(full, plain);
});
