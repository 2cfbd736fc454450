/**
 * Kernel features: what each is called, the option and module that give it (the fix doctor and
 * the preflight print), the exact lines the probe runs, and what a plan needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Arg, Plan, Step } from '../../../src/model/step.js';
import type { LinkSpec, Op } from '../../../src/model/op.js';
import { concatPlans, emptyPlan } from '../../../src/model/step.js';
import { HOST } from '../../../src/model/netns.js';
import {
  FEATURES,
  PROBE_BASE,
  featureById,
  ovsProblems,
  requiredFeatures,
  usesOpenvswitch,
} from '../../../src/model/features.js';
import { fixFor, probeKernel } from '../../../src/observe/kernel.js';
import { RecordingRunner } from '../../helpers/recording-runner.js';

test('each feature: its name, and the fix that names its kernel option and module', () => {
  assert.deepEqual(
    FEATURES.map((f) => [f.id, f.what, fixFor(f)]),
    [
      ['veth', 'veth pairs', 'CONFIG_VETH (module veth: modprobe veth)'],
      ['bridge', 'Linux bridges', 'CONFIG_BRIDGE (module bridge: modprobe bridge)'],
      ['macvlan', 'macvlan', 'CONFIG_MACVLAN (module macvlan: modprobe macvlan)'],
      ['ipvlan', 'ipvlan', 'CONFIG_IPVLAN (module ipvlan: modprobe ipvlan)'],
      ['vlan', '802.1Q VLAN interfaces', 'CONFIG_VLAN_8021Q (module 8021q: modprobe 8021q)'],
      [
        'bridge-vlan',
        'bridge VLAN filtering',
        'CONFIG_BRIDGE_VLAN_FILTERING (module bridge: modprobe bridge)',
      ],
      ['vxlan', 'VXLAN', 'CONFIG_VXLAN (module vxlan: modprobe vxlan)'],
      ['dummy', 'dummy interfaces', 'CONFIG_DUMMY (module dummy: modprobe dummy)'],
      ['tun', 'TUN/TAP', 'CONFIG_TUN (module tun: modprobe tun)'],
      ['tbf', 'tc qdisc tbf', 'CONFIG_NET_SCH_TBF (module sch_tbf: modprobe sch_tbf)'],
      ['htb', 'tc qdisc htb', 'CONFIG_NET_SCH_HTB (module sch_htb: modprobe sch_htb)'],
      ['netem', 'tc qdisc netem', 'CONFIG_NET_SCH_NETEM (module sch_netem: modprobe sch_netem)'],
      ['ingress', 'tc ingress qdisc', 'CONFIG_NET_SCH_INGRESS (module sch_ingress: modprobe sch_ingress)'],
    ].map(([id, what, fix]) => [id, what, `the kernel needs ${fix}; use a kernel built with it`]),
  );
  assert.equal(featureById('vlan')?.option, 'CONFIG_VLAN_8021Q');
  assert.equal(featureById('nope'), undefined);
  // a feature built into every kernel that has it names no module
  assert.equal(
    fixFor({ id: 'x', what: 'x', option: 'CONFIG_X' }),
    'the kernel needs CONFIG_X; use a kernel built with it',
  );
});

test('the probe: one ip batch (base links, then each feature that is a link) and one tc batch on lo', async () => {
  const runner = new RecordingRunner();
  const result = await probeKernel(runner);
  assert.deepEqual(
    runner.calls.map((c) => [c.netns, c.argv.join(' '), c.input]),
    [
      [
        'host',
        'unshare --net -- ip -force -batch -',
        [
          ...PROBE_BASE,
          'link add pfm0 link pfp0 type macvlan mode bridge',
          'link add pfi0 link pfq0 type ipvlan mode l2',
          'link add pfv0 link pfp0 type vlan id 10',
          'link set pfb0 type bridge vlan_filtering 1',
          'link add pfx0 type vxlan id 42 dstport 4789',
          'link add pfd0 type dummy',
          'tuntap add pft0 mode tap',
          '',
        ].join('\n'),
      ],
      [
        'host',
        'unshare --net -- tc -force -batch -',
        [
          'qdisc replace dev lo root tbf rate 1mbit burst 32kbit latency 400ms',
          'qdisc replace dev lo root handle 1: htb',
          'qdisc replace dev lo root netem delay 1ms',
          'qdisc add dev lo ingress',
          '',
        ].join('\n'),
      ],
    ],
  );
  assert.deepEqual(PROBE_BASE, [
    'link add pfp0 type veth peer name pfp1',
    'link add pfb0 type bridge',
    'link add pfq0 type veth peer name pfq1',
  ]);
  // nothing failed: every feature is there
  assert.deepEqual([...result.supported].sort(), FEATURES.map((f) => [f.id, true] as const).sort());
});

const step = (op: Op): Step => ({ id: 's', netns: HOST, op, describes: 'd', undo: 'covered' });
/** A program run as it is (no rtnetlink form). */
const exec = (...argv: Arg[]): Step => step({ op: 'exec', argv });
const add = (spec: LinkSpec): Step => step({ op: 'link.add', name: 'x', spec });
const plan = (...steps: Step[]): Plan => ({ ...emptyPlan, steps });
const needs = (...steps: Step[]): string[] => [...requiredFeatures(plan(...steps))].sort();

