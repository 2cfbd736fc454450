import { test } from 'node:test';
import { argvOf } from '../../../src/render/ip.js';
import assert from 'node:assert/strict';
import { planAttach } from '../../../src/plan/attach.js';
import { planDetach } from '../../../src/plan/detach.js';
import { parseAttachInput, parsePairInput } from '../../../src/model/input.js';
import type { ResolvedTarget } from '../../../src/model/target.js';
import { encodeTag } from '../../../src/model/owner.js';
import { isPipefitterError } from '../../../src/errors.js';
import type { AttachInput } from '../../../src/model/input.js';
import {
  lines,
  text,
  netnsTarget,
  nic,
  nsState,
  observed,
  pidTarget,
  route,
} from '../../helpers/plan-fixtures.js';
import { attachment } from '../../helpers/plan-cases.js';

const r1 = netnsTarget('r1');
const att = (t: ResolvedTarget, input: Omit<AttachInput, 'target'>) => attachment(t, input);

test('an address is announced only where a neighbour may hold it with another MAC', () => {
  const announced = (host: ReturnType<typeof nsState>): string[] =>
    lines(
      planAttach(
        [att(r1, { bridge: 'br-lab', ip: ['192.0.2.10/24', '2001:db8::10/64'] })],
        observed(host, [r1, nsState()]),
      ),
    ).filter((l) => /arping|ndisc_notify/.test(l));
  const br = nic('br-lab', { kind: 'bridge' });
  // a new bridge, or one without ports and no cache entry for the address: nobody to tell
  assert.deepEqual(announced(nsState()), []);
  assert.deepEqual(announced(nsState([br])), []);
  // another port's namespace may have it cached; so may the host itself
  const withPort = announced(nsState([br, nic('vother', { kind: 'veth', master: 'br-lab' })]));
  assert.deepEqual(withPort.length, 2);
  assert.match(withPort.join('\n'), /arping -q -U -c 1 -w 0 -i eth1 -S 192\.0\.2\.10/);
  const cached = { ...nsState([br]), neighbours: [{ address: '192.0.2.10', dev: 'br-lab' }] };
  // only the cached address is announced (its IPv6 sibling is not known there)
  assert.deepEqual(announced(cached).length, 1);
  assert.match(announced(cached)[0] ?? '', /arping/);
  const elsewhere = { ...nsState([br]), neighbours: [{ address: '192.0.2.10', dev: 'eth0' }] };
  assert.deepEqual(announced(elsewhere), []);
});

test('veth into a new bridge: exact commands, host first, one run per namespace', () => {
  const p = planAttach(
    [att(r1, { bridge: 'br-lab', ip: ['192.0.2.10/24'], gateway: '192.0.2.1' })],
    observed(nsState(), [r1, nsState()]),
  );
  const host = 'pf' as const;
  void host;
  assert.deepEqual(lines(p), [
    'host: ip link add name br-lab type bridge',
    'host: ip link set dev br-lab alias pf2:k=bridge',
    'host: ip link set dev br-lab up',
    `host: ip link add name ${argvOf(p.steps[3]!)[4] as string} type veth peer name eth1 netns <netns:r1>`,
    `host: ip link set dev ${argvOf(p.steps[3]!)[4] as string} master br-lab alias pf2:k=veth-host&t=netns:r1&i=eth1&b=br-lab&a=192.0.2.10/24 up`,
    'netns:r1: ip addr add 192.0.2.10/24 brd 192.0.2.255 dev eth1',
    'netns:r1: ip link set dev eth1 up',
    'netns:r1: ip route add default via 192.0.2.1 dev eth1',
    'netns:r1: ip link set dev eth1 alias pf2:k=veth&t=netns:r1&i=eth1&b=br-lab',
  ]);
  // everything after the first creation of each object is covered by its undo
  assert.deepEqual(
    p.steps.map((s) => (typeof s.undo === 'string' ? s.undo : text(argvOf(s.undo)))),
    [
      'ip link del dev br-lab',
      'covered',
      'covered',
      `ip link del dev ${argvOf(p.steps[3]!)[4] as string}`,
      'covered',
      'covered',
      'covered',
      'covered',
      'covered',
    ],
  );
});

