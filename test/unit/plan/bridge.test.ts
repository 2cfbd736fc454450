/**
 * Bridges: made or adopted, brought up, their addresses and VLAN filtering, port VLANs, and the
 * iptables accept rule a bridge needs when br_netfilter meets a FORWARD policy that drops.
 */
import { refusal } from '../../helpers/errors.js';
import { argvOf } from '../../../src/render/ip.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAttach } from '../../../src/plan/attach.js';
import { changesFirewall } from '../../../src/plan/firewall.js';
import type { AttachInput } from '../../../src/model/input.js';
import { encodeTag } from '../../../src/model/owner.js';
import type { FirewallState, NetnsState, ObservedLink } from '../../../src/model/observed.js';
import type { Plan } from '../../../src/model/step.js';
import { dumpPlan } from '../../helpers/plan-dump.js';
import { lines, netnsTarget, nic, nsState, observed, text } from '../../helpers/plan-fixtures.js';
import { attachment, detachPlan } from '../../helpers/plan-cases.js';

const r1 = netnsTarget('r1');
const attach = (host: NetnsState, ...input: Omit<AttachInput, 'target'>[]) =>
  planAttach(
    input.map((i) => attachment(r1, { hostIfname: 'vh', ...i })),
    observed(host, [r1, nsState()]),
  );
/** The plan's steps whose id starts with one of `ids`, every field. */
const only = (p: Plan, ...ids: string[]): string =>
  dumpPlan({ steps: p.steps.filter((s) => ids.some((i) => s.id.startsWith(i))), noops: [], notes: [] });

const fw = (p: Partial<FirewallState> = {}): FirewallState => ({
  brNetfilter: { 4: true, 6: true },
  forwardDrop: { 4: true, 6: true },
  dockerUser: { 4: true, 6: false },
  bridgeRules: [],
  ...p,
});
const withFw = (f: FirewallState, links: ObservedLink[] = []): NetnsState => ({
  ...nsState(links),
  firewall: f,
});
const ruleSpec = (chain: string) =>
  `${chain} -i br-lab -o br-lab -m comment --comment pf1:bridge=br-lab -j ACCEPT`;

test('a new bridge gets one accept rule per family that drops bridged frames, in DOCKER-USER when Docker has it', () => {
  const p = attach(withFw(fw()), { bridge: 'br-lab' });
  assert.equal(
    only(p, 'fw-'),
    `
1. fw-accept:4:br-lab
   host: iptables -w -I ${ruleSpec('DOCKER-USER')}
     describes: let traffic within bridge "br-lab" through iptables's FORWARD DROP (br_netfilter is on)
   undo:
     host: iptables -w -D ${ruleSpec('DOCKER-USER')}
       describes: remove the iptables accept rule for "br-lab"

2. fw-accept:6:br-lab
   host: ip6tables -w -I ${ruleSpec('FORWARD')}
     describes: let traffic within bridge "br-lab" through ip6tables's FORWARD DROP (br_netfilter is on)
   undo:
     host: ip6tables -w -D ${ruleSpec('FORWARD')}
       describes: remove the ip6tables accept rule for "br-lab"
`,
  );
  // after the bridge is up, before the port is made
  assert.deepEqual(
    p.steps.map((s) => s.id),
    [
      'link-add:br-lab',
      'link-alias:br-lab',
      'link-up:br-lab',
      'fw-accept:4:br-lab',
      'fw-accept:6:br-lab',
      'link-add:vh',
      'link-set:vh',
      'netns:r1/link-up:eth1',
      'netns:r1/link-alias:eth1',
    ],
  );
  // two ports in one plan: the rule once
  const two = planAttach(
    [
      attachment(r1, { bridge: 'br-lab', hostIfname: 'vh' }),
      attachment(netnsTarget('r2'), { bridge: 'br-lab', hostIfname: 'vh2' }),
    ],
    observed(withFw(fw()), [r1, nsState()], [netnsTarget('r2'), nsState()]),
  );
  assert.equal(two.steps.filter((s) => s.id.startsWith('fw-accept:4')).length, 1);
  // the steps that change the firewall, as watch and cni serve tell them (a reading is stale after)
  assert.deepEqual(
    p.steps.filter(changesFirewall).map((s) => s.id),
    ['fw-accept:4:br-lab', 'fw-accept:6:br-lab'],
  );
});

