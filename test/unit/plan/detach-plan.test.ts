/** detach: exactly what attach made goes, and what it replaced (default routes) comes back. */
import { argvOf } from '../../../src/render/ip.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planDetach } from '../../../src/plan/detach.js';
import { dhcpStateDir } from '../../../src/plan/dhcp.js';
import type { OwnerTag } from '../../../src/model/owner.js';
import { encodeTag } from '../../../src/model/owner.js';
import type { NetnsState } from '../../../src/model/observed.js';
import { parseIfName } from '../../../src/names.js';
import { isPipefitterError } from '../../../src/errors.js';
import { dumpPlan } from '../../helpers/plan-dump.js';
import { lines, netnsTarget, nic, nsState, observed, route, text } from '../../helpers/plan-fixtures.js';

const r1 = netnsTarget('r1');
const detach = (inside: NetnsState, host: NetnsState = nsState(), force = false) =>
  planDetach({ target: r1, ifname: parseIfName('eth1', 'ifname'), force }, observed(host, [r1, inside]));
const tagged = (t: Partial<OwnerTag> & Pick<OwnerTag, 'kind'>) =>
  encodeTag({ target: 'netns:r1', ifname: 'eth1', ...t });
const macvlan = (t: Partial<OwnerTag> = {}) =>
  nic('eth1', { kind: 'macvlan', alias: tagged({ kind: 'macvlan', parent: 'eth3', ...t }) });
/** A link tagged by an earlier version: a version 1 tag, routes kept as `ip route` words. */
const macvlanV1 = (fields: Record<string, string>) =>
  nic('eth1', {
    kind: 'macvlan',
    alias: `pf1:${new URLSearchParams({ k: 'macvlan', t: 'netns:r1', i: 'eth1', l: 'eth3', ...fields }).toString()}`,
  });

test('nothing of that name: nothing to do, said as a no-op (detach twice is fine)', () => {
  assert.deepEqual(detach(nsState()), {
    steps: [],
    noops: ['netns:r1: no interface "eth1"; nothing to remove'],
    notes: [],
  });
});

test('an interface pipefitter did not make is refused unless forced', () => {
  try {
    detach(nsState([nic('eth1')]));
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isPipefitterError(e));
    assert.deepEqual(
      [e.code, e.message, e.hint],
      [
        'E_NOT_OWNED',
        'netns:r1: interface "eth1": was not made by pipefitter',
        'pipefitter only removes what it made; pass --force to remove it anyway',
      ],
    );
  }
  assert.deepEqual(lines(detach(nsState([nic('eth1')]), nsState(), true)), [
    'netns:r1: ip link del dev eth1',
  ]);
});

test('a tag of ours that does not read (an MTU that is no number) is refused, saying what is wrong, never read as NaN', () => {
  const corrupt = nsState([nic('eth1', { kind: 'macvlan', alias: 'pf2:k=phys&o=eth3&om=abc' })]);
  try {
    detach(corrupt);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isPipefitterError(e));
    assert.deepEqual(
      [e.code, e.message, e.hint],
      [
        'E_NOT_OWNED',
        'netns:r1: interface "eth1": carries a pipefitter tag that cannot be read (ownership tag: field om "abc" is not an MTU (a whole number 68-65535)), so what it replaced cannot be put back',
        'fix or clear its alias (ip link set dev NAME alias ""), or pass --force to remove it anyway',
      ],
    );
  }
  assert.deepEqual(lines(detach(corrupt, nsState(), true)), ['netns:r1: ip link del dev eth1']);
});