test('pid targets get pipework host names and the bridge MTU', () => {
  const t = pidTarget(4242);
  const host = nsState([nic('br-lab', { kind: 'bridge', mtu: 1450 })]);
  const p = planAttach([att(t, { bridge: 'br-lab', ip: '192.0.2.10/24' })], observed(host, [t, nsState()]));
  assert.equal(
    lines(p)[0],
    'host: ip link add name veth1pl4242 mtu 1450 type veth peer name eth1 mtu 1450 netns <pid:4242>',
  );
});

test('an existing bridge is adopted, not tagged, and its down state is undone on rollback', () => {
  const host = nsState([nic('br-lab', { kind: 'bridge', up: false })]);
  const p = planAttach([att(r1, { bridge: 'br-lab' })], observed(host, [r1, nsState()]));
  assert.equal(lines(p)[0], 'host: ip link set dev br-lab up');
  assert.deepEqual(
    p.steps[0]!.undo !== 'covered' && p.steps[0]!.undo !== 'irreversible' && argvOf(p.steps[0]!.undo),
    ['ip', 'link', 'set', 'dev', 'br-lab', 'down'],
  );
  assert.ok(!lines(p).some((l) => l.includes('alias pf2:k=bridge')));
});

test('macvlan is born inside the target with MTU of its parent; IPv6 skips DAD', () => {
  const host = nsState([nic('eth3', { mtu: 9000 })]);
  const p = planAttach(
    [
      att(r1, {
        macvlan: 'eth3',
        mode: 'bridge',
        ip: ['198.51.100.7/24', '2001:db8::7/64'],
        ifname: 'lan0',
        mac: '02:00:00:00:00:10',
      }),
    ],
    observed(host, [r1, nsState()]),
  );
  // IPv4 first, then up, then (in a later process) IPv6 with its unsolicited NA enabled
  assert.deepEqual(lines(p), [
    'host: ip link add name lan0 link eth3 mtu 9000 address 02:00:00:00:00:10 netns <netns:r1> type macvlan mode bridge',
    'netns:r1: ip addr add 198.51.100.7/24 brd 198.51.100.255 dev lan0',
    'netns:r1: ip link set dev lan0 up',
    'netns:r1: sysctl -q -e -w net/ipv6/conf/lan0/disable_ipv6=0 net/ipv6/conf/lan0/ndisc_notify=1',
    'netns:r1: ip addr add 2001:db8::7/64 dev lan0 nodad',
    'netns:r1: ip link set dev lan0 alias pf2:k=macvlan&t=netns:r1&i=lan0&l=eth3',
    'netns:r1: arping -q -U -c 1 -w 0 -i lan0 -S 198.51.100.7 198.51.100.7',
  ]);
  const undo = p.steps[0]!.undo;
  assert.ok(typeof undo !== 'string');
  assert.equal(undo.netns.kind, 'name', 'undo runs where the link lives');
});

test('a missing parent is E_NO_HOST_IF before anything is planned', () => {
  assert.throws(
    () => planAttach([att(r1, { macvlan: 'eth9' })], observed(nsState(), [r1, nsState()])),
    (e: unknown) => isPipefitterError(e) && e.code === 'E_NO_HOST_IF' && /eth9/.test(e.message),
  );
});