test('no rule where frames are not dropped, where br_netfilter is off, where one is there, or where iptables was not read', () => {
  const none = (host: NetnsState) =>
    assert.deepEqual(
      attach(host, { bridge: 'br-lab' }).steps.filter((s) => s.id.startsWith('fw-')),
      [],
    );
  none(withFw(fw({ brNetfilter: { 4: false, 6: false } })));
  none(withFw(fw({ forwardDrop: { 4: false, 6: false } })));
  none(
    withFw(
      fw({
        bridgeRules: [
          { family: 4, chain: 'DOCKER-USER', bridge: 'br-lab' },
          { family: 6, chain: 'FORWARD', bridge: 'br-lab' },
        ],
      }),
    ),
  );
  none(nsState());
  // one family only: its rule only (another bridge's rule does not count)
  const p = attach(
    withFw(
      fw({
        forwardDrop: { 4: true, 6: false },
        bridgeRules: [{ family: 4, chain: 'FORWARD', bridge: 'br0' }],
      }),
    ),
    { bridge: 'br-lab' },
  );
  assert.deepEqual(
    p.steps.filter((s) => s.id.startsWith('fw-')).map((s) => s.id),
    ['fw-accept:4:br-lab'],
  );
  const v6 = attach(withFw(fw({ brNetfilter: { 4: false, 6: true } })), { bridge: 'br-lab' });
  assert.deepEqual(
    v6.steps.filter((s) => s.id.startsWith('fw-')).map((s) => s.id),
    ['fw-accept:6:br-lab'],
  );
});

test("someone else's bridge gets no rule, but a note with the command to run", () => {
  const p = attach(withFw(fw({ dockerUser: { 4: false, 6: true } }), [nic('br-lab', { kind: 'bridge' })]), {
    bridge: 'br-lab',
  });
  assert.ok(!p.steps.some((s) => s.id.startsWith('fw-')));
  assert.deepEqual(
    p.notes.filter((n) => n.includes('br_netfilter')),
    [
      `netns:r1: frames on bridge "br-lab" pass through iptables (br_netfilter) and its FORWARD policy drops them; if its ports cannot reach each other, run: iptables -I ${ruleSpec('FORWARD')}`,
      `netns:r1: frames on bridge "br-lab" pass through ip6tables (br_netfilter) and its FORWARD policy drops them; if its ports cannot reach each other, run: ip6tables -I ${ruleSpec('DOCKER-USER')}`,
    ],
  );
  // pipefitter's own bridge, made earlier: the rule is added now
  const ours = attach(withFw(fw(), [nic('br-lab', { kind: 'bridge', alias: 'pf1:k=bridge' })]), {
    bridge: 'br-lab',
  });
  assert.deepEqual(
    ours.steps.filter((s) => s.id.startsWith('fw-')).map((s) => s.id),
    ['fw-accept:4:br-lab', 'fw-accept:6:br-lab'],
  );
  assert.ok(!ours.notes.some((n) => n.includes('br_netfilter')));
});

/**
 * The detach of r1's eth1, a port of br-lab: the host with br-lab's accept rules of `rules`
 * (family, chain), one of another bridge's, and `links`; eth1 with `eth1` on top.
 */
const detachPort = (rules: [4 | 6, string][], links: ObservedLink[] = [], eth1: Partial<ObservedLink> = {}) =>
  detachPlan(
    r1,
    withFw(
      fw({
        bridgeRules: [
          ...rules.map(([family, chain]) => ({ family, chain, bridge: 'br-lab' })),
          { family: 4, chain: 'FORWARD', bridge: 'other' },
        ],
      }),
      links,
    ),
    nsState([
      nic('eth1', {
        kind: 'veth',
        alias: encodeTag({ kind: 'veth', bridge: 'br-lab', target: 'netns:r1', ifname: 'eth1' }),
        ...eth1,
      }),
    ]),
  );

test('the bridge goes with its last port, and its accept rules (only its own) before it', () => {
  const hostTag = encodeTag({ kind: 'veth-host', bridge: 'br-lab', target: 'netns:r1', ifname: 'eth1' });
  const p = detachPort(
    [
      [4, 'DOCKER-USER'],
      [6, 'FORWARD'],
    ],
    [
      nic('br-lab', { kind: 'bridge', alias: 'pf1:k=bridge', ifindex: 3 }),
      nic('vh', { kind: 'veth', master: 'br-lab', alias: hostTag, ifindex: 20, linkIndex: 5 }),
    ],
    { ifindex: 5, linkIndex: 20 },
  );
  assert.equal(
    dumpPlan(p),
    `note: bridge "br-lab" was made by pipefitter and has no ports left; it is removed

1. fw-remove:4:br-lab
   host: iptables -w -D ${ruleSpec('DOCKER-USER')}
     describes: remove the iptables accept rule for "br-lab"
   undo:
     host: iptables -w -I ${ruleSpec('DOCKER-USER')}
       describes: put back the iptables accept rule for "br-lab"

2. fw-remove:6:br-lab
   host: ip6tables -w -D ${ruleSpec('FORWARD')}
     describes: remove the ip6tables accept rule for "br-lab"
   undo:
     host: ip6tables -w -I ${ruleSpec('FORWARD')}
       describes: put back the ip6tables accept rule for "br-lab"

3. link-del:br-lab
   host: ip link del dev br-lab
     describes: delete "br-lab"
   undo: irreversible

4. link-del:vh
   host: ip link del dev vh
     describes: remove "eth1" from netns:r1 (with its host end "vh")
     affects: netns:r1
   undo: irreversible
`,
  );
});

