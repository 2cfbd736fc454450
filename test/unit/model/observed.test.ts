/** Finding a container's veth host end by the kernel's indexes, and by tag when they are not known. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findLink, hostEndOf } from '../../../src/model/observed.js';
import { nic, nsState } from '../../helpers/plan-fixtures.js';

test('the host end is the veth whose index is the inside end peer, and whose peer is the inside end', () => {
  const inside = nic('eth1', { kind: 'veth', ifindex: 5, linkIndex: 20 });
  const right = nic('vright', { kind: 'veth', ifindex: 20, linkIndex: 5 });
  const tagged = nic('vtagged', { kind: 'veth', ifindex: 30, linkIndex: 99, alias: 'mine' });
  const isTagged = (l: { alias?: string | undefined }) => l.alias === 'mine';
  assert.equal(hostEndOf([tagged, right], inside, isTagged)?.name, 'vright');
  // same index but it does not point back (another namespace's eth1 with ifindex 5 is not ours)
  const stranger = nic('vstranger', { kind: 'veth', ifindex: 20, linkIndex: 6 });
  assert.equal(
    hostEndOf([stranger], inside, () => false),
    undefined,
  );
  // a non-veth with those indexes is not it
  assert.equal(
    hostEndOf([nic('br0', { kind: 'bridge', ifindex: 20, linkIndex: 5 })], inside, () => false),
    undefined,
  );
  // no index match: fall back to the tag, but only on a veth
  assert.equal(hostEndOf([stranger, tagged], inside, isTagged)?.name, 'vtagged');
  assert.equal(hostEndOf([nic('x', { alias: 'mine' })], inside, isTagged), undefined);
});

test('without the peer index, or for a planned link (ifindex 0), only the tag finds it', () => {
  const right = nic('vright', { kind: 'veth', ifindex: 20, linkIndex: 0 });
  const tagged = nic('vtagged', { kind: 'veth', ifindex: 30, alias: 'mine' });
  const isTagged = (l: { alias?: string | undefined }) => l.alias === 'mine';
  const noPeer = nic('eth1', { kind: 'veth', ifindex: 5 });
  assert.equal(hostEndOf([right, tagged], noPeer, isTagged)?.name, 'vtagged');
  const planned = nic('eth1', { kind: 'veth', ifindex: 0, linkIndex: 20 });
  assert.equal(
    hostEndOf([nic('v', { kind: 'veth', ifindex: 20, linkIndex: 0 }), tagged], planned, isTagged)?.name,
    'vtagged',
  );
  assert.equal(
    hostEndOf([right], noPeer, () => false),
    undefined,
  );
});

test('findLink by name, in a namespace that may not have been observed', () => {
  const s = nsState([nic('eth1'), nic('eth2', { ifindex: 11 })]);
  assert.equal(findLink(s, 'eth2')?.ifindex, 11);
  assert.equal(findLink(s, 'eth3'), undefined);
  assert.equal(findLink(undefined, 'eth1'), undefined);
});
