/**
 * An interface of the asked-for name is there already: this attachment (drift is repaired in
 * place), or something else, refused with what differs.
 */
import { argvOf } from '../../../src/render/ip.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAttach } from '../../../src/plan/attach.js';
import { parsePairInput } from '../../../src/model/input.js';
import type { AttachInput } from '../../../src/model/input.js';
import type { OwnerTag } from '../../../src/model/owner.js';
import { encodeTag } from '../../../src/model/owner.js';
import type { ObservedLink } from '../../../src/model/observed.js';
import type { Attachment } from '../../../src/model/attachment.js';
import { isPipefitterError } from '../../../src/errors.js';
import { dumpPlan, golden } from '../../helpers/plan-dump.js';
import { netnsTarget, nic, nsState, observed, route, text } from '../../helpers/plan-fixtures.js';
import { attachment } from '../../helpers/plan-cases.js';

const r1 = netnsTarget('r1');
const r2 = netnsTarget('r2');
const att = (input: Omit<AttachInput, 'target'>, owner?: string) => attachment(r1, input, owner);
const pair = (peerIfname: string): Attachment => {
  const req = parsePairInput({ a: 'netns:r1:eth1', b: `netns:r2:${peerIfname}` });
  if (req.link.kind !== 'pair') throw new Error('pair');
  return { target: r1, iface: req.iface, link: { ...req.link, peer: r2 } };
};
const ours = (tag: Partial<OwnerTag> & Pick<OwnerTag, 'kind'>, p: Partial<ObservedLink> = {}) =>
  nic('eth1', { alias: encodeTag({ target: 'netns:r1', ifname: 'eth1', ...tag }), ...p });

/** What differs, as the refusal says it; "same" when the interface is taken as this attachment. */
const differs = (inside: ObservedLink, a: Attachment): string => {
  try {
    planAttach([a], observed(nsState(), [r1, nsState([inside])], [r2, nsState()]));
    return 'same';
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    const m = /already exists with other settings \((.*)\)$/.exec(e.message);
    return m?.[1] ?? e.message;
  }
};

test('the refusal names the interface, what differs, and the three ways out', () => {
  try {
    planAttach([att({ bridge: 'br0' })], observed(nsState(), [r1, nsState([nic('eth1')])]));
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isPipefitterError(e));
    assert.deepEqual(
      [e.code, e.message, e.hint],
      [
        'E_CONFLICT',
        'netns:r1: interface "eth1": already exists with other settings (it was not made by pipefitter)',
        'detach it first (pipefitter detach netns:r1 --ifname eth1), choose another --ifname, or pass --replace',
      ],
    );
  }
});

test('who made it: renamed since, another recipe, attach instead of a recipe, another kind', () => {
  assert.equal(
    differs(ours({ kind: 'veth', bridge: 'br0', ifname: 'eth9' }), att({ bridge: 'br0' })),
    'pipefitter made it as "eth9" (renamed since)',
  );
  // a tag without ifname (older) is not taken as renamed
  assert.equal(
    differs(nic('eth1', { alias: encodeTag({ kind: 'veth', bridge: 'br0' }) }), att({ bridge: 'br0' })),
    'same',
  );
  assert.equal(
    differs(ours({ kind: 'veth', bridge: 'br0', recipe: 'lab' }), att({ bridge: 'br0' })),
    'it belongs to recipe "lab"',
  );
  assert.equal(
    differs(ours({ kind: 'veth', bridge: 'br0', recipe: 'lab' }), att({ bridge: 'br0' }, 'other')),
    'it belongs to recipe "lab"',
  );
  assert.equal(
    differs(ours({ kind: 'veth', bridge: 'br0' }), att({ bridge: 'br0' }, 'lab')),
    'it was made by `pipefitter attach`, not by this recipe',
  );
  assert.equal(
    differs(ours({ kind: 'veth', bridge: 'br0', recipe: 'lab' }), att({ bridge: 'br0' }, 'lab')),
    'same',
  );
  assert.equal(
    differs(ours({ kind: 'macvlan', parent: 'eth3' }), att({ bridge: 'br0' })),
    'it is a macvlan link, asked for veth',
  );
});