test('the bridge gone already (a detach stopped after deleting it, run again): its accept rules go, then the port', () => {
  const p = detachPort([[4, 'DOCKER-USER']]);
  assert.deepEqual(lines(p), [
    `host: iptables -w -D ${ruleSpec('DOCKER-USER')}`,
    'netns:r1: ip link del dev eth1',
  ]);
});

test('a name taken by another kind of interface, or a missing bridge with --no-create-bridge, is refused', () => {
  assert.deepEqual(
    refusal(() => attach(nsState([nic('br-lab', { kind: 'veth' })]), { bridge: 'br-lab' })),
    [
      'E_CONFLICT',
      'bridge "br-lab": a host interface of that name exists and is a veth',
      'choose another bridge name',
    ],
  );
  assert.deepEqual(
    refusal(() => attach(nsState([nic('br-lab')]), { bridge: 'br-lab' })),
    [
      'E_CONFLICT',
      'bridge "br-lab": a host interface of that name exists and is not a bridge',
      'choose another bridge name',
    ],
  );
  assert.deepEqual(
    refusal(() => attach(nsState(), { bridge: 'br-lab', createBridge: false })),
    [
      'E_NO_HOST_IF',
      'bridge "br-lab": does not exist on the host',
      'create it, or leave out --no-create-bridge',
    ],
  );
});

test('an existing bridge that is down is brought up; of the --bridge-ip addresses only the missing ones are added, each undone', () => {
  const p = attach(
    nsState([
      nic('br-lab', {
        kind: 'bridge',
        up: false,
        addrs: [{ family: 4, address: '192.0.2.1', prefix: 24, scope: 'global' }],
      }),
    ]),
    // the same address with another prefix is another address
    { bridge: 'br-lab', bridgeIp: ['192.0.2.1/24', '192.0.2.2/24', '192.0.2.1/25'] },
  );
  assert.equal(
    only(p, 'link-up:br-lab', 'addr-add:br-lab'),
    `
1. link-up:br-lab
   host: ip link set dev br-lab up
     describes: bring "br-lab" up
   undo:
     host: ip link set dev br-lab down
       describes: bring "br-lab" down

2. addr-add:br-lab:192.0.2.2/24
   host: ip addr add 192.0.2.2/24 brd 192.0.2.255 dev br-lab
     describes: add 192.0.2.2/24 to "br-lab"
   undo:
     host: ip addr del 192.0.2.2/24 dev br-lab
       describes: remove 192.0.2.2/24 from "br-lab"

3. addr-add:br-lab:192.0.2.1/25
   host: ip addr add 192.0.2.1/25 brd 192.0.2.127 dev br-lab
     describes: add 192.0.2.1/25 to "br-lab"
   undo:
     host: ip addr del 192.0.2.1/25 dev br-lab
       describes: remove 192.0.2.1/25 from "br-lab"
`,
  );
  // the port answers for the two it added, not for the operator's
  assert.ok(lines(p).some((l) => l.includes('&ba=192.0.2.2/24,192.0.2.1/25 up')));
  // a new bridge gets them with its creation (their undo is the bridge's)
  const made = attach(nsState(), { bridge: 'br-lab', bridgeIp: '192.0.2.1/24' });
  assert.deepEqual(
    made.steps.filter((s) => s.id.startsWith('addr-add:br-lab')).map((s) => [text(argvOf(s)), s.undo]),
    [['ip addr add 192.0.2.1/24 brd 192.0.2.255 dev br-lab', 'covered']],
  );
});