test('what a plan needs: link kinds not every kernel has, and bridge VLAN filtering however it is turned on', () => {
  assert.deepEqual(needs(add({ kind: 'veth', peer: { name: 'e' } })), []);
  assert.deepEqual(needs(add({ kind: 'bridge' })), []);
  assert.deepEqual(
    needs(
      add({ kind: 'macvlan', parent: 'eth0', mode: 'bridge' }),
      add({ kind: 'ipvlan', parent: 'eth0', mode: 'l2', flag: 'bridge' }),
      add({ kind: 'vlan', parent: 'eth0', id: 5 }),
    ),
    ['ipvlan', 'macvlan', 'vlan'],
  );
  // made with filtering on, turned on later, or a port's VLANs set
  assert.deepEqual(needs(add({ kind: 'bridge', vlanFiltering: true })), ['bridge-vlan']);
  assert.deepEqual(needs(step({ op: 'link.set', name: 'b', patch: { vlanFiltering: true } })), [
    'bridge-vlan',
  ]);
  assert.deepEqual(needs(step({ op: 'bridge-vlan.add', dev: 'v', vid: 10, access: false })), ['bridge-vlan']);
  assert.deepEqual(needs(step({ op: 'bridge-vlan.del', dev: 'v', vid: 10 })), ['bridge-vlan']);
  // turned off, or other changes
  assert.deepEqual(needs(add({ kind: 'bridge', vlanFiltering: false })), []);
  assert.deepEqual(needs(step({ op: 'link.set', name: 'b', patch: { vlanFiltering: false, up: true } })), []);
  assert.deepEqual(needs(step({ op: 'link.del', name: 'x' })), []);
  // a program run as it is needs what it needs itself: nothing the preflight knows
  assert.deepEqual(needs(exec('ip', 'link', 'add', 'x', 'type', 'vlan', 'id', '5')), []);
  assert.equal(usesOpenvswitch(plan(exec('ip', 'link'), exec('ovs-vsctl', 'add-br', 'b'))), true);
  assert.equal(usesOpenvswitch(plan(exec('ip', 'ovs-vsctl'))), false);
});

test('plans joined: steps, records, no-ops and notes in order', () => {
  const a: Plan = {
    steps: [exec('ip', 'a')],
    noops: ['n1'],
    notes: ['x'],
    records: [{ kind: 'parent-user', parent: 'eth0', ifindex: 2, user: 'u', op: 'add' }],
  };
  const b: Plan = { steps: [exec('ip', 'b')], noops: ['n2'], notes: ['y'] };
  assert.deepEqual(concatPlans([a, b]), {
    steps: [exec('ip', 'a'), exec('ip', 'b')],
    records: [{ kind: 'parent-user', parent: 'eth0', ifindex: 2, user: 'u', op: 'add' }],
    noops: ['n1', 'n2'],
    notes: ['x', 'y'],
  });
  assert.deepEqual(emptyPlan, { steps: [], noops: [], notes: [] });
});

test('what stops Open vSwitch, each with its fix, in full', () => {
  const database = 'unix:/var/run/openvswitch/db.sock';
  assert.deepEqual(ovsProblems({ installed: false, database, databaseUp: false, module: 'missing' }), [
    {
      code: 'E_TOOL_MISSING',
      problem: 'Open vSwitch is not installed (no ovs-vsctl)',
      fix: 'install it: apt-get install openvswitch-switch',
    },
    {
      code: 'E_KIND_UNSUPPORTED',
      problem:
        'this kernel has no Open vSwitch datapath (CONFIG_OPENVSWITCH, module openvswitch: not loaded, none to load)',
      fix: 'use a kernel built with CONFIG_OPENVSWITCH (module openvswitch: modprobe openvswitch)',
    },
  ]);
  // not asked (undefined) is not down; down without a reason says no reason
  assert.deepEqual(ovsProblems({ installed: true, database, module: 'loaded' }), []);
  assert.deepEqual(ovsProblems({ installed: true, database, databaseUp: false, module: 'loadable' }), [
    {
      code: 'E_SERVICE_DOWN',
      problem: `Open vSwitch is not running (its database at ${database} cannot be reached)`,
      fix: 'start Open vSwitch, e.g. `systemctl start openvswitch-switch` or `/usr/share/openvswitch/scripts/ovs-ctl start`',
    },
  ]);
});
