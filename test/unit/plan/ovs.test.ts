import { test } from 'node:test';
import { argvOf } from '../../../src/render/ip.js';
import assert from 'node:assert/strict';
import { planAttach } from '../../../src/plan/attach.js';
import { planDetach } from '../../../src/plan/detach.js';
import { parseAttachInput } from '../../../src/model/input.js';
import { encodeTag } from '../../../src/model/owner.js';
import { hintFor } from '../../../src/exec/hints.js';
import { ovsProblems, requiredFeatures, usesOpenvswitch } from '../../../src/model/features.js';
import { lines, netnsTarget, nic, nsState, observed } from '../../helpers/plan-fixtures.js';

const r1 = netnsTarget('r1');

test('OVS: the bridge is made when missing; the host end becomes a tagged port', () => {
  const req = parseAttachInput({ target: 'x', ovs: 'ovsbr0', vlanId: 10, ip: '192.0.2.10/24' });
  if (req.link.kind === 'pair') throw new Error();
  const p = planAttach(
    [{ target: r1, iface: req.iface, link: req.link }],
    observed(nsState(), [r1, nsState()]),
  );
  const l = lines(p);
  assert.equal(l[0], 'host: ovs-vsctl --timeout=30 --may-exist add-br ovsbr0');
  const port = argvOf(p.steps.find((s) => argvOf(s)[2] === 'add' && argvOf(s)[3] === 'name')!)[4] as string;
  assert.ok(l.includes(`host: ovs-vsctl --timeout=30 --may-exist add-port ovsbr0 ${port} tag=10`));
  assert.ok(!l.some((x) => x.includes(' master ')), 'no Linux master');
  const add = p.steps.find((s) => argvOf(s).includes('add-port'))!;
  assert.ok(
    typeof add.undo !== 'string' && argvOf(add.undo).includes('del-port'),
    'the port record goes on undo too',
  );
});

test('OVS: detach takes the port out of the database, and the bridge with its last port', () => {
  const tag = encodeTag({
    kind: 'veth',
    bridge: 'ovsbr0',
    parent: 'ovs',
    target: 'netns:r1',
    ifname: 'eth1',
  });
  const host = {
    ...nsState([
      nic('ovsbr0', { kind: 'openvswitch', alias: encodeTag({ kind: 'bridge' }) }),
      nic('h1', {
        kind: 'veth',
        master: 'ovs-system',
        alias: encodeTag({ kind: 'veth-host', target: 'netns:r1', ifname: 'eth1', bridge: 'ovsbr0' }),
      }),
    ]),
    ovs: new Map([['ovsbr0', ['h1']]]),
  };
  const ifname = parseAttachInput({ target: 'x', bridge: 'b' }).iface.ifname;
  const p = planDetach(
    { target: r1, ifname, force: false },
    observed(host, [r1, nsState([nic('eth1', { kind: 'veth', alias: tag })])]),
  );
  assert.deepEqual(lines(p), [
    'host: ovs-vsctl --timeout=30 --if-exists del-port ovsbr0 h1',
    'host: ovs-vsctl --timeout=30 --if-exists del-br ovsbr0',
    // the port last: its tag names the bridge, for a detach stopped in between and run again
    'netns:r1: ip link del dev eth1',
  ]);
  const shared = { ...host, ovs: new Map([['ovsbr0', ['h1', 'other']]]) };
  assert.equal(
    lines(
      planDetach(
        { target: r1, ifname, force: false },
        observed(shared, [r1, nsState([nic('eth1', { kind: 'veth', alias: tag })])]),
      ),
    ).length,
    2,
    'a bridge with other ports stays',
  );
});

test('the kernel features a plan needs', () => {
  const mk = (input: Parameters<typeof parseAttachInput>[0]) => {
    const req = parseAttachInput(input);
    if (req.link.kind === 'pair') throw new Error();
    return planAttach(
      [{ target: r1, iface: req.iface, link: req.link }],
      observed(nsState([nic('eth3')]), [r1, nsState()]),
    );
  };
  assert.deepEqual([...requiredFeatures(mk({ target: 'x', bridge: 'br0' }))], []);
  assert.deepEqual([...requiredFeatures(mk({ target: 'x', macvlan: 'eth3' }))], ['macvlan']);
  assert.deepEqual([...requiredFeatures(mk({ target: 'x', vlan: 'eth3', vlanId: 5 }))], ['vlan']);
  assert.deepEqual([...requiredFeatures(mk({ target: 'x', ipvlan: 'eth3' }))], ['ipvlan']);
  assert.deepEqual([...requiredFeatures(mk({ target: 'x', bridge: 'br0', vlanId: 5 }))].sort(), [
    'bridge-vlan',
  ]);
  assert.deepEqual([...requiredFeatures(mk({ target: 'x', macvlan: 'eth3', vlanId: 5 }))].sort(), [
    'macvlan',
    'vlan',
  ]);
});

test('a plan with Open vSwitch steps is known as one; what stops OVS, each with its fix', () => {
  const mk = (input: Parameters<typeof parseAttachInput>[0]) => {
    const req = parseAttachInput(input);
    if (req.link.kind === 'pair') throw new Error();
    return planAttach(
      [{ target: r1, iface: req.iface, link: req.link }],
      observed(nsState(), [r1, nsState()]),
    );
  };
  assert.equal(usesOpenvswitch(mk({ target: 'x', ovs: 'ovsbr0' })), true);
  assert.equal(usesOpenvswitch(mk({ target: 'x', bridge: 'br0' })), false);

  const database = 'unix:/var/run/openvswitch/db.sock';
  assert.deepEqual(ovsProblems({ installed: true, database, databaseUp: true, module: 'loaded' }), []);
  assert.deepEqual(ovsProblems({ installed: true, database, databaseUp: true, module: 'loadable' }), []);
  const missing = ovsProblems({ installed: false, database, module: 'loaded' });
  assert.deepEqual(
    missing.map((p) => p.code),
    ['E_TOOL_MISSING'],
  );
  assert.match(missing[0]!.fix, /apt-get install openvswitch-switch/);
  const down = ovsProblems({
    installed: true,
    database,
    databaseUp: false,
    databaseError: 'database connection failed (No such file or directory)',
    module: 'missing',
  });
  assert.deepEqual(
    down.map((p) => p.code),
    ['E_SERVICE_DOWN', 'E_KIND_UNSUPPORTED'],
  );
  assert.match(
    down[0]!.problem,
    /^Open vSwitch is not running \(its database at unix:\/var\/run\/openvswitch\/db\.sock cannot be reached: database connection failed/,
  );
  assert.match(down[0]!.fix, /systemctl start openvswitch-switch.*ovs-ctl start/);
  assert.match(down[1]!.problem, /CONFIG_OPENVSWITCH/);
});

test('a failed Open vSwitch step is hinted at Open vSwitch, not at a missing interface', () => {
  assert.match(hintFor('not-found', 'create Open vSwitch bridge "ovsbr0"') ?? '', /ovs-vswitchd run/);
  assert.match(
    hintFor('tool-missing', 'create Open vSwitch bridge "ovsbr0"', ['ovs-vsctl']) ?? '',
    /apt-get install openvswitch-switch/,
  );
  assert.match(hintFor('not-found', 'create veth "eth1"') ?? '', /is gone/);
});