test('VLANs: a new bridge is made filtering, its own bridge is turned filtering, a foreign one is refused', () => {
  const made = attach(nsState(), { bridge: 'br-lab', vlanId: 5 });
  assert.deepEqual(
    [text(argvOf(made.steps[0]!)), made.steps[0]!.describes],
    ['ip link add name br-lab type bridge vlan_filtering 1', 'create bridge "br-lab" with VLAN filtering'],
  );
  // an access port of VLAN 5 leaves the default VLAN 1
  assert.deepEqual(
    lines(made).filter((l) => l.startsWith('host: bridge vlan')),
    ['host: bridge vlan add dev vh vid 5 pvid untagged', 'host: bridge vlan del dev vh vid 1'],
  );
  const ours = attach(nsState([nic('br-lab', { kind: 'bridge', alias: 'pf1:k=bridge' })]), {
    bridge: 'br-lab',
    vlanId: 1,
    trunk: '20,1,20',
  });
  assert.equal(
    only(ours, 'bridge-vlan'),
    `
1. bridge-vlan-filtering:br-lab
   host: ip link set dev br-lab type bridge vlan_filtering 1
     describes: turn VLAN filtering on on bridge "br-lab"
   undo:
     host: ip link set dev br-lab type bridge vlan_filtering 0
       describes: turn VLAN filtering off on bridge "br-lab"

2. bridge-vlan-add:vh:1
   host: bridge vlan add dev vh vid 1 pvid untagged
     describes: make "vh" an access port of VLAN 1
   undo: covered

3. bridge-vlan-add:vh:20
   host: bridge vlan add dev vh vid 20
     describes: let VLAN 20 through "vh" tagged
   undo: covered
`,
  );
  assert.deepEqual(
    refusal(() => attach(nsState([nic('br-lab', { kind: 'bridge' })]), { bridge: 'br-lab', trunk: '20' })),
    [
      'E_CONFLICT',
      'bridge "br-lab": has VLAN filtering off, and pipefitter did not make it',
      'turn it on yourself (ip link set br-lab type bridge vlan_filtering 1), then retry',
    ],
  );
  // filtering already on: a foreign bridge is fine; the access VLAN is not repeated as a trunk VLAN
  const foreign = attach(nsState([nic('br-lab', { kind: 'bridge', vlanFiltering: true })]), {
    bridge: 'br-lab',
    vlanId: 10,
    trunk: '10,20',
  });
  assert.deepEqual(
    lines(foreign).filter((l) => l.includes('vlan')),
    [
      'host: bridge vlan add dev vh vid 10 pvid untagged',
      'host: bridge vlan add dev vh vid 20',
      'host: bridge vlan del dev vh vid 1',
    ],
  );
  // a trunk carrying VLAN 1 keeps it
  const trunk1 = attach(nsState([nic('br-lab', { kind: 'bridge', vlanFiltering: true })]), {
    bridge: 'br-lab',
    trunk: '1,30',
  });
  assert.deepEqual(
    lines(trunk1).filter((l) => l.includes('vlan')),
    ['host: bridge vlan add dev vh vid 1', 'host: bridge vlan add dev vh vid 30'],
  );
});

test('iptables could not be read (FirewallState.unknown): no rule added blind, and not silently — a note with the command', () => {
  const why = "iptables v1.8.9 (legacy): can't initialize iptables table `filter'";
  // before, forwardDrop read false and the plan said nothing at all
  const unknown = fw({ forwardDrop: { 4: false, 6: false }, unknown: { 4: why } });
  for (const host of [withFw(unknown), withFw(unknown, [nic('br-lab', { kind: 'bridge' })])]) {
    const p = attach(host, { bridge: 'br-lab' });
    assert.ok(!p.steps.some((s) => s.id.startsWith('fw-')), 'no rule added blind');
    assert.deepEqual(
      p.notes.filter((n) => n.includes('could not be read')),
      [
        `netns:r1: frames on bridge "br-lab" pass through iptables (br_netfilter is on), but iptables could not be read (${why}), so whether its FORWARD policy drops them is unknown and no accept rule was added; if its ports cannot reach each other, run: iptables -I ${ruleSpec('FORWARD')}`,
      ],
    );
  }
  // two ports on the bridge: one note; br_netfilter off for that family: nothing to say
  assert.equal(
    attach(
      withFw(unknown),
      { bridge: 'br-lab' },
      { bridge: 'br-lab', ifname: 'eth2', hostIfname: 'vh2' },
    ).notes.filter((n) => n.includes('could not be read')).length,
    1,
  );
  const off = fw({
    brNetfilter: { 4: false, 6: false },
    forwardDrop: { 4: false, 6: false },
    unknown: { 4: why },
  });
  assert.deepEqual(
    attach(withFw(off), { bridge: 'br-lab' }).notes.filter((n) => n.includes('could not be read')),
    [],
  );
  // IPv6 unknown, IPv4 read: the IPv4 rule as usual, a note for IPv6
  const p = attach(withFw(fw({ forwardDrop: { 4: true, 6: false }, unknown: { 6: 'not installed' } })), {
    bridge: 'br-lab',
  });
  assert.deepEqual(
    p.steps.filter((s) => s.id.startsWith('fw-')).map((s) => s.id),
    ['fw-accept:4:br-lab'],
  );
  assert.ok(p.notes.some((n) => n.includes('ip6tables could not be read (not installed)')));
});
