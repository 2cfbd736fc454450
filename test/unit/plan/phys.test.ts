/**
 * A host NIC moved into a container and home again: what leaves the host with it (and is put
 * back), its name, MTU, MAC, alias and up state, as golden plans; and each refusal.
 */
import { refusal } from '../../helpers/errors.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAttach } from '../../../src/plan/attach.js';
import type { AttachInput } from '../../../src/model/input.js';
import type { NetnsState, ObservedLink } from '../../../src/model/observed.js';
import type { AttachPlanOptions } from '../../../src/plan/options.js';
import { encodeTag } from '../../../src/model/owner.js';
import { dumpPlan, golden } from '../../helpers/plan-dump.js';
import { lines, netnsTarget, nic, nsState, observed, route } from '../../helpers/plan-fixtures.js';
import { attachment, detachPlan } from '../../helpers/plan-cases.js';

const r1 = netnsTarget('r1');
const att = (input: Omit<AttachInput, 'target'>) => attachment(r1, input);
const eth3 = (p: Partial<ObservedLink> = {}) =>
  nic('eth3', {
    ifindex: 3,
    alias: 'uplink 2',
    mac: '02:00:00:00:00:03',
    addrs: [
      { family: 4, address: '198.51.100.3', prefix: 24, scope: 'global', broadcast: '198.51.100.255' },
      { family: 6, address: '2001:db8:3::3', prefix: 64, scope: 'global' },
      { family: 6, address: 'fe80::3', prefix: 64, scope: 'link' },
    ],
    ...p,
  });
const hostWith = (dev: ObservedLink, routes = true): NetnsState =>
  nsState(
    [dev],
    routes
      ? [
          // derived from the address: comes back with it
          route({ dst: '198.51.100.0/24', dev: 'eth3', protocol: 'kernel', scope: 'link' }),
          route({ dst: '203.0.113.0/24', gateway: '198.51.100.1', dev: 'eth3' }),
          // not unicast, or through another interface: not its to take
          route({ dst: '192.0.2.0/24', dev: 'eth3', type: 'blackhole' }),
          route({ dst: '10.9.0.0/16', dev: 'eth9' }),
        ]
      : [],
  );
const move = (
  host: NetnsState,
  input: Omit<AttachInput, 'target'>,
  opts: AttachPlanOptions = {},
  inside = nsState(),
) => planAttach([att(input)], observed(host, [r1, inside]), opts);

test('moved in: its global addresses and its own routes leave the host first, each undone; the tag remembers them', () => {
  const p = move(hostWith(eth3()), {
    phys: 'eth3',
    ip: '192.0.2.10/24',
    mtu: 9000,
    mac: '02:00:00:00:00:10',
  });
  golden('attach-phys.plan.txt', dumpPlan(p));
});

test('home again: renamed back, MTU and MAC restored, then up with its addresses and routes, and its own alias last', () => {
  const tag = encodeTag({
    kind: 'phys',
    target: 'netns:r1',
    ifname: 'eth1',
    origName: 'eth3',
    prevAlias: 'uplink 2',
    origMtu: 1500,
    origMac: '02:00:00:00:00:03',
    origUp: true,
    hostAddrs: [
      { family: 4, address: '198.51.100.3', prefix: 24, broadcast: '198.51.100.255' },
      { family: 6, address: '2001:db8:3::3', prefix: 64 },
    ],
    hostRoutes: [
      {
        family: 4,
        dst: '203.0.113.0/24',
        gateway: '198.51.100.1',
        dev: 'eth3',
        protocol: 'boot',
        onlink: false,
        type: 'unicast',
      },
    ],
  });
  // the same device, tagged by an earlier version (routes and addresses kept as `ip` words)
  const tagV1 = `pf1:${new URLSearchParams({
    k: 'phys',
    t: 'netns:r1',
    i: 'eth1',
    o: 'eth3',
    pa: 'uplink 2',
    om: '1500',
    oa: '02:00:00:00:00:03',
    ou: '1',
    ha: '198.51.100.3/24 brd 198.51.100.255;2001:db8:3::3/64',
    hr: '203.0.113.0/24 via 198.51.100.1 dev eth3',
  }).toString()}`;
  const home = (alias: string) =>
    detachPlan(
      r1,
      nsState(),
      nsState([nic('eth1', { ifindex: 3, alias, mtu: 9000, mac: '02:00:00:00:00:10' })]),
    );
  const p = home(tag);
  golden('detach-phys.plan.txt', dumpPlan(p));
  // both versions give the same plan, except the alias the link carries (undone to itself)
  assert.equal(dumpPlan(home(tagV1)), dumpPlan(p).replaceAll(tag, tagV1));
  // a device that kept its name, MTU and MAC, was down, and had nothing on it: moved home only
  const plain = nsState([
    nic('eth3', {
      up: false,
      alias: encodeTag({ kind: 'phys', target: 'netns:r1', ifname: 'eth3', origName: 'eth3' }),
    }),
  ]);
  const q = detachPlan(r1, nsState(), plain, 'eth3');
  assert.deepEqual(lines(q), [
    'netns:r1: ip link set dev eth3 netns <host>',
    'host: ip link set dev eth3 alias ',
  ]);
  assert.deepEqual(q.notes, []);
  // home already, still tagged (a detach stopped after the move: exit 3, or killed; run again):
  // what is missing there is put back, the alias last; the container has nothing left
  const stopped = (link: Partial<Parameters<typeof nic>[1]>, routes: ReturnType<typeof route>[] = []) =>
    lines(detachPlan(r1, nsState([nic('eth3', { alias: tag, mtu: 1500, ...link })], routes), nsState()));
  assert.deepEqual(stopped({ up: false }), [
    'host: ip link set dev eth3 up',
    'host: ip addr add 198.51.100.3/24 brd 198.51.100.255 dev eth3',
    'host: ip addr add 2001:db8:3::3/64 dev eth3',
    'host: ip route add 203.0.113.0/24 via 198.51.100.1 dev eth3',
    'host: ip link set dev eth3 alias uplink 2',
  ]);
  assert.deepEqual(
    stopped(
      {
        up: true,
        addrs: [
          { family: 4, address: '198.51.100.3', prefix: 24, scope: 'global' },
          { family: 6, address: '2001:db8:3::3', prefix: 64, scope: 'global' },
        ],
      },
      [route({ dst: '203.0.113.0/24', gateway: '198.51.100.1', dev: 'eth3', protocol: 'boot' })],
    ),
    ['host: ip link set dev eth3 alias uplink 2'],
  );
  // another target's device, or another interface's: not this detach's
  assert.deepEqual(lines(detachPlan(r1, nsState([nic('eth3', { alias: tag })]), nsState(), 'eth2')), []);
});