test('the default routes an attachment replaced come back: swapped in for ours at the same metric, added otherwise', () => {
  const p = detach(
    nsState(
      [
        nic('eth0', { kind: 'veth' }),
        macvlanV1({
          // the second has another metric; the others name no device, a device that is gone, or this one
          d4: 'via 172.17.0.1 dev eth0;via 172.17.0.2 dev eth0 metric 100;via 10.0.0.1 dev eth7;via 10.0.0.1 dev eth1;via 10.0.0.9',
          d6: 'via fe80::1 dev eth0 metric 1024',
        }),
      ],
      [
        route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth1' }),
        route({ family: 6, dst: 'default', gateway: '2001:db8::1', dev: 'eth1', metric: 1024 }),
      ],
    ),
  );
  assert.equal(
    dumpPlan(p),
    `
1. netns:r1/route-restore:4:eth0:172.17.0.1:0
   netns:r1: ip route replace default via 172.17.0.1 dev eth0
     describes: restore the default route via 172.17.0.1 dev eth0
   undo:
     netns:r1: ip route replace default via 192.0.2.1 dev eth1
       describes: restore route default via 192.0.2.1 dev eth1

2. netns:r1/route-restore:4:eth0:172.17.0.2:100
   netns:r1: ip route add default via 172.17.0.2 dev eth0 metric 100
     describes: restore the default route via 172.17.0.2 dev eth0 metric 100
   undo:
     netns:r1: ip route del default via 172.17.0.2 dev eth0 metric 100
       describes: remove route default via 172.17.0.2 dev eth0 metric 100

3. netns:r1/route-restore:6:eth0:fe80::1:1024
   netns:r1: ip route replace ::/0 via fe80::1 dev eth0
     describes: restore the default route via fe80::1 dev eth0
   undo:
     netns:r1: ip route replace ::/0 via 2001:db8::1 dev eth1
       describes: restore route default via 2001:db8::1 dev eth1

4. netns:r1/link-del:eth1
   netns:r1: ip link del dev eth1
     describes: delete "eth1"
   undo: irreversible
`,
  );
});