test('a gateway or route via outside the subnet gets onlink, said in a note; replacing a default route restores it on undo', () => {
  const inside = nsState(
    [nic('eth0', { kind: 'veth' })],
    [route({ dst: 'default', gateway: '172.17.0.1', dev: 'eth0' })],
  );
  const p = planAttach(
    [
      att(r1, {
        bridge: 'br0',
        ip: '192.0.2.10/30',
        gateway: '192.0.2.100',
        route: ['198.51.100.0/24:203.0.113.1', '203.0.113.0/24:192.0.2.9'],
      }),
    ],
    observed(nsState([nic('br0', { kind: 'bridge' })]), [r1, inside]),
  );
  const l = lines(p);
  assert.ok(l.includes('netns:r1: ip route add 198.51.100.0/24 via 203.0.113.1 dev eth1 onlink'));
  assert.ok(
    l.includes('netns:r1: ip route add 203.0.113.0/24 via 192.0.2.9 dev eth1'),
    'in the subnet: no onlink',
  );
  assert.deepEqual(
    p.notes.filter((n) => /onlink/.test(n)),
    [
      'netns:r1: 203.0.113.1 is outside the subnets of eth1; the route 198.51.100.0/24 via 203.0.113.1 dev eth1 is added with onlink (the gateway must be on that link)',
      'netns:r1: 192.0.2.100 is outside the subnets of eth1; the route default via 192.0.2.100 dev eth1 is added with onlink (the gateway must be on that link)',
    ],
  );
  assert.ok(l.includes('netns:r1: ip route del default via 172.17.0.1 dev eth0'));
  assert.ok(l.includes('netns:r1: ip route add default via 192.0.2.100 dev eth1 onlink'));
  const del = p.steps.find((s) => text(argvOf(s)) === 'ip route del default via 172.17.0.1 dev eth0')!;
  assert.ok(typeof del.undo !== 'string');
  assert.equal(text(argvOf(del.undo)), 'ip route add default via 172.17.0.1 dev eth0');
  assert.ok(p.notes.some((n) => /ports published through eth0/.test(n)));
  // the replaced route is remembered in the tag so detach can put it back
  assert.ok(l.some((x) => x.includes('pd=4,default,172.17.0.1,eth0')));
});

test('an IPv6 gateway reached through another interface is refused before anything changes, in either order (the kernel refuses it)', () => {
  const v6 = (address: string) => ({ family: 6 as const, address, prefix: 64, scope: 'global' });
  const refused = (e: unknown): boolean =>
    isPipefitterError(e) &&
    e.code === 'E_CONFLICT' &&
    e.message ===
      'netns:r1: route 2001:db8:c0::/64 via 2001:db8:a0::2 dev eth1: the gateway 2001:db8:a0::2 is reached through eth0 (2001:db8:a0::/64), and the kernel takes an IPv6 gateway only through the interface it is reached by' &&
    e.hint === 'put the route on eth0, or give eth1 an address in 2001:db8:a0::/64';
  const br = observed(nsState([nic('br0', { kind: 'bridge' })]), [
    r1,
    nsState([nic('eth0', { kind: 'veth', addrs: [v6('2001:db8:a0::a')] })]),
  ]);
  assert.throws(
    () => planAttach([att(r1, { bridge: 'br0', route: ['2001:db8:c0::/64@2001:db8:a0::2'] })], br),
    refused,
  );
  assert.throws(
    () => planAttach([att(r1, { bridge: 'br0', ip: '2001:db8:b0::a/64', gateway: '2001:db8:a0::1' })], br),
    (e: unknown) =>
      isPipefitterError(e) &&
      e.code === 'E_CONFLICT' &&
      /default via 2001:db8:a0::1 dev eth1/.test(e.message),
  );
  // the address comes later in the same plan: the kernel would take the route first, but not
  // put it back once the address is there; refused all the same
  const empty = observed(nsState([nic('br0', { kind: 'bridge' })]), [r1, nsState()]);
  assert.throws(
    () =>
      planAttach(
        [
          att(r1, { bridge: 'br0', route: ['2001:db8:c0::/64@2001:db8:a0::2'] }),
          att(r1, { bridge: 'br0', ifname: 'eth0', ip: '2001:db8:a0::a/64' }),
        ],
        empty,
      ),
    refused,
  );
  // taken: the gateway in a subnet of this interface too; a link-local gateway; IPv4; a gateway
  // only a default route reaches
  for (const input of [
    { ip: '2001:db8:a0::b/64', route: ['2001:db8:c0::/64@2001:db8:a0::2'] },
    { ip: '2001:db8:b0::a/64', route: ['2001:db8:c0::/64@fe80::1'], gateway: 'fe80::1' },
    { route: ['203.0.113.0/28@192.0.2.2'] },
    { route: ['2001:db8:c0::/64@2001:db8:ff::2'] },
  ])
    planAttach(
      [att(r1, { bridge: 'br0', ...input })],
      observed(nsState([nic('br0', { kind: 'bridge' })]), [
        r1,
        nsState(
          [
            nic('eth0', {
              kind: 'veth',
              addrs: [
                v6('2001:db8:a0::a'),
                { family: 4, address: '192.0.2.10', prefix: 24, scope: 'global' },
              ],
            }),
          ],
          [route({ family: 6, dst: 'default', gateway: '2001:db8:a0::1', dev: 'eth0' })],
        ),
      ]),
    );
});

