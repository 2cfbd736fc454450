/** pipework's "what is this host interface?" rule, decided on the observed host. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipework } from '../../../src/compat/pipework.js';
import type { Attachment } from '../../../src/model/attachment.js';
import type { ObservedLink } from '../../../src/model/observed.js';
import { PlanContext } from '../../../src/plan/context.js';
import { resolveAuto } from '../../../src/plan/auto.js';
import { isPipefitterError } from '../../../src/errors.js';
import { netnsTarget, nic, nsState, observed } from '../../helpers/plan-fixtures.js';

const r1 = netnsTarget('r1');
const pipework = (...argv: string[]): Attachment => {
  const cmd = parsePipework(argv);
  if (cmd.kind !== 'attach' || cmd.request.link.kind === 'pair') throw new Error(argv.join(' '));
  return { target: r1, iface: cmd.request.iface, link: cmd.request.link };
};
const resolve = (hostLinks: ObservedLink[], ...argv: string[]) =>
  resolveAuto(new PlanContext(observed(nsState(hostLinks), [r1, nsState()])), pipework(...argv)).link;
const refusal = (hostLinks: ObservedLink[], ...argv: string[]) => {
  try {
    resolve(hostLinks, ...argv);
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    return [e.code, e.message, e.hint];
  }
  throw new Error('accepted');
};

const eth3 = nic('eth3', { mac: '02:00:00:00:00:03' });
const br0 = nic('br0', { kind: 'bridge', mac: '02:00:00:00:00:03' });
const ovs0 = nic('ovs0', { kind: 'openvswitch' });
const bridgeTo = (name: string, more: object = {}) => ({
  kind: 'bridge',
  bridge: name,
  create: true,
  bridgeAddrs: [],
  hostIfname: undefined,
  vlan: undefined,
  ...more,
});

test('an existing Linux or Open vSwitch bridge, or a missing name starting with br / ovs: a veth into it', () => {
  assert.deepEqual(resolve([br0], 'br0', 'r1', '192.0.2.10/24'), bridgeTo('br0'));
  assert.deepEqual(resolve([], 'br1', 'r1', '192.0.2.10/24'), bridgeTo('br1'));
  assert.deepEqual(resolve([ovs0], 'ovs0', 'r1', '192.0.2.10/24'), bridgeTo('ovs0', { ovs: true }));
  assert.deepEqual(resolve([], 'ovsbr1', 'r1', '192.0.2.10/24'), bridgeTo('ovsbr1', { ovs: true }));
  // the VLAN and the host side name (-l) go along
  assert.deepEqual(
    resolve([br0], 'br0', '-l', 'vh1', 'r1', '192.0.2.10/24@192.0.2.1', '@7'),
    bridgeTo('br0', { hostIfname: 'vh1', vlan: 7 }),
  );
  // an existing interface named like a bridge is what it is: not a bridge
  assert.deepEqual(resolve([nic('br5')], 'br5', 'r1', '192.0.2.10/24'), {
    kind: 'macvlan',
    parent: 'br5',
    mode: 'bridge',
    vlan: undefined,
  });
  assert.deepEqual(resolve([nic('ovs5', { kind: 'veth' })], 'ovs5', 'r1', '192.0.2.10/24').kind, 'macvlan');
});

test('any other existing interface: a macvlan on it in bridge mode, or itself with --direct-phys', () => {
  assert.deepEqual(resolve([eth3], 'eth3', 'r1', '192.0.2.10/24@192.0.2.1', '@30'), {
    kind: 'macvlan',
    parent: 'eth3',
    mode: 'bridge',
    vlan: 30,
  });
  assert.deepEqual(resolve([eth3], '--direct-phys', 'eth3', 'r1', '192.0.2.10/24'), {
    kind: 'phys',
    device: 'eth3',
  });
});

test('by MAC address: the interface that has it, never a bridge that copied it', () => {
  assert.deepEqual(resolve([br0, eth3], 'mac:02:00:00:00:00:03', 'r1', '192.0.2.10/24'), {
    kind: 'macvlan',
    parent: 'eth3',
    mode: 'bridge',
    vlan: undefined,
  });
  assert.deepEqual(refusal([br0], 'mac:02:00:00:00:00:03', 'r1', '192.0.2.10/24'), [
    'E_NO_HOST_IF',
    'mac:02:00:00:00:00:03: no host interface has this MAC address',
    'check the MAC with `ip -br link`, or name the interface',
  ]);
});

test('refused: a missing name that is not a bridge name, and --direct-phys on a bridge', () => {
  assert.deepEqual(refusal([], 'eth9', 'r1', '192.0.2.10/24'), [
    'E_NO_HOST_IF',
    'host interface "eth9": does not exist, and only names starting with "br" (a new bridge) are made on the fly',
    'give an existing host interface (`ip -br link`), or a bridge name such as br1',
  ]);
  assert.deepEqual(refusal([br0], '--direct-phys', 'br0', 'r1', '192.0.2.10/24'), [
    'E_CONFLICT',
    'host interface "br0": is a bridge; --direct-phys moves a physical interface',
    'drop --direct-phys',
  ]);
  assert.deepEqual(refusal([], '--direct-phys', 'br7', 'r1', '192.0.2.10/24'), [
    'E_CONFLICT',
    'host interface "br7": is a bridge; --direct-phys moves a physical interface',
    'drop --direct-phys',
  ]);
  assert.deepEqual(refusal([ovs0], '--direct-phys', 'ovs0', 'r1', '192.0.2.10/24'), [
    'E_CONFLICT',
    'host interface "ovs0": is an Open vSwitch bridge; --direct-phys moves a physical interface',
    'drop --direct-phys',
  ]);
});

test('a link that is not "auto" is left as it is', () => {
  const a: Attachment = {
    ...pipework('br0', 'r1', '192.0.2.10/24'),
    link: { kind: 'phys', device: eth3.name as never },
  };
  assert.deepEqual(resolveAuto(new PlanContext(observed(nsState(), [r1, nsState()])), a), a);
});
