/**
 * The keys of each way of attaching (bridge + vlanId/trunk/ovs, macvlan/ipvlan + mode, vlan +
 * vlanId, phys) refused as a configuration should be: error 7, the message starting with the
 * key, the fix in `details`, never one of attach's flags — all before anything is allocated
 * (parseNetConf, then checkAttachKeys: what ADD runs before IPAM). The missing host device of
 * macvlan/ipvlan/vlan/phys is refused by ADD against the kernel: test/integration/cni-kinds.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetConf } from '../../../src/cni/config.js';
import { cniErrorOf } from '../../../src/cni/failure.js';
import { attachInputOf, checkAttachKeys } from '../../../src/cni/request.js';
import { CniError } from '../../../src/cni/types.js';
import { badInput } from '../../../src/errors.js';

const P = { netns: '/run/netns/pf-a', ifname: 'eth0' };
const conf = (o: Record<string, unknown>) =>
  parseNetConf(JSON.stringify({ cniVersion: '1.1.0', name: 'lab', type: 'pipefitter', ...o }));

/** The error of a configuration's keys, as ADD meets it before IPAM. */
const refusal = (o: Record<string, unknown>): CniError => {
  try {
    checkAttachKeys(conf(o), P);
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(o)}`);
};

const WAYS = {
  bridge: { bridge: 'br-lab' },
  macvlan: { macvlan: 'eth1' },
  ipvlan: { ipvlan: 'eth1' },
  vlan: { vlan: 'eth1', vlanId: 10 },
  phys: { phys: 'eth1' },
} as const;

test('every way of attaching, with its own keys, passes the checks', () => {
  for (const o of [
    { bridge: 'br-lab', vlanId: 10, mtu: 1400, mac: '02:00:00:00:00:01' },
    { bridge: 'br-lab', trunk: [10, 20] },
    { bridge: 'ovs-lab', ovs: true, vlanId: 10 },
    ...['bridge', 'private', 'vepa', 'passthru'].map((mode) => ({ macvlan: 'eth1', mode })),
    { macvlan: 'eth1', vlanId: 10, mac: '02:00:00:00:00:01' },
    ...['l2', 'l3', 'l3s'].map((mode) => ({ ipvlan: 'eth1', mode })),
    { vlan: 'eth1', vlanId: 1 },
    { vlan: 'eth1', vlanId: 4094, mtu: 1400 },
    { phys: 'eth1', mtu: 9000, mac: '02:00:00:00:00:01' },
  ])
    assert.doesNotThrow(() => checkAttachKeys(conf(o), P), JSON.stringify(o));
});

test('two ways at once: error 7 naming both, the fix lists the ways', () => {
  const names = Object.keys(WAYS) as (keyof typeof WAYS)[];
  for (const a of names)
    for (const b of names.filter((x) => names.indexOf(x) > names.indexOf(a))) {
      const e = refusal({ ...WAYS[a], ...WAYS[b] });
      assert.equal(e.code, 7);
      assert.equal(e.message, `${a}, ${b}: only one way of attaching can be given`);
      assert.match(e.details ?? '', /give exactly one of "bridge", "macvlan", "ipvlan", "vlan", "phys"/);
    }
});

test('a key that does not fit the way, or a value out of range: error 7 starting with the key, with the fix', () => {
  const cases: [Record<string, unknown>, RegExp, RegExp][] = [
    // mode: macvlan and ipvlan only, each its own modes
    [
      { bridge: 'br-lab', mode: 'bridge' },
      /^mode "bridge": only applies to macvlan and ipvlan/,
      /^drop mode$/,
    ],
    [
      { ...WAYS.vlan, mode: 'bridge' },
      /^mode "bridge": only applies to macvlan and ipvlan, not vlan/,
      /^drop mode$/,
    ],
    [{ phys: 'eth1', mode: 'l2' }, /^mode "l2": only applies to macvlan and ipvlan, not phys/, /^drop mode$/],
    [{ macvlan: 'eth1', mode: 'l2' }, /^mode "l2": unknown macvlan mode/, /bridge, private, vepa, passthru/],
    [{ ipvlan: 'eth1', mode: 'private' }, /^mode "private": unknown ipvlan mode/, /l2, l3, l3s/],
    [{ macvlan: 'eth1', mode: 'source' }, /^mode "source": unknown macvlan mode/, /bridge/],
    // VLAN ids: 1-4094, wherever given
    ...[0, 4095, -1, 5000].flatMap((id): [Record<string, unknown>, RegExp, RegExp][] => [
      [{ vlan: 'eth1', vlanId: id }, new RegExp(`^vlanId "${id}": VLAN id must be 1-4094`), /1 to 4094/],
      [{ bridge: 'br-lab', vlanId: id }, new RegExp(`^vlanId "${id}": VLAN id must be 1-4094`), /1 to 4094/],
      [{ macvlan: 'eth1', vlanId: id }, new RegExp(`^vlanId "${id}": VLAN id must be 1-4094`), /1 to 4094/],
    ]),
    [{ bridge: 'br-lab', trunk: [10, 4095] }, /^trunk "4095": VLAN id must be 1-4094/, /1 to 4094/],
    [{ vlan: 'eth1' }, /^vlanId: required with vlan/, /vlanId/],
    [{ vlan: 'eth1', vlanId: '10' }, /^vlanId "10": not a whole number/, /"vlanId": 10/],
    [{ phys: 'eth1', vlanId: 10 }, /^vlanId "10": does not apply to phys/, /use vlan/],
    // trunk and ovs: bridge only
    [{ macvlan: 'eth1', trunk: [10] }, /^trunk: only applies to bridge/, /drop trunk/],
    [{ ...WAYS.vlan, trunk: [10] }, /^trunk: only applies to bridge/, /drop trunk/],
    [{ macvlan: 'eth1', ovs: true }, /^ovs true: only applies to "bridge"/, /drop "ovs"/],
    // mac: an ipvlan has its parent's
    [
      { ipvlan: 'eth1', mac: '02:00:00:00:00:01' },
      /^mac "02:00:00:00:00:01": an ipvlan link shares its parent's MAC/,
      /drop mac, or attach with macvlan/,
    ],
    [{ macvlan: 'eth1', mac: 'zz' }, /^mac "zz": /, /./],
    [{ phys: 'eth1', mtu: 20 }, /^mtu "20": /, /68/],
    [{ macvlan: 'eth1-much-too-long' }, /^macvlan "eth1-much-too-long": /, /./],
    [{ phys: 'a/b' }, /^phys "a\/b": /, /./],
  ];
  for (const [o, msg, fix] of cases) {
    const e = refusal(o);
    const what = `${JSON.stringify(o)} -> ${e.message} | ${e.details}`;
    assert.equal(e.code, 7, what);
    assert.match(e.message, msg, what);
    assert.match(e.details ?? '', fix, what);
    assert.doesNotMatch(`${e.message} ${e.details}`, /--/, `no CLI flags in a CNI error: ${what}`);
  }
});

test('each way maps onto its attach input, the bridge-only keys left out elsewhere', () => {
  const input = (o: Record<string, unknown>) => attachInputOf(conf(o), { ...P, hostIfname: 'pfx' });
  assert.deepEqual(
    [input({ macvlan: 'eth1', mode: 'vepa' })].map((i) => [i.macvlan, i.mode, i.hostIfname, i.bridge]),
    [['eth1', 'vepa', undefined, undefined]],
  );
  assert.deepEqual(
    [input({ bridge: 'ovs-lab', ovs: true, vlanId: 7 })].map((i) => [
      i.ovs,
      i.bridge,
      i.vlanId,
      i.hostIfname,
    ]),
    [['ovs-lab', undefined, 7, 'pfx']],
  );
  assert.equal(input({ phys: 'eth1' }).phys, 'eth1');
  assert.deepEqual(input({ bridge: 'br-lab', trunk: [10, 20] }).trunk, [10, 20]);
});

test("errors of the attach pipeline (a plan's refusal) come back in the configuration's words", () => {
  const e = cniErrorOf(
    badInput(
      'E_BAD_VALUE',
      '--mac',
      '02:00:00:00:00:01',
      'not for this link',
      'leave out --mac, or use --macvlan',
    ),
  );
  assert.equal(e.code, 7);
  assert.equal(e.message, 'mac "02:00:00:00:00:01": not for this link');
  assert.equal(e.details, 'leave out mac, or use macvlan');
});