test('a bridge port: its bridge, Linux or Open vSwitch, access VLAN and trunk VLANs', () => {
  const port = (tag: Partial<OwnerTag> = {}) => ours({ kind: 'veth', bridge: 'br0', ...tag });
  assert.equal(differs(port(), att({ bridge: 'br1' })), 'it is a port of bridge br0, asked for br1');
  assert.equal(
    differs(ours({ kind: 'veth' }), att({ bridge: 'br1' })),
    'it is a port of bridge ?, asked for br1',
  );
  assert.equal(
    differs(port({ parent: 'ovs' }), att({ bridge: 'br0' })),
    'it is a port of an Open vSwitch bridge',
  );
  assert.equal(differs(port(), att({ ovs: 'br0' })), 'it is a port of a Linux bridge');
  assert.equal(differs(port({ parent: 'ovs' }), att({ ovs: 'br0' })), 'same');
  assert.equal(differs(port({ vlan: 5 }), att({ bridge: 'br0' })), 'its access VLAN is 5, asked for none');
  assert.equal(differs(port(), att({ bridge: 'br0', vlanId: 7 })), 'its access VLAN is none, asked for 7');
  assert.equal(differs(port({ vlan: 7 }), att({ bridge: 'br0', vlanId: 7 })), 'same');
  // trunk VLANs compare as a set, in order
  assert.equal(differs(port({ trunk: [10, 20] }), att({ bridge: 'br0', trunk: '20,10,20' })), 'same');
  assert.equal(differs(port({ trunk: [2, 10] }), att({ bridge: 'br0', trunk: '10,2' })), 'same');
  assert.equal(
    differs(port({ trunk: [10, 20] }), att({ bridge: 'br0', trunk: '10' })),
    'its trunk VLANs are 10,20, asked for 10',
  );
  assert.equal(
    differs(port(), att({ bridge: 'br0', trunk: '30,40' })),
    'its trunk VLANs are none, asked for 30,40',
  );
  assert.equal(
    differs(port({ trunk: [10] }), att({ bridge: 'br0' })),
    'its trunk VLANs are 10, asked for none',
  );
});

test('macvlan and ipvlan: parent (PARENT.VLAN with a VLAN) and mode; VLAN: parent and id; phys: which device', () => {
  // macvlan and ipvlan alike: the parent, then the mode (its default, another one, and unobserved)
  for (const [kind, modeKey, dflt, other, asked] of [
    ['macvlan', 'macvlanMode', 'bridge', 'private', 'vepa'],
    ['ipvlan', 'ipvlanMode', 'l2', 'l3', 'l3'],
  ] as const) {
    const k = (tag: Partial<OwnerTag> = {}, p: Partial<ObservedLink> = {}) =>
      ours({ kind, parent: 'eth3', ...tag }, { kind, ...p });
    const ask = (parent: string, more: Record<string, unknown> = {}) => att({ [kind]: parent, ...more });
    assert.equal(differs(k(), ask('eth4')), 'its parent is eth3, asked for eth4');
    assert.equal(differs(k(), ask('eth3', { vlanId: 7 })), 'its parent is eth3, asked for eth3.7');
    assert.equal(differs(k({ parent: 'eth3.7' }), ask('eth3', { vlanId: 7 })), 'same');
    assert.equal(differs(k({ parent: undefined }), ask('eth3')), 'its parent is ?, asked for eth3');
    assert.equal(
      differs(k({}, { [modeKey]: other }), ask('eth3')),
      `its mode is ${other}, asked for ${dflt}`,
    );
    assert.equal(differs(k({}, { [modeKey]: asked }), ask('eth3', { mode: asked })), 'same');
    // the mode not observed: not a difference
    assert.equal(differs(k(), ask('eth3', { mode: asked })), 'same');
  }

  const vl = (tag: Partial<OwnerTag> = {}, p: Partial<ObservedLink> = {}) =>
    ours({ kind: 'vlan', parent: 'eth3', ...tag }, { kind: 'vlan', ...p });
  assert.equal(differs(vl(), att({ vlan: 'eth4', vlanId: 5 })), 'its parent is eth3, asked for eth4');
  assert.equal(
    differs(vl({ parent: undefined }), att({ vlan: 'eth3', vlanId: 5 })),
    'its parent is ?, asked for eth3',
  );
  assert.equal(
    differs(vl({}, { vlanId: 5 }), att({ vlan: 'eth3', vlanId: 6 })),
    'its VLAN id is 5, asked for 6',
  );
  assert.equal(differs(vl({}, { vlanId: 5 }), att({ vlan: 'eth3', vlanId: 5 })), 'same');
  assert.equal(differs(vl(), att({ vlan: 'eth3', vlanId: 6 })), 'same');

  const ph = (tag: Partial<OwnerTag> = {}) => ours({ kind: 'phys', origName: 'eth3', ...tag });
  assert.equal(differs(ph(), att({ phys: 'eth4' })), 'it is host interface eth3, asked for eth4');
  assert.equal(
    differs(ph({ origName: undefined }), att({ phys: 'eth4' })),
    'it is host interface ?, asked for eth4',
  );
});