test('idempotent: a plan against the state it produces is empty', () => {
  const tag = encodeTag({ kind: 'veth', bridge: 'br-lab', target: 'netns:r1', ifname: 'eth1' });
  const host = nsState([
    nic('br-lab', { kind: 'bridge' }),
    nic('pfhost', {
      kind: 'veth',
      master: 'br-lab',
      alias: encodeTag({
        kind: 'veth-host',
        target: 'netns:r1',
        ifname: 'eth1',
        bridge: 'br-lab',
        addrs: ['192.0.2.10/24'],
      }),
    }),
  ]);
  const inside = nsState(
    [
      nic('eth1', {
        kind: 'veth',
        alias: tag,
        addrs: [{ family: 4, address: '192.0.2.10', prefix: 24, scope: 'global' }],
      }),
    ],
    [route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth1' })],
  );
  const a = att(r1, { bridge: 'br-lab', ip: '192.0.2.10/24', gateway: '192.0.2.1', hostIfname: 'pfhost' });
  const p = planAttach([a], observed(host, [r1, inside]));
  assert.deepEqual(p.steps, []);
  assert.ok(p.noops.length > 0);
  // and a drifted state (address removed by hand) plans only the repair
  const drift = nsState(
    [nic('eth1', { kind: 'veth', alias: tag })],
    [route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth1' })],
  );
  const p2 = planAttach([a], observed(host, [r1, drift]));
  assert.deepEqual(lines(p2), ['netns:r1: ip addr add 192.0.2.10/24 brd 192.0.2.255 dev eth1']);
  assert.ok(
    !p2.steps.some((s) => argvOf(s)[0] === 'arping'),
    'no announcement for a link that was already up',
  );
  assert.equal(
    typeof p2.steps[0]!.undo === 'string' ? 'x' : text(argvOf(p2.steps[0]!.undo)),
    'ip addr del 192.0.2.10/24 dev eth1',
  );
});

test('our interface with another MTU, MAC or address is changed in place; another bridge needs --replace', () => {
  const tag = encodeTag({ kind: 'veth', bridge: 'br-lab', target: 'netns:r1', ifname: 'eth1' });
  const inside = nsState([
    nic('eth1', {
      kind: 'veth',
      alias: tag,
      addrs: [{ family: 4, address: '192.0.2.11', prefix: 24, scope: 'global', broadcast: '192.0.2.255' }],
    }),
  ]);
  const host = nsState([nic('br-lab', { kind: 'bridge' }), nic('br-other', { kind: 'bridge' })]);
  const a = att(r1, { bridge: 'br-lab', ip: '192.0.2.10/24', mtu: 1400, mac: '02:00:00:00:00:10' });
  const p = planAttach([a], observed(host, [r1, inside]));
  assert.deepEqual(lines(p), [
    'netns:r1: ip link set dev eth1 mtu 1400',
    'netns:r1: ip link set dev eth1 address 02:00:00:00:00:10',
    'netns:r1: ip addr del 192.0.2.11/24 dev eth1',
    'netns:r1: ip addr add 192.0.2.10/24 brd 192.0.2.255 dev eth1',
  ]);
  // the same link (no delete), and every change has its real undo
  assert.deepEqual(
    p.steps.map((s) => (typeof s.undo === 'object' ? argvOf(s.undo).map(String).join(' ') : s.undo)),
    [
      'ip link set dev eth1 mtu 1500',
      'ip link set dev eth1 address 02:aa:00:00:00:01',
      'ip addr add 192.0.2.11/24 brd 192.0.2.255 dev eth1',
      'ip addr del 192.0.2.10/24 dev eth1',
    ],
  );
  assert.ok(p.notes.some((n) => /192\.0\.2\.11\/24 is removed from eth1/.test(n)));
  // the extra one is the primary of a wanted one's subnet: deleting it takes the secondary along
  // (a kernel rule), so the wanted one goes first and is added back
  const both = nsState([
    nic('eth1', {
      kind: 'veth',
      alias: tag,
      addrs: [
        { family: 4, address: '192.0.2.11', prefix: 24, scope: 'global' },
        { family: 4, address: '192.0.2.10', prefix: 24, scope: 'global' },
        { family: 4, address: '198.51.100.1', prefix: 24, scope: 'global' },
      ],
    }),
  ]);
  assert.deepEqual(
    lines(
      planAttach(
        [att(r1, { bridge: 'br-lab', ip: ['192.0.2.10/24', '198.51.100.1/24'] })],
        observed(host, [r1, both]),
      ),
    ),
    [
      'netns:r1: ip addr del 192.0.2.10/24 dev eth1',
      'netns:r1: ip addr del 192.0.2.11/24 dev eth1',
      'netns:r1: ip addr add 192.0.2.10/24 brd 192.0.2.255 dev eth1',
    ],
  );
  // a port of another bridge cannot be changed in place
  const b = att(r1, { bridge: 'br-other', ip: '192.0.2.11/24' });
  assert.throws(
    () => planAttach([b], observed(host, [r1, inside])),
    (e: unknown) =>
      isPipefitterError(e) &&
      e.code === 'E_CONFLICT' &&
      /bridge br-lab, asked for br-other/.test(e.message) &&
      /--replace/.test(e.hint ?? ''),
  );
  const r = planAttach([b], observed(host, [r1, inside]), { replace: true });
  assert.equal(lines(r)[0], 'netns:r1: ip link del dev eth1');
  assert.equal(r.steps[0]!.undo, 'irreversible');
  assert.ok(!lines(r).includes('host: ip link del dev br-lab'), "br-lab is not pipefitter's: it stays");
  // a bridge pipefitter made goes with its last port, also when --replace moves that port away
  const ours = nsState([
    nic('br-lab', { kind: 'bridge', alias: encodeTag({ kind: 'bridge' }) }),
    nic('br-other', { kind: 'bridge' }),
  ]);
  assert.ok(
    lines(planAttach([b], observed(ours, [r1, inside]), { replace: true })).includes(
      'host: ip link del dev br-lab',
    ),
  );
  // and the bridge the replacement joins stays, though its port goes first
  const same = lines(
    planAttach(
      [att(r1, { bridge: 'br-lab', ip: '192.0.2.11/24', vlanId: 10 })],
      observed(ours, [r1, inside]),
      {
        replace: true,
      },
    ),
  );
  assert.equal(same[0], 'netns:r1: ip link del dev eth1', 'replaced');
  assert.ok(!same.includes('host: ip link del dev br-lab'), 'the bridge it joins again stays');
  // someone else's eth1
  const foreign = nsState([nic('eth1', { kind: 'veth' })]);
  assert.throws(
    () => planAttach([a], observed(host, [r1, foreign])),
    (e: unknown) => isPipefitterError(e) && /not made by pipefitter/.test(e.message),
  );
});

test('a host interface of the bridge name that is not a bridge is a conflict', () => {
  assert.throws(
    () => planAttach([att(r1, { bridge: 'eth0' })], observed(nsState([nic('eth0')]), [r1, nsState()])),
    (e: unknown) => isPipefitterError(e) && e.code === 'E_CONFLICT',
  );
});

test('two attachments sharing a new bridge create it once', () => {
  const r2 = netnsTarget('r2');
  const p = planAttach(
    [att(r1, { bridge: 'br-lab', ip: '192.0.2.10/24' }), att(r2, { bridge: 'br-lab', ip: '192.0.2.11/24' })],
    observed(nsState(), [r1, nsState()], [r2, nsState()]),
  );
  assert.equal(lines(p).filter((l) => l === 'host: ip link add name br-lab type bridge').length, 1);
  // host steps first, then each namespace's steps together
  const order = p.steps.map((s) =>
    s.netns.kind === 'host' ? 'host' : s.netns.kind === 'name' ? s.netns.name : '?',
  );
  assert.deepEqual([...new Set(order)], ['host', 'r1', 'r2']);
  assert.equal(order.lastIndexOf('host') < order.indexOf('r1'), true);
});

test('physical device: moved, renamed, configured; every step has a real undo', () => {
  const host = nsState(
    [nic('enp5s0f1', { alias: 'uplink to rack 3' })],
    [route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth0' })],
  );
  const p = planAttach(
    [att(r1, { phys: 'enp5s0f1', ifname: 'wan0', ip: '203.0.113.2/30' })],
    observed(host, [r1, nsState()]),
  );
  assert.deepEqual(lines(p), [
    'host: ip link set dev enp5s0f1 down',
    'host: ip link set dev enp5s0f1 netns <netns:r1>',
    'netns:r1: ip link set dev enp5s0f1 name wan0',
    'netns:r1: ip link set dev wan0 alias pf2:k=phys&t=netns:r1&i=wan0&o=enp5s0f1&pa=uplink%20to%20rack%203&ou=1',
    'netns:r1: ip addr add 203.0.113.2/30 brd 203.0.113.3 dev wan0',
    'netns:r1: ip link set dev wan0 up',
    'netns:r1: arping -q -U -c 1 -w 0 -i wan0 -S 203.0.113.2 203.0.113.2',
  ]);
  assert.ok(
    p.steps.filter((s) => !s.bestEffort).every((s) => typeof s.undo !== 'string'),
    'nothing is covered for a device we did not create',
  );
  // its own addresses leave with it and are put back as they were: broadcast and flags (nodad…)
  const addressed = planAttach(
    [att(r1, { phys: 'enp5s0f1', ifname: 'wan0' })],
    observed(
      nsState([
        nic('enp5s0f1', {
          addrs: [
            { family: 4, address: '198.51.100.5', prefix: 24, scope: 'global', broadcast: '198.51.100.255' },
            {
              family: 6,
              address: '2001:db8:5::5',
              prefix: 64,
              scope: 'global',
              flags: ['nodad', 'noprefixroute'],
            },
          ],
        }),
      ]),
      [r1, nsState()],
    ),
  );
  assert.deepEqual(
    addressed.steps.flatMap((s) =>
      argvOf(s)[1] === 'addr' && typeof s.undo !== 'string' ? [text(argvOf(s.undo))] : [],
    ),
    [
      'ip addr add 198.51.100.5/24 brd 198.51.100.255 dev enp5s0f1',
      'ip addr add 2001:db8:5::5/64 dev enp5s0f1 nodad noprefixroute',
    ],
  );
  // moving the host's uplink is refused without --force
  const uplink = nsState([nic('eth0')], [route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth0' })]);
  assert.throws(
    () => planAttach([att(r1, { phys: 'eth0' })], observed(uplink, [r1, nsState()])),
    (e: unknown) => isPipefitterError(e) && /default route/.test(e.message),
  );
});

test('pair: one command from the host makes both ends inside their namespaces', () => {
  const r2 = netnsTarget('r2');
  const req = parsePairInput({
    a: 'netns:r1:eth2',
    b: 'netns:r2:eth2',
    ip: '192.0.2.21/30',
    peerIp: '192.0.2.22/30',
  });
  if (req.link.kind !== 'pair') throw new Error('pair');
  const p = planAttach(
    [{ target: r1, iface: req.iface, link: { ...req.link, peer: r2 } }],
    observed(nsState(), [r1, nsState()], [r2, nsState()]),
  );
  assert.equal(
    lines(p)[0],
    'host: ip link add name eth2 netns <netns:r1> type veth peer name eth2 netns <netns:r2>',
  );
  assert.ok(lines(p).includes('netns:r2: ip addr add 192.0.2.22/30 brd 192.0.2.23 dev eth2'));
});

test('VLAN and ipvlan kinds plan like macvlan (kernel tests run in the VM lane)', () => {
  const host = nsState([nic('eth3')]);
  const v = planAttach(
    [att(r1, { vlan: 'eth3', vlanId: 10, ifname: 'stor0' })],
    observed(host, [r1, nsState()]),
  );
  assert.equal(
    lines(v)[0],
    'host: ip link add name stor0 link eth3 mtu 1500 netns <netns:r1> type vlan id 10',
  );
  const i = planAttach(
    [att(r1, { ipvlan: 'eth3', mode: 'l3', ifname: 'ipv0' })],
    observed(host, [r1, nsState()]),
  );
  assert.equal(
    lines(i)[0],
    'host: ip link add name ipv0 link eth3 mtu 1500 netns <netns:r1> type ipvlan mode l3 bridge',
  );
  assert.throws(
    () =>
      planAttach([att(r1, { ipvlan: 'eth3', mac: '02:00:00:00:00:01' })], observed(host, [r1, nsState()])),
    (e: unknown) => isPipefitterError(e) && e.code === 'E_BAD_VALUE',
  );
});

test('detach: removes exactly what attach made; the bridge goes with its last port', () => {
  const tag = encodeTag({
    kind: 'veth',
    bridge: 'br-lab',
    target: 'netns:r1',
    ifname: 'eth1',
    prevDefaults: [
      { family: 4, dst: 'default', gateway: '172.17.0.1', dev: 'eth0', onlink: false, type: 'unicast' },
    ],
  });
  const host = nsState([
    nic('br-lab', { kind: 'bridge', alias: encodeTag({ kind: 'bridge' }) }),
    nic('h1', {
      kind: 'veth',
      master: 'br-lab',
      alias: encodeTag({ kind: 'veth-host', target: 'netns:r1', ifname: 'eth1' }),
    }),
  ]);
  const inside = nsState(
    [nic('eth0', { kind: 'veth' }), nic('eth1', { kind: 'veth', alias: tag })],
    [route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth1' })],
  );
  const ifname = parseAttachInput({ target: 'x', bridge: 'b' }).iface.ifname;
  const p = planDetach({ target: r1, ifname, force: false }, observed(host, [r1, inside]));
  assert.deepEqual(lines(p), [
    'netns:r1: ip route replace default via 172.17.0.1 dev eth0',
    // the port last: its tag names the bridge, for a detach stopped in between and run again
    'host: ip link del dev br-lab',
    'host: ip link del dev h1',
  ]);
  // a bridge with other ports stays; a bridge pipefitter did not make stays
  const shared = nsState([...host.links.slice(1), nic('other', { master: 'br-lab' })]);
  assert.deepEqual(
    lines(planDetach({ target: r1, ifname, force: false }, observed(shared, [r1, inside]))).at(-1),
    'host: ip link del dev h1',
  );
  // not ours: refused unless forced; missing: nothing to do
  const foreign = nsState([nic('eth1', { kind: 'veth' })]);
  assert.throws(
    () => planDetach({ target: r1, ifname, force: false }, observed(host, [r1, foreign])),
    (e: unknown) => isPipefitterError(e) && e.code === 'E_NOT_OWNED',
  );
  assert.deepEqual(
    planDetach({ target: r1, ifname, force: false }, observed(host, [r1, nsState()])).steps,
    [],
  );
});

test('detach of a physical device sends it home under its own name with its old alias', () => {
  const tag = encodeTag({
    kind: 'phys',
    target: 'netns:r1',
    ifname: 'wan0',
    origName: 'enp5s0f1',
    prevAlias: 'rack 3',
  });
  const inside = nsState([nic('wan0', { alias: tag })]);
  const ifname = parseAttachInput({ target: 'x', bridge: 'b', ifname: 'wan0' }).iface.ifname;
  assert.deepEqual(
    lines(planDetach({ target: r1, ifname, force: false }, observed(nsState(), [r1, inside]))),
    [
      'netns:r1: ip link set dev wan0 down',
      'netns:r1: ip link set dev wan0 name enp5s0f1',
      'netns:r1: ip link set dev enp5s0f1 netns <host>',
      // its own alias last, at home: until then the tag says what is left to do
      'host: ip link set dev enp5s0f1 alias rack 3',
    ],
  );
});

test('planning is deterministic', () => {
  const mk = () =>
    planAttach(
      [att(r1, { bridge: 'br-lab', ip: ['192.0.2.10/24', '2001:db8::10/64'] })],
      observed(nsState(), [r1, nsState()]),
    );
  assert.deepEqual(mk(), mk());
});

test('the last detach takes down a parent pipefitter brought up; its veth peer is not stacked on it', () => {
  const tag = encodeTag({ kind: 'macvlan', parent: 'pn0', target: 'netns:r1', ifname: 'eth1' });
  const host = (others: ReturnType<typeof nic>[]) => ({
    ...nsState([nic('pn0', { kind: 'veth', parent: 'pp0', ifindex: 6 }), ...others]),
    parentsUp: new Map([['pn0', { ifindex: 6, users: ['netns:r1/eth1'] }]]),
  });
  const inside = nsState([nic('eth1', { kind: 'macvlan', alias: tag })]);
  const req = { target: r1, ifname: 'eth1' as never, force: false };
  // the far end of the NIC's own veth pair, in the same namespace
  const peer = nic('pp0', { kind: 'veth', parent: 'pn0', ifindex: 7 });
  assert.ok(
    lines(planDetach(req, observed(host([peer]), [r1, inside]))).includes('host: ip link set dev pn0 down'),
  );
  // a VLAN on it is a user: it stays up, and says why
  const vlan = nic('pn0.10', { kind: 'vlan', parent: 'pn0', ifindex: 8 });
  const p = planDetach(req, observed(host([peer, vlan]), [r1, inside]));
  assert.ok(!lines(p).includes('host: ip link set dev pn0 down'));
  assert.ok(
    p.notes.some((n) => /"pn0\.10" is stacked on it/.test(n)),
    p.notes.join('\n'),
  );
});

test('an existing bridge given two addresses, with two ports: each address is added once', () => {
  // (the planner's copy of the bridge was updated from a stale snapshot: the second address
  // replaced the first in it, so the second port added the first again — EEXIST, rolled back)
  const r2 = netnsTarget('r2');
  const bridgeIp = ['192.0.2.1/24', '2001:db8::1/64'];
  const p = planAttach(
    [
      att(r1, { bridge: 'br0', ip: '192.0.2.10/24', bridgeIp }),
      att(r2, { bridge: 'br0', ip: '192.0.2.11/24', bridgeIp }),
    ],
    observed(nsState([nic('br0', { kind: 'bridge', up: true })]), [r1, nsState()], [r2, nsState()]),
  );
  const adds = lines(p).filter((l) => /^host: ip addr add .* dev br0\b/.test(l));
  assert.deepEqual(adds, [
    'host: ip addr add 192.0.2.1/24 brd 192.0.2.255 dev br0',
    'host: ip addr add 2001:db8::1/64 dev br0 nodad',
  ]);
});
