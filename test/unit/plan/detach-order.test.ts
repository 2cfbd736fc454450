/**
 * A veth on a bridge is removed by its host end, which takes the inside end (and what is stacked
 * on it, e.g. the VLANs of a trunk) with it: that step belongs to the inside namespace too, so the
 * executor never runs it before the inside's own deletions. (Found in the VM lane: a
 * recipe destroy that deleted a router's trunk while its VLANs were still to be deleted.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTag } from '../../../src/model/owner.js';
import { netnsKey } from '../../../src/model/netns.js';
import { planDetach } from '../../../src/plan/detach.js';
import { parseIfName } from '../../../src/names.js';
import { schedule, touches } from '../../../src/render/schedule.js';
import { netnsTarget, nic, nsState, observed } from '../../helpers/plan-fixtures.js';

test('the host-end deletion of a bridged veth is ordered with the inside namespace', () => {
  const rtr = netnsTarget('rtr');
  const host = nsState([
    nic('br0', { kind: 'bridge', ifindex: 3, alias: encodeTag({ kind: 'bridge' }) }),
    nic('vtrunk', {
      kind: 'veth',
      ifindex: 4,
      master: 'br0',
      linkIndex: 2,
      alias: encodeTag({ kind: 'veth-host', bridge: 'br0', target: 'netns:rtr', ifname: 'eth1' }),
    }),
    nic('veth9', { kind: 'veth', ifindex: 5, master: 'br0' }),
  ]);
  const inside = nsState([
    nic('eth1', {
      kind: 'veth',
      ifindex: 2,
      linkIndex: 4,
      alias: encodeTag({ kind: 'veth', bridge: 'br0', target: 'netns:rtr', ifname: 'eth1' }),
    }),
    nic('eth1.10', {
      kind: 'vlan',
      ifindex: 6,
      parent: 'eth1',
      alias: encodeTag({
        kind: 'vlan',
        parent: 'eth1',
        vlan: 'inside',
        target: 'netns:rtr',
        ifname: 'eth1.10',
      }),
    }),
  ]);
  const world = observed(host, [rtr, inside]);
  const vlan = planDetach(
    { target: rtr, ifname: parseIfName('eth1.10', 'ifname'), force: false },
    world,
  ).steps;
  const trunk = planDetach({ target: rtr, ifname: parseIfName('eth1', 'ifname'), force: false }, world).steps;
  const del = trunk.find((s) => s.id.startsWith('link-del:vtrunk'));
  assert.ok(del, 'removed by its host end');
  assert.ok(touches(del).has(netnsKey(rtr.netns)), 'and that touches the inside namespace');
  // as a destroy lists them: the VLAN first, then the trunk
  const plan = [...vlan, ...trunk];
  const order = schedule(plan);
  const at = (id: string) => order.findIndex((s) => s.id === id);
  assert.ok(at(vlan[0]!.id) < at(del.id), 'the VLAN is deleted before the trunk');
});