test('a pair: the peer and its interface; then DHCP against static addresses', () => {
  const p = (tag: Partial<OwnerTag> = {}) =>
    ours({ kind: 'pair', peer: 'netns:r2', peerIfname: 'eth1', ...tag });
  assert.equal(differs(p(), pair('eth1')), 'same');
  assert.equal(
    differs(p({ peer: 'netns:r3' }), pair('eth1')),
    'its peer is netns:r3:eth1, asked for netns:r2:eth1',
  );
  assert.equal(differs(p(), pair('eth2')), 'its peer is netns:r2:eth1, asked for netns:r2:eth2');
  assert.equal(differs(ours({ kind: 'pair' }), pair('eth2')), 'its peer is ?:?, asked for netns:r2:eth2');
  assert.equal(
    differs(ours({ kind: 'veth', bridge: 'br0', dhcp: true }), att({ bridge: 'br0', ip: '192.0.2.10/24' })),
    'it is addressed by DHCP',
  );
  assert.equal(
    differs(ours({ kind: 'veth', bridge: 'br0' }), att({ bridge: 'br0', dhcp: 'dhcp' })),
    'it has static addresses',
  );
});

const portTag = encodeTag({ kind: 'veth', target: 'netns:r1', ifname: 'eth1', bridge: 'br0' });
const hostEnd = (p: Partial<ObservedLink> = {}) =>
  nic('vh', {
    kind: 'veth',
    ifindex: 20,
    linkIndex: 5,
    master: 'br0',
    alias: encodeTag({ kind: 'veth-host', target: 'netns:r1', ifname: 'eth1', bridge: 'br0' }),
    ...p,
  });
const br0 = nic('br0', { kind: 'bridge', ifindex: 2 });

