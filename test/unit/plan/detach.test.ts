/**
 * Detach of an interface with a DHCP client: the client is stopped and its state removed before
 * the link goes — and also when the link is gone already (the namespace was made anew by a
 * restart, and the client lives on in the old one), which detach used to treat as nothing to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DHCP_RUNNER } from '../../../src/libexec.js';
import { encodeTag } from '../../../src/model/owner.js';
import { parseAttachInput } from '../../../src/model/input.js';
import { planDetach } from '../../../src/plan/detach.js';
import { dhcpStateDir } from '../../../src/plan/dhcp.js';
import { lines, netnsTarget, nic, nsState, observed } from '../../helpers/plan-fixtures.js';

const r1 = netnsTarget('r1');
const eth1 = parseAttachInput({ target: 'x', bridge: 'b' }).iface.ifname;
const stop = `netns:r1: ${DHCP_RUNNER} stop ${dhcpStateDir('netns:r1', 'eth1')}`;
const req = { target: r1, ifname: eth1, force: false };

test('the interface is gone but its DHCP state is there: the client is stopped, its state removed', () => {
  const p = planDetach(req, observed(nsState(), [r1, nsState()]), { dhcpState: true });
  assert.deepEqual(lines(p), [stop]);
  assert.equal(p.steps[0]?.undo, 'irreversible');
  assert.match(p.steps[0]?.describes ?? '', /stop the DHCP client of "eth1".*the interface is gone/);
  // nothing there at all: nothing to do, as before
  const none = planDetach(req, observed(nsState(), [r1, nsState()]), { dhcpState: false });
  assert.deepEqual(none.steps, []);
  assert.deepEqual(none.noops, ['netns:r1: no interface "eth1"; nothing to remove']);
  assert.deepEqual(planDetach(req, observed(nsState(), [r1, nsState()])).steps, []);
});

test('the client of an interface addressed by DHCP goes before its link; a static one now, with a client left from before, too', () => {
  const link = (dhcp: boolean) =>
    nsState([
      nic('eth1', {
        kind: 'macvlan',
        alias: encodeTag({
          kind: 'macvlan',
          target: 'netns:r1',
          ifname: 'eth1',
          parent: 'eth3',
          ...(dhcp ? { dhcp: true } : {}),
        }),
      }),
    ]);
  const host = nsState([nic('eth3')]);
  for (const [dhcp, state] of [
    [true, false],
    [true, true],
    [false, true],
  ] as const)
    assert.deepEqual(
      lines(planDetach(req, observed(host, [r1, link(dhcp)]), { dhcpState: state })),
      [stop, 'netns:r1: ip link del dev eth1'],
      `dhcp tag ${dhcp}, state ${state}`,
    );
  assert.deepEqual(lines(planDetach(req, observed(host, [r1, link(false)]))), [
    'netns:r1: ip link del dev eth1',
  ]);
});

test('the last detach takes down a parent pipefitter brought up, unless something is stacked on it — its veth peer is not', () => {
  const tag = encodeTag({ kind: 'macvlan', target: 'netns:r1', ifname: 'eth1', parent: 'pn0' });
  const inside = nsState([nic('eth1', { kind: 'macvlan', alias: tag })]);
  const host = (stacked: Parameters<typeof nic>[1]) => ({
    ...nsState([
      nic('pn0', { ifindex: 20, kind: 'veth', parent: 'pp0' }),
      nic('pp0', { ifindex: 21, kind: 'veth', parent: 'pn0' }),
      nic('pn0.7', { ifindex: 22, ...stacked }),
    ]),
    parentsUp: new Map([['pn0', { ifindex: 20, users: ['netns:r1/eth1'] }]]),
  });
  // a veth pair on the host, as a NIC's stand-in: its peer does not keep it up
  const alone = planDetach(req, observed(host({ kind: 'veth', parent: 'pp9' }), [r1, inside]));
  assert.deepEqual(lines(alone), ['netns:r1: ip link del dev eth1', 'host: ip link set dev pn0 down']);
  // a VLAN on it does
  const vlan = planDetach(req, observed(host({ kind: 'vlan', parent: 'pn0' }), [r1, inside]));
  assert.deepEqual(lines(vlan), ['netns:r1: ip link del dev eth1']);
  assert.ok(
    vlan.notes.includes(
      'host interface "pn0" stays up although pipefitter brought it up: "pn0.7" is stacked on it',
    ),
  );
});
