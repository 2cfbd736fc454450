import { test } from 'node:test';
import { argvOf } from '../../../src/render/ip.js';
import assert from 'node:assert/strict';
import { planAttach } from '../../../src/plan/attach.js';
import type { AttachInput } from '../../../src/model/input.js';
import { decodeTag, encodeTag, tagFits } from '../../../src/model/owner.js';
import { vlanUserKey } from '../../../src/plan/shared-vlan.js';
import { isPipefitterError } from '../../../src/errors.js';
import { lines, netnsTarget, nic, nsState, observed, text } from '../../helpers/plan-fixtures.js';
import {
  attachment as att,
  detachPlan,
  ownMacvlan,
  sharedSub,
  toReplace,
  userOf,
} from '../../helpers/plan-cases.js';

const r1 = netnsTarget('r1');
const r2 = netnsTarget('r2');
const [u1, u2] = [userOf(r1), userOf(r2)];

test('macvlan on PARENT.VLAN: the sub-interface is made once, shared, and counts its users', () => {
  const host = nsState([nic('eth3')]);
  const p = planAttach(
    [
      att(r1, { macvlan: 'eth3', vlanId: 10, ip: '198.51.100.7/24' }),
      att(r2, { macvlan: 'eth3', vlanId: 10, ip: '198.51.100.8/24' }),
    ],
    observed(host, [r1, nsState()], [r2, nsState()]),
  );
  const l = lines(p);
  assert.equal(l.filter((x) => x.startsWith('host: ip link add name eth3.10 link eth3')).length, 1);
  assert.ok(l.includes('host: ip link add name eth3.10 link eth3 mtu 1500 type vlan id 10'));
  assert.ok(
    l.includes('host: ip link add name eth1 link eth3.10 mtu 1500 netns <netns:r1> type macvlan mode bridge'),
  );
  // the second user joins the tag the same plan writes: one step, both users
  const aliases = p.steps
    .filter((s) => argvOf(s)[5] === 'alias' && argvOf(s)[4] === 'eth3.10')
    .map((s) => decodeTag(argvOf(s)[6] as string)?.users);
  assert.deepEqual(aliases, [[u1, u2]]);
});

test('the last user of a shared sub-interface takes it along on detach; others leave it', () => {
  const mine = nsState([ownMacvlan(r1, 'eth3.10')]);
  const last = detachPlan(r1, nsState([nic('eth3'), sharedSub(u1)]), mine);
  assert.deepEqual(lines(last), ['netns:r1: ip link del dev eth1', 'host: ip link del dev eth3.10']);
  const shared = detachPlan(r1, nsState([nic('eth3'), sharedSub(u1, u2)]), mine);
  assert.deepEqual(lines(shared), [
    'netns:r1: ip link del dev eth1',
    `host: ip link set dev eth3.10 alias pf2:k=vlan-shared&u=${u2}`,
  ]);
  // a sub-interface pipefitter did not make is never removed
  const foreign = detachPlan(r1, nsState([nic('eth3'), nic('eth3.10', { kind: 'vlan', vlanId: 10 })]), mine);
  assert.deepEqual(lines(foreign), ['netns:r1: ip link del dev eth1']);
  // the macvlan gone already (a detach stopped right after deleting it, run again; a container
  // whose namespace went): its place among the users is given up all the same
  const gone = (...users: string[]) =>
    lines(detachPlan(r1, nsState([nic('eth3'), sharedSub(...users)]), nsState()));
  assert.deepEqual(gone(u1), ['host: ip link del dev eth3.10']);
  assert.deepEqual(gone(u1, u2), [`host: ip link set dev eth3.10 alias pf2:k=vlan-shared&u=${u2}`]);
  assert.deepEqual(gone(u2), []);
});

test('an existing PARENT.VLAN of another VLAN is a conflict; a too-long name is refused', () => {
  const host = nsState([nic('eth3'), nic('eth3.10', { kind: 'vlan', vlanId: 20, parent: 'eth3' })]);
  assert.throws(
    () => planAttach([att(r1, { macvlan: 'eth3', vlanId: 10 })], observed(host, [r1, nsState()])),
    (e: unknown) => isPipefitterError(e) && e.code === 'E_CONFLICT',
  );
  const long = nsState([nic('enp5s0f1np1')]);
  assert.throws(
    () => planAttach([att(r1, { macvlan: 'enp5s0f1np1', vlanId: 4000 })], observed(long, [r1, nsState()])),
    (e: unknown) => isPipefitterError(e) && e.code === 'E_NAME_TOO_LONG',
  );
});