test('our port drifted: back on its bridge and up, MTU (both ends) and MAC in place, addresses not asked for removed', () => {
  const inside = nsState(
    [
      nic('eth1', {
        kind: 'veth',
        ifindex: 5,
        linkIndex: 20,
        alias: portTag,
        mac: '02:00:00:00:00:01',
        addrs: [
          // the subnet's primary: deleting it takes the wanted secondary 192.0.2.10 along, so that one is re-added
          { family: 4, address: '192.0.2.11', prefix: 24, scope: 'global', broadcast: '192.0.2.255' },
          { family: 4, address: '192.0.2.10', prefix: 24, scope: 'global' },
          { family: 4, address: '198.51.100.5', prefix: 24, scope: 'global' },
          { family: 4, address: '203.0.113.5', prefix: 24, scope: 'global' },
          { family: 6, address: '2001:db8::5', prefix: 64, scope: 'global' },
          { family: 6, address: 'fe80::5', prefix: 64, scope: 'link' },
        ],
      }),
    ],
    [route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth1' })],
  );
  const p = planAttach(
    [
      att({
        bridge: 'br0',
        ip: ['192.0.2.10/24', '203.0.113.5/24'],
        gateway: '192.0.2.1',
        mtu: 9000,
        mac: '02:00:00:00:00:10',
      }),
    ],
    observed(nsState([br0, hostEnd({ up: false, master: 'br-old' })]), [r1, inside]),
  );
  golden('repair-bridge-port.plan.txt', dumpPlan(p));
  // in place already: nothing to do
  const same = planAttach(
    [att({ bridge: 'br0', ip: '192.0.2.10/24', mtu: 1500, mac: '02:aa:00:00:00:01' })],
    observed(nsState([br0, hostEnd()]), [
      r1,
      nsState([
        nic('eth1', {
          kind: 'veth',
          ifindex: 5,
          linkIndex: 20,
          alias: portTag,
          addrs: [{ family: 4, address: '192.0.2.10', prefix: 24, scope: 'global' }],
        }),
      ]),
    ]),
  );
  assert.deepEqual(
    [same.steps, same.notes, same.noops],
    [[], [], ['netns:r1: eth1 already has 192.0.2.10/24', 'netns:r1: eth1 is in place']],
  );
});

test('repairs that are not needed or not ours: DHCP addresses, a host parent of a VLAN inside, an Open vSwitch port', () => {
  // a DHCP client owns the addresses: none is removed
  const dhcpTag = encodeTag({ kind: 'veth', target: 'netns:r1', ifname: 'eth1', bridge: 'br0', dhcp: true });
  const dhcp = planAttach(
    [att({ bridge: 'br0', dhcp: 'dhcp' })],
    observed(nsState([br0, hostEnd()]), [
      r1,
      nsState([
        nic('eth1', {
          kind: 'veth',
          ifindex: 5,
          linkIndex: 20,
          alias: dhcpTag,
          addrs: [{ family: 4, address: '192.0.2.77', prefix: 24, scope: 'global' }],
        }),
      ]),
    ]),
  );
  assert.deepEqual(dhcp.steps, []);
  // the parent of a VLAN made on a trunk inside the target is not the host's interface of that name
  const vtag = encodeTag({ kind: 'vlan', target: 'netns:r1', ifname: 'eth1.5', parent: 'eth1' });
  const inside = planAttach(
    [att({ vlan: 'eth1', vlanId: 5, inside: true, ifname: 'eth1.5' })],
    observed(nsState([nic('eth1', { ifindex: 3, up: false })]), [
      r1,
      nsState([nic('eth1', { up: false }), nic('eth1.5', { kind: 'vlan', alias: vtag })]),
    ]),
  );
  assert.deepEqual([inside.steps, inside.records], [[], undefined]);
  // an Open vSwitch port has no Linux master to put back
  const ovsTag = encodeTag({
    kind: 'veth',
    target: 'netns:r1',
    ifname: 'eth1',
    bridge: 'ovs0',
    parent: 'ovs',
  });
  const ovsHost = {
    ...nsState([
      nic('ovs0', { kind: 'openvswitch' }),
      hostEnd({
        master: 'ovs-system',
        alias: encodeTag({ kind: 'veth-host', target: 'netns:r1', ifname: 'eth1', bridge: 'ovs0' }),
      }),
    ]),
    ovs: new Map([['ovs0', ['vh']]]),
  };
  const ovs = planAttach(
    [att({ ovs: 'ovs0' })],
    observed(ovsHost, [
      r1,
      nsState([nic('eth1', { kind: 'veth', ifindex: 5, linkIndex: 20, alias: ovsTag })]),
    ]),
  );
  assert.ok(
    !ovs.steps.some((s) => argvOf(s).includes('master')),
    JSON.stringify(ovs.steps.map((s) => argvOf(s))),
  );
});

test('a macvlan whose host parent went down since: the parent is brought up again and counted', () => {
  const mtag = encodeTag({ kind: 'macvlan', target: 'netns:r1', ifname: 'eth1', parent: 'eth3' });
  const p = planAttach(
    [att({ macvlan: 'eth3' })],
    observed(nsState([nic('eth3', { ifindex: 3, up: false })]), [
      r1,
      nsState([nic('eth1', { kind: 'macvlan', alias: mtag })]),
    ]),
  );
  assert.deepEqual(
    p.steps.map((s) => [s.netns.kind, text(argvOf(s))]),
    [['host', 'ip link set dev eth3 up']],
  );
  assert.deepEqual(p.records, [
    { kind: 'parent-user', parent: 'eth3', ifindex: 3, user: 'netns:r1/eth1', op: 'add' },
  ]);
});