test('moved in as it is: no MTU, MAC or rename steps, nothing remembered that it did not have', () => {
  const p = move(hostWith(nic('eth3', { up: false, mtu: 9000, mac: '02:00:00:00:00:03' }), false), {
    phys: 'eth3',
    ifname: 'eth3',
    mtu: 9000,
    mac: '02:00:00:00:00:03',
  });
  assert.deepEqual(lines(p), [
    'host: ip link set dev eth3 netns <netns:r1>',
    'netns:r1: ip link set dev eth3 alias pf2:k=phys&t=netns:r1&i=eth3&o=eth3',
    'netns:r1: ip link set dev eth3 up',
  ]);
  assert.deepEqual(p.notes, []);
});

test('refused: a bridge port, the host default route (unless --force), a device a detach left unsettled, a name taken inside, more than a tag holds', () => {
  assert.deepEqual(
    refusal(() => move(hostWith(eth3({ master: 'br0' })), { phys: 'eth3' })),
    [
      'E_CONFLICT',
      'host interface "eth3": is a port of "br0"',
      'take it out first (ip link set eth3 nomaster)',
    ],
  );
  assert.deepEqual(
    refusal(() => move(nsState(), { phys: 'eth3' })),
    [
      'E_NO_HOST_IF',
      'host interface "eth3": not found',
      'list the host interfaces with `ip link` and give one of them',
    ],
  );
  for (const family of [4, 6] as const) {
    const host = nsState([eth3()], [route({ family, dst: 'default', gateway: '198.51.100.1', dev: 'eth3' })]);
    assert.deepEqual(
      refusal(() => move(host, { phys: 'eth3' })),
      [
        'E_CONFLICT',
        'host interface "eth3": carries the host\'s default route; moving it cuts the host off',
        'pick another interface, or pass --force if that is intended',
      ],
    );
    assert.ok(
      lines(move(host, { phys: 'eth3' }, { force: true })).includes(
        'host: ip link set dev eth3 netns <netns:r1>',
      ),
    );
  }
  // home from a detach that did not finish (its tag still on): that detach finishes it first
  assert.deepEqual(
    refusal(() =>
      move(
        hostWith(
          eth3({ alias: encodeTag({ kind: 'phys', target: 'netns:r2', ifname: 'wan0', origName: 'eth3' }) }),
        ),
        { phys: 'eth3' },
      ),
    ),
    [
      'E_CONFLICT',
      'host interface "eth3": came home from netns:r2 by a detach that did not finish (it still carries that attachment\'s tag)',
      'finish it first: pipefitter detach netns:r2 --ifname wan0',
    ],
  );
  // another interface's default route is not this one's
  const other = nsState([eth3()], [route({ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' })]);
  assert.ok(lines(move(other, { phys: 'eth3' })).length > 0);
  assert.deepEqual(
    refusal(() => move(hostWith(eth3()), { phys: 'eth3' }, {}, nsState([nic('eth3')]))),
    [
      'E_CONFLICT',
      'netns:r1: already has an interface named "eth3", so the host\'s cannot move in',
      'rename one of them first',
    ],
  );
  // too much to remember in a 255-byte tag
  const many = eth3({
    alias: undefined,
    addrs: Array.from({ length: 16 }, (_, i) => ({
      family: 4 as const,
      address: `198.51.100.${i + 1}`,
      prefix: 24,
      scope: 'global',
    })),
  });
  const [code, message, hint] = refusal(() => move(hostWith(many, false), { phys: 'eth3' }));
  assert.equal(code, 'E_CONFLICT');
  assert.match(
    message ?? '',
    /^host interface "eth3": has more addresses and routes than pipefitter can remember to put back \(198\.51\.100\.1\/24, 198\.51\.100\.2\/24, .*198\.51\.100\.16\/24\)$/,
  );
  assert.equal(
    hint,
    'remove some of them first, or pass --force to move it anyway (they are then lost to the host)',
  );
  const forced = move(hostWith(many, false), { phys: 'eth3' }, { force: true });
  assert.match(
    forced.notes.join('\n'),
    /host interface "eth3" takes 198\.51\.100\.1\/24, .* off the host; --force: they are not put back/,
  );
  assert.ok(!lines(forced).some((l) => l.includes('&ha=')), 'nothing remembered');
  assert.equal(lines(forced).filter((l) => l.startsWith('host: ip addr del')).length, 16);
});
