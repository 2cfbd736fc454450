/**
 * doctor reports what this kernel supports; a command that needs a missing feature says so up
 * front — naming the kernel option — and touches nothing. (What this host kernel lacks is
 * exercised for real in the kernel VM lane.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { doctor } from '../../src/api/doctor.js';
import type { DoctorReport } from '../../src/api/doctor.js';
import { createRunner } from '../../src/exec/runner.js';
import type { Runner } from '../../src/exec/runner.js';
import { FEATURES } from '../../src/model/features.js';
import { cli } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';
import { expectState, snapshot } from '../helpers/round-trip.js';

interface Item {
  id: string;
  ok: boolean;
  fix?: string;
}

test('doctor: features with their fix, tools, --json', (t) =>
  withSandbox(t, async () => {
    const r = await cli(['doctor', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const items = (JSON.parse(r.stdout) as { items: Item[] }).items;
    for (const id of ['veth', 'bridge', 'tool:ip', 'tool:nsenter'])
      assert.equal(items.find((i) => i.id === id)?.ok, true, id);
    // every feature of the table is reported, with its kernel option as the fix when missing
    assert.deepEqual(
      items.filter((i) => FEATURES.some((f) => f.id === i.id)).map((i) => i.id),
      FEATURES.map((f) => f.id),
    );
    for (const i of items.filter((x) => !x.ok)) assert.ok(i.fix && i.fix.length > 10, `a fix for ${i.id}`);
    const human = await cli(['doctor']);
    assert.match(human.stdout, /^kernel \S+/);
  }));

/**
 * The real runner, except that the probe asks the kernel for a link kind and a qdisc that do
 * not exist in place of `hide`'s: the kernel refuses those lines, as it refuses a feature it
 * lacks, so the report has missing features whatever this kernel has.
 */
const hidingRunner = (hide: { ip: string; tc: string }): Runner => {
  const real = createRunner();
  return {
    get spawned() {
      return real.spawned;
    },
    run: (argv, o) => {
      const input =
        argv[0] === 'unshare' && o.input !== undefined
          ? o.input
              .replaceAll(` type ${hide.ip} `, ' type pfnosuchkind ')
              .replaceAll(` root ${hide.tc} `, ' root pfnosuchqdisc ')
          : o.input;
      return real.run(argv, { ...o, input });
    },
  };
};

test('doctor: a feature the kernel refuses is reported missing, with its kernel option and module as the fix', (t) =>
  withSandbox(t, async () => {
    const report = await doctor({ runner: hidingRunner({ ip: 'macvlan', tc: 'tbf' }) });
    const item = (id: string) => report.items.find((i) => i.id === id);
    assert.deepEqual(
      [item('vlan')?.ok, item('vlan')?.fix],
      [
        false,
        'the kernel needs CONFIG_VLAN_8021Q (module 8021q: modprobe 8021q); use a kernel built with it',
      ],
    );
    assert.deepEqual(
      [item('netem')?.ok, item('netem')?.fix],
      [
        false,
        'the kernel needs CONFIG_NET_SCH_NETEM (module sch_netem: modprobe sch_netem); use a kernel built with it',
      ],
    );
    // the others are what the kernel says: the same as without hiding
    const plain = await doctor();
    const rest = (r: DoctorReport) =>
      r.items.filter((i) => FEATURES.some((f) => f.id === i.id) && i.id !== 'macvlan' && i.id !== 'tbf');
    assert.deepEqual(rest(report), rest(plain));
    const missing = report.items.filter((i) => !i.ok);
    assert.ok(missing.length >= 2);
    for (const i of missing) assert.ok(i.fix && i.fix.length > 10, `a fix for ${i.id}`);
  }));