test('bridge VLANs: a new bridge filters; access port leaves VLAN 1; trunk ports carry tagged VLANs', () => {
  const access = planAttach([att(r1, { bridge: 'br-v', vlanId: 10 })], observed(nsState(), [r1, nsState()]));
  const l = lines(access);
  assert.equal(l[0], 'host: ip link add name br-v type bridge vlan_filtering 1');
  const port = argvOf(access.steps[3]!)[4] as string;
  assert.ok(l.includes(`host: bridge vlan add dev ${port} vid 10 pvid untagged`));
  assert.ok(l.includes(`host: bridge vlan del dev ${port} vid 1`));
  const trunk = planAttach(
    [att(r1, { bridge: 'br-v', trunk: '20,10' })],
    observed(nsState(), [r1, nsState()]),
  );
  const lt = lines(trunk).filter((x) => x.startsWith('host: bridge vlan'));
  assert.deepEqual(
    lt.map((x) => x.replace(/dev \S+/, 'dev P')),
    [
      'host: bridge vlan add dev P vid 10',
      'host: bridge vlan add dev P vid 20',
      'host: bridge vlan del dev P vid 1',
    ],
  );
  // the port's VLANs are part of its identity: asking again with another VLAN is a conflict
  // ip link set dev PORT master br-v alias TAG up, and ip link set dev eth1 alias TAG inside
  const hostStep = trunk.steps.find((x) => x.netns.kind === 'host' && argvOf(x).includes('master'))!;
  const insideStep = trunk.steps.find((x) => x.netns.kind === 'name' && argvOf(x).includes('alias'))!;
  const aliasOf = (argv: readonly unknown[]): string => argv[argv.indexOf('alias') + 1] as string;
  const inside = aliasOf(argvOf(insideStep));
  assert.deepEqual(decodeTag(inside)?.trunk, [10, 20]);
  // the state that plan left: a filtering bridge of pipefitter's, its port, the container's eth1
  const trunkPort = argvOf(hostStep)[4] as string;
  const made = observed(
    nsState([
      nic('br-v', { ifindex: 20, kind: 'bridge', alias: encodeTag({ kind: 'bridge' }), vlanFiltering: true }),
      nic(trunkPort, { ifindex: 21, kind: 'veth', master: 'br-v', alias: aliasOf(argvOf(hostStep)) }),
    ]),
    [r1, nsState([nic('eth1', { kind: 'veth', alias: inside })])],
  );
  // the same trunk again, in any order: the port is in place
  assert.ok(
    !lines(planAttach([att(r1, { bridge: 'br-v', trunk: '20,10' })], made)).some((l) =>
      l.includes('link add'),
    ),
  );
  for (const [input, why] of [
    [{ trunk: '10,30' }, 'its trunk VLANs are 10,20, asked for 10,30'],
    [{ vlanId: 10 }, 'its access VLAN is none, asked for 10'],
    [{}, 'its trunk VLANs are 10,20, asked for none'],
  ] as const)
    assert.throws(
      () => planAttach([att(r1, { bridge: 'br-v', ...input })], made),
      (e: unknown) =>
        isPipefitterError(e) &&
        e.code === 'E_CONFLICT' &&
        e.message === `netns:r1: interface "eth1": already exists with other settings (${why})`,
      JSON.stringify(input),
    );
});

test("bridge VLANs on an existing bridge: turned on for pipefitter's own, refused for someone else's", () => {
  const own = nsState([
    nic('br-v', { kind: 'bridge', alias: encodeTag({ kind: 'bridge' }), vlanFiltering: false }),
  ]);
  const p = planAttach([att(r1, { bridge: 'br-v', vlanId: 10 })], observed(own, [r1, nsState()]));
  assert.equal(lines(p)[0], 'host: ip link set dev br-v type bridge vlan_filtering 1');
  const s0 = p.steps[0]!;
  assert.ok(
    typeof s0.undo !== 'string' &&
      text(argvOf(s0.undo)) === 'ip link set dev br-v type bridge vlan_filtering 0',
  );
  const foreign = nsState([nic('br-v', { kind: 'bridge', vlanFiltering: false })]);
  assert.throws(
    () => planAttach([att(r1, { bridge: 'br-v', vlanId: 10 })], observed(foreign, [r1, nsState()])),
    (e: unknown) => isPipefitterError(e) && e.code === 'E_CONFLICT' && /vlan_filtering 1/.test(e.hint ?? ''),
  );
  const filtering = nsState([nic('br-v', { kind: 'bridge', vlanFiltering: true })]);
  assert.ok(
    !lines(planAttach([att(r1, { bridge: 'br-v', vlanId: 10 })], observed(filtering, [r1, nsState()]))).some(
      (x) => x.includes('vlan_filtering'),
    ),
  );
});