test('our default route already gone, or at another metric: the old one is added, and removed on undo', () => {
  const withOurs = (ours: Parameters<typeof route>[0][]) =>
    lines(
      detach(
        nsState(
          [
            nic('eth0', { kind: 'veth' }),
            macvlan({
              prevDefaults: [
                {
                  family: 4,
                  dst: 'default',
                  gateway: '172.17.0.1',
                  dev: 'eth0',
                  onlink: false,
                  type: 'unicast',
                },
                {
                  family: 6,
                  dst: 'default',
                  gateway: 'fe80::1',
                  dev: 'eth0',
                  onlink: false,
                  type: 'unicast',
                },
              ],
            }),
          ],
          ours.map(route),
        ),
      ),
    );
  const added = [
    'netns:r1: ip route add default via 172.17.0.1 dev eth0',
    'netns:r1: ip route add ::/0 via fe80::1 dev eth0',
    'netns:r1: ip link del dev eth1',
  ];
  assert.deepEqual(withOurs([]), added);
  assert.deepEqual(
    withOurs([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth1', metric: 5 },
      { family: 6, dst: 'default', gateway: '2001:db8::1', dev: 'eth1', metric: 5 },
    ]),
    added,
  );
  // the kernel's defaults: 0 for IPv4, 1024 for IPv6
  assert.deepEqual(
    withOurs([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth1' },
      { family: 6, dst: 'default', gateway: '2001:db8::1', dev: 'eth1' },
    ]),
    [
      'netns:r1: ip route replace default via 172.17.0.1 dev eth0',
      'netns:r1: ip route replace ::/0 via fe80::1 dev eth0',
      'netns:r1: ip link del dev eth1',
    ],
  );
  // another interface's default route is not ours to swap
  assert.deepEqual(withOurs([{ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' }]), added);
  // back already (a detach killed after putting them back, run again): not put back twice
  assert.deepEqual(
    withOurs([
      { dst: 'default', gateway: '172.17.0.1', dev: 'eth0' },
      { family: 6, dst: 'default', gateway: 'fe80::1', dev: 'eth0', metric: 1024 },
    ]),
    ['netns:r1: ip link del dev eth1'],
  );
});

test('a DHCP client goes first; a pair takes its peer along, said in a note', () => {
  const dhcp = detach(nsState([macvlan({ dhcp: true })]));
  assert.deepEqual(
    dhcp.steps.map((s) => [s.id, s.netns, s.undo]),
    [
      ['netns:r1/dhcp-stop:eth1', r1.netns, 'irreversible'],
      ['netns:r1/link-del:eth1', r1.netns, 'irreversible'],
    ],
  );
  // its state directory, under PIPEFITTER_RUN_DIR (/run/pipefitter by default; npm test sets one)
  assert.match(text(argvOf(dhcp.steps[0]!)), /pipefitter-dhcp stop \S+$/);
  assert.equal(argvOf(dhcp.steps[0]!).at(-1), dhcpStateDir('netns:r1', 'eth1'));
  assert.equal(dhcp.steps[0]!.describes, 'stop the DHCP client of "eth1" and remove its state');
  const pair = detach(
    nsState([
      nic('eth1', { kind: 'veth', alias: tagged({ kind: 'pair', peer: 'netns:r2', peerIfname: 'eth2' }) }),
    ]),
  );
  assert.deepEqual(
    [lines(pair), pair.notes],
    [['netns:r1: ip link del dev eth1'], ['netns:r1: the peer end netns:r2:eth2 goes with it']],
  );
  const older = detach(
    nsState([nic('eth1', { kind: 'veth', alias: tagged({ kind: 'pair', peer: 'netns:r2' }) })]),
  );
  assert.deepEqual(older.notes, ['netns:r1: the peer end netns:r2:? goes with it']);
});

test('a bridge port goes by its host end; the bridge stays while it has ports, or when it is not ours', () => {
  const hostTag = encodeTag({ kind: 'veth-host', target: 'netns:r1', ifname: 'eth1', bridge: 'br0' });
  const inside = nsState([
    nic('eth1', { kind: 'veth', ifindex: 5, linkIndex: 20, alias: tagged({ kind: 'veth', bridge: 'br0' }) }),
  ]);
  const end = nic('vh', { kind: 'veth', ifindex: 20, linkIndex: 5, master: 'br0', alias: hostTag });
  const other = nic('vother', { kind: 'veth', ifindex: 21, master: 'br0' });
  const ours = nic('br0', { kind: 'bridge', alias: 'pf1:k=bridge' });
  assert.deepEqual(lines(detach(inside, nsState([ours, end, other]))), ['host: ip link del dev vh']);
  assert.deepEqual(lines(detach(inside, nsState([nic('br0', { kind: 'bridge' }), end]))), [
    'host: ip link del dev vh',
  ]);
  // the bridge first: the port's tag, which names it, stays until the end
  assert.deepEqual(lines(detach(inside, nsState([ours, end]))), [
    'host: ip link del dev br0',
    'host: ip link del dev vh',
  ]);
  // the host end not found: the inside end goes (and takes its peer along)
  assert.deepEqual(lines(detach(inside, nsState([ours]))), [
    'host: ip link del dev br0',
    'netns:r1: ip link del dev eth1',
  ]);
});

test('default routes saved in a version 2 tag come back as those of a version 1 tag do', () => {
  const ours = [
    route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth1' }),
    route({ family: 6, dst: 'default', gateway: '2001:db8::1', dev: 'eth1', metric: 1024 }),
  ];
  const v1 = detach(
    nsState(
      [
        nic('eth0', { kind: 'veth' }),
        macvlanV1({
          d4: 'via 172.17.0.2 dev eth0 metric 100;via 172.17.0.1 dev eth0',
          d6: 'via fe80::1 dev eth0',
        }),
      ],
      ours,
    ),
  );
  const v2 = detach(
    nsState(
      [
        nic('eth0', { kind: 'veth' }),
        macvlan({
          prevDefaults: [
            {
              family: 4,
              dst: 'default',
              gateway: '172.17.0.2',
              dev: 'eth0',
              metric: 100,
              protocol: 'boot',
              onlink: false,
              type: 'unicast',
            },
            {
              family: 4,
              dst: 'default',
              gateway: '172.17.0.1',
              dev: 'eth0',
              protocol: 'boot',
              onlink: false,
              type: 'unicast',
            },
            {
              family: 6,
              dst: 'default',
              gateway: 'fe80::1',
              dev: 'eth0',
              metric: 1024,
              protocol: 'boot',
              onlink: false,
              type: 'unicast',
            },
          ],
        }),
      ],
      ours,
    ),
  );
  assert.equal(dumpPlan(v2), dumpPlan(v1));
  assert.deepEqual(lines(v2), [
    'netns:r1: ip route add default via 172.17.0.2 dev eth0 metric 100',
    'netns:r1: ip route replace default via 172.17.0.1 dev eth0',
    'netns:r1: ip route replace ::/0 via fe80::1 dev eth0',
    'netns:r1: ip link del dev eth1',
  ]);
});