test('a kind this kernel lacks is refused up front, naming the kernel option; nothing changes', (t) =>
  withSandbox(t, async (sb) => {
    const items = (JSON.parse((await cli(['doctor', '--json'])).stdout) as { items: Item[] }).items;
    const missing = ['vlan', 'ipvlan'].filter((id) => items.find((i) => i.id === id)?.ok === false);
    if (missing.length === 0)
      return t.skip(
        'kernel feature: this kernel has 802.1Q VLAN and ipvlan, so their refusal cannot be shown here; ' +
          "the kinds themselves run in the kernel VM lane, test/vm/kinds.test.ts: 'vlan: an 802.1Q interface on a host NIC, born inside the target', " +
          "'ipvlan l2 and l3: round trip; two ipvlan containers reach each other' and 'doctor: this kernel has what the host lacks'",
      );
    const nic = await sb.hostNic('k');
    const n = await sb.netns('k');
    const before = await snapshot(['sandbox', { netns: n }]);
    const cases: Record<string, [string[], RegExp]> = {
      vlan: [['--vlan', nic, '--vlan-id', '10'], /802\.1Q VLAN interfaces \(CONFIG_VLAN_8021Q\)/],
      ipvlan: [['--ipvlan', nic], /ipvlan \(CONFIG_IPVLAN\)/],
    };
    for (const id of missing) {
      const [flags, re] = cases[id]!;
      const r = await cli(['attach', `netns:${n}`, ...flags, '--ip', '192.0.2.10/24']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /nothing was changed/);
      assert.match(r.stderr, /modprobe/);
      // a dry run still prints the script, with a note
      const dry = await cli(['attach', `netns:${n}`, ...flags, '--dry-run']);
      assert.equal(dry.code, 0);
      assert.match(dry.stdout, /# note: this kernel lacks/);
    }
    await expectState(['sandbox', { netns: n }], before, 'nothing changed');
  }));

interface OvsItem extends Item {
  facts?: string[];
  detail?: string;
}

test('--ovs without a running Open vSwitch: exit 2 with the fix, nothing changed; doctor says it is not usable', (t) =>
  withSandbox(t, async (sb) => {
    // an Open vSwitch run directory with no database in it: whatever runs on this machine, the
    // database pipefitter's ovs-vsctl looks for cannot be reached (the kernel module is this host's)
    const rundir = await mkdtemp(`/tmp/${sb.nsName('ovs')}-`);
    t.after(() => rm(rundir, { recursive: true, force: true }));
    const env = { OVS_RUNDIR: rundir };
    const installed = (await execa('sh', ['-c', 'command -v ovs-vsctl'], { reject: false })).exitCode === 0;

    const doc = await cli(['doctor', '--json'], env);
    assert.equal(doc.code, 0, doc.stderr);
    const ovs = (JSON.parse(doc.stdout) as { items: OvsItem[] }).items.find((i) => i.id === 'openvswitch');
    assert.ok(ovs);
    assert.equal(ovs.ok, false, 'Open vSwitch is not usable without its database');
    assert.ok(ovs.facts && ovs.facts.length === 3, JSON.stringify(ovs));
    assert.match(ovs.facts[2]!, /^kernel module openvswitch (loaded|loadable|missing)$/);
    const moduleMissing = ovs.facts[2]!.endsWith('missing');
    if (installed) {
      assert.match(ovs.facts[1]!, new RegExp(`database unix:${rundir}/db\\.sock cannot be reached`));
      assert.match(ovs.fix ?? '', /systemctl start openvswitch-switch/);
    } else assert.match(ovs.fix ?? '', /apt-get install openvswitch-switch/);
    if (moduleMissing) assert.match(ovs.fix ?? '', /CONFIG_OPENVSWITCH/);
    const human = await cli(['doctor'], env);
    assert.match(human.stdout, /missing {2}Open vSwitch \(--ovs, ovs\* bridges\)\n {11}- ovs-vsctl/);

    const n = await sb.netns('ovs');
    const before = await snapshot(['sandbox', { netns: n }]);
    const br = `ovs${sb.id}`;
    const runs = [
      ['attach', `netns:${n}`, '--ovs', br, '--ip', '192.0.2.10/24'],
      [br, `netns:${n}`, '192.0.2.10/24'], // pipework's ovs* form
    ];
    for (const args of runs) {
      const r = await cli(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      if (installed) {
        assert.match(
          r.stderr,
          new RegExp(
            `^pipefitter: Open vSwitch is not running \\(its database at unix:${rundir}/db\\.sock cannot be reached`,
          ),
        );
        assert.match(
          r.stderr,
          /hint: start Open vSwitch, e\.g\. `systemctl start openvswitch-switch` or `\/usr\/share\/openvswitch\/scripts\/ovs-ctl start`/,
        );
      } else assert.match(r.stderr, /Open vSwitch is not installed[\s\S]*apt-get install openvswitch-switch/);
      if (moduleMissing) assert.match(r.stderr, /no Open vSwitch datapath \(CONFIG_OPENVSWITCH/);
      assert.match(r.stderr, /nothing was changed/);
      assert.doesNotMatch(r.stderr, /an interface or namespace it needs is gone/);
    }
    const j = await cli(['attach', `netns:${n}`, '--ovs', br, '--ip', '192.0.2.10/24', '--json'], env);
    assert.equal(j.code, 2);
    const err = (JSON.parse(j.stdout) as { error: { code: string } }).error;
    assert.equal(err.code, installed ? 'E_SERVICE_DOWN' : 'E_TOOL_MISSING');
    // a dry run still prints the script, with a note
    const dry = await cli(['attach', `netns:${n}`, '--ovs', br, '--ip', '192.0.2.10/24', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^# note: Open vSwitch is not (running|installed)/m);
    assert.match(dry.stdout, new RegExp(`^ovs-vsctl --timeout=30 --may-exist add-br ${br}$`, 'm'));
    await expectState(['sandbox', { netns: n }], before, 'nothing changed');
  }));