test('a VLAN interface inside the target on a trunk it already has', () => {
  const inside = nsState([nic('eth1', { kind: 'veth' })]);
  const p = planAttach(
    [att(r1, { vlan: 'eth1', vlanId: 10, inside: true, ifname: 'eth1.10', ip: '192.0.2.10/24' })],
    observed(nsState(), [r1, inside]),
  );
  assert.equal(lines(p)[0], 'netns:r1: ip link add name eth1.10 link eth1 mtu 1500 type vlan id 10');
  assert.throws(
    () =>
      planAttach([att(r1, { vlan: 'eth9', vlanId: 10, inside: true })], observed(nsState(), [r1, nsState()])),
    (e: unknown) => isPipefitterError(e) && e.code === 'E_NO_HOST_IF',
  );
});

test('a user more than the shared sub-interface can list is refused (exit 2), so its last user always knows it is last', () => {
  const users: string[] = [];
  while (tagFits({ kind: 'vlan-shared', users: [...users, vlanUserKey(`netns:x${users.length}`, 'eth1')] }))
    users.push(vlanUserKey(`netns:x${users.length}`, 'eth1'));
  assert.ok(users.length > 10, `an alias lists ${users.length} users`);
  const attachTo = (list: string[]) =>
    planAttach(
      [att(r1, { macvlan: 'eth3', vlanId: 10, ip: '198.51.100.7/24' })],
      observed(nsState([nic('eth3'), sharedSub(...list)]), [r1, nsState()]),
    );
  assert.ok(lines(attachTo(users.slice(1))).some((l) => l.startsWith('host: ip link set dev eth3.10 alias')));
  assert.throws(
    () => attachTo(users),
    (e: unknown) =>
      isPipefitterError(e) &&
      e.code === 'E_CONFLICT' &&
      e.message.includes(`already has ${users.length} users`) &&
      /make eth3\.10 yourself/.test(e.hint ?? ''),
  );
});

test('attach --replace of the only user of a shared sub-interface keeps it: the replacement uses it too', () => {
  const host = nsState([nic('eth3'), sharedSub(u1)]);
  const mine = toReplace(r1, 'eth3.10');
  const replace = (input: Omit<AttachInput, 'target'>) =>
    lines(planAttach([att(r1, input)], observed(host, [r1, mine]), { replace: true }));
  const l = replace({ macvlan: 'eth3', vlanId: 10, ip: '198.51.100.9/24' });
  assert.ok(l.includes('netns:r1: ip link del dev eth1'), l.join('\n'));
  assert.ok(
    l.some((x) => x.startsWith('host: ip link add name eth1 link eth3.10')),
    l.join('\n'),
  );
  assert.ok(
    !l.some((x) => x.includes('ip link del dev eth3.10')),
    `the sub-interface stays\n${l.join('\n')}`,
  );
  assert.ok(!l.some((x) => x.includes('ip link add name eth3.10')), `and is not made again\n${l.join('\n')}`);
  assert.ok(!l.some((x) => x.includes('eth3.10 alias')), `its users are the same\n${l.join('\n')}`);
  // a replacement on another VLAN leaves it: it goes with its last user, as on detach
  const other = replace({ macvlan: 'eth3', vlanId: 20, ip: '198.51.100.9/24' });
  assert.ok(other.includes('host: ip link del dev eth3.10'), other.join('\n'));
});

test('two users joining an existing shared sub-interface in one plan: one tag step, listing all, undone to the tag before', () => {
  const u3 = userOf(netnsTarget('r3'));
  const before = sharedSub(u3).alias;
  const p = planAttach(
    [
      att(r1, { macvlan: 'eth3', vlanId: 10, ip: '198.51.100.7/24' }),
      att(r2, { macvlan: 'eth3', vlanId: 10, ip: '198.51.100.8/24' }),
    ],
    observed(nsState([nic('eth3'), sharedSub(u3)]), [r1, nsState()], [r2, nsState()]),
  );
  const tags = p.steps.filter((s) => argvOf(s)[4] === 'eth3.10' && argvOf(s)[5] === 'alias');
  assert.deepEqual(
    tags.map((s) => decodeTag(argvOf(s)[6] as string)?.users),
    [[u3, u1, u2]],
  );
  const undo = tags[0]?.undo;
  assert.ok(undo && typeof undo !== 'string', 'undone by a command');
  assert.equal(text(argvOf(undo)), `ip link set dev eth3.10 alias ${before}`);
});
