/**
 * The recipe planner on the example recipes: the whole plan of each (every step's namespace,
 * argv, undo and description, the notes) against a golden file, and what destroy and a changed
 * recipe remove, from hand-built observed states.
 */
import { argvOf } from '../../../src/render/ip.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { NetnsState } from '../../../src/model/observed.js';
import { encodeTag } from '../../../src/model/owner.js';
import type { Recipe } from '../../../src/model/recipe.js';
import type { ResolvedTarget } from '../../../src/model/target.js';
import { forwardingStep, freshNetns, planRecipe, recipeAttachments } from '../../../src/plan/recipe.js';
import { recipeFromText } from '../../../src/recipe/load.js';
import { dumpPlan, golden } from '../../helpers/plan-dump.js';
import { firstApply } from '../../helpers/recipe-plan.js';
import { lines, netnsTarget, nic, nsState, observed, pidTarget, route } from '../../helpers/plan-fixtures.js';

const EXAMPLES = ['router', 'shared-bridge-nat', 'chain', 'macvlan', 'vlan-trunk', 'docker-web'] as const;

const load = (name: string, set: Record<string, string> = {}): Recipe =>
  recipeFromText(
    readFileSync(new URL(`../../../recipes/${name}.yaml`, import.meta.url), 'utf8'),
    `recipes/${name}.yaml`,
    { set },
  );

for (const name of EXAMPLES)
  test(`recipes/${name}.yaml: the whole first apply, step by step`, () => {
    golden(`recipe-${name}.plan.txt`, dumpPlan(planRecipe(firstApply(load(name)))));
  });

test('planning is deterministic: the same input gives the same plan', () => {
  for (const name of EXAMPLES) {
    const r = load(name);
    assert.equal(dumpPlan(planRecipe(firstApply(r))), dumpPlan(planRecipe(firstApply(r))), name);
  }
});

test('forwarding: on and off again as one reversible sysctl per target', () => {
  const t = netnsTarget('r1');
  const on = forwardingStep(t, true);
  assert.deepEqual(
    [on.id, lines({ steps: [on], noops: [], notes: [] })[0], on.describes],
    [
      'forwarding',
      'netns:r1: sysctl -q -w net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1',
      'turn on forwarding',
    ],
  );
  assert.ok(typeof on.undo === 'object');
  assert.deepEqual(argvOf(on.undo), [
    'sysctl',
    '-q',
    '-w',
    'net.ipv4.conf.all.forwarding=0',
    'net.ipv6.conf.all.forwarding=0',
  ]);
  assert.equal(on.undo.describes, 'turn forwarding off again');
  const off = forwardingStep(t, false);
  assert.deepEqual(argvOf(off).slice(3), [
    'net.ipv4.conf.all.forwarding=0',
    'net.ipv6.conf.all.forwarding=0',
  ]);
  assert.equal(off.describes, 'turn off forwarding');
  assert.ok(typeof off.undo === 'object');
  assert.deepEqual(argvOf(off.undo).slice(3), [
    'net.ipv4.conf.all.forwarding=1',
    'net.ipv6.conf.all.forwarding=1',
  ]);
  assert.equal(off.undo.describes, 'turn forwarding on again');
});

test('a made namespace starts with only its loopback, down', () => {
  assert.deepEqual(freshNetns, {
    links: [
      {
        ifindex: 1,
        name: 'lo',
        up: false,
        operstate: 'DOWN',
        mtu: 65536,
        mac: '00:00:00:00:00:00',
        addrs: [],
      },
    ],
    routes: [],
  });
});

test('a router that already forwards both families gets no sysctl; one that forwards IPv4 only does', () => {
  const r = load('router');
  const input = firstApply(r);
  const t = netnsTarget('router-lab-router');
  const withForwarding = (f: Record<4 | 6, boolean>) =>
    planRecipe({
      ...input,
      create: input.create.filter((n) => n !== 'router-lab-router'),
      observed: new Map([...input.observed, ['netns:router-lab-router', { ...nsState(), forwarding: f }]]),
    }).steps.filter((s) => s.id.endsWith('/forwarding'));
  assert.deepEqual(withForwarding({ 4: true, 6: true }), []);
  assert.deepEqual(
    withForwarding({ 4: true, 6: false }).map((s) => s.id),
    [`${t.id}/forwarding`],
  );
  assert.deepEqual(
    withForwarding({ 4: false, 6: true }).map((s) => s.id),
    [`${t.id}/forwarding`],
  );
});

test('unforward: forwarding the recipe turned on goes off where it is still on', () => {
  const r = load('chain');
  const input = firstApply(r);
  const gone = netnsTarget('old');
  const still = netnsTarget('still');
  const p = planRecipe({
    ...input,
    observed: new Map([
      ...input.observed,
      ['netns:old', { ...nsState(), forwarding: { 4: false, 6: false } }],
      ['netns:still', { ...nsState(), forwarding: { 4: true, 6: true } }],
    ]),
    unforward: [gone, still],
  });
  assert.deepEqual(
    p.steps
      .filter((s) => s.id === 'netns:old/forwarding' || s.id === 'netns:still/forwarding')
      .map((s) => [s.id, argvOf(s)[3]]),
    [['netns:still/forwarding', 'net.ipv4.conf.all.forwarding=0']],
  );
});

test('a container that is not there is left out, and so is a link to it', () => {
  const r = load('chain');
  const input = firstApply(r);
  const targets = new Map(input.targets);
  targets.delete('c4');
  const atts = recipeAttachments({ recipe: r, targets, auto: input.auto });
  assert.deepEqual(
    atts.map(
      (a) =>
        `${a.target.id}/${a.iface.ifname}${a.link.kind === 'pair' ? `-${a.link.peer.id}/${a.link.peerIface.ifname}` : ''}`,
    ),
    ['netns:chain-c1/eth1-netns:chain-c2/eth1', 'netns:chain-c2/eth2-netns:chain-c3/eth1'],
  );
  assert.ok(atts.every((a) => a.owner === 'chain'));
  // each end keeps its own address, gateway, routes and the link's MTU
  const [first, second] = atts;
  assert.ok(first?.link.kind === 'pair' && second?.link.kind === 'pair');
  assert.deepEqual(
    [
      first.iface.addrs.map((a) => a.text),
      first.iface.gateways.map((g) => g.address),
      first.link.peerIface.addrs.map((a) => a.text),
      first.link.peerIface.gateways,
    ],
    [['192.0.2.1/30'], ['192.0.2.2'], ['192.0.2.2/30'], []],
  );
  assert.deepEqual(
    [
      second.iface.routes.map((x) => x.dst !== 'default' && x.dst.text),
      second.link.peerIface.routes.map((x) => x.via?.address),
    ],
    [['192.0.2.8/30'], ['192.0.2.5']],
  );
  assert.equal(first.iface.announce, true);
});

test('an auto address that was not allocated is a planner bug, said as such', () => {
  const r = load('shared-bridge-nat');
  const input = firstApply(r);
  assert.throws(
    () => recipeAttachments({ recipe: r, targets: input.targets, auto: new Map() }),
    /internal: no address allocated for app1\.eth1/,
  );
});

/** The host and containers of the router recipe after its apply, as the kernel shows them. */
const routerApplied = () => {
  const r = load('router');
  const names = ['router', 'alice', 'bob'];
  const t = new Map(names.map((n) => [n, netnsTarget(`router-lab-${n}`)]));
  const bridgeTag = encodeTag({ kind: 'bridge', recipe: 'router' });
  const port = (name: string, c: string, i: string, b: string) =>
    nic(name, {
      kind: 'veth',
      master: b,
      alias: encodeTag({ kind: 'veth-host', target: t.get(c)!.id, ifname: i, bridge: b, recipe: 'router' }),
    });
  const inside = (c: string, i: string, b: string, addr: string) =>
    nic(i, {
      kind: 'veth',
      alias: encodeTag({ kind: 'veth', target: t.get(c)!.id, ifname: i, bridge: b, recipe: 'router' }),
      addrs: [{ family: 4, address: addr, prefix: 24, scope: 'global' }],
    });
  const host = nsState([
    nic('eth0'),
    nic('rtr-a', { kind: 'bridge', alias: bridgeTag }),
    nic('rtr-b', { kind: 'bridge', alias: bridgeTag }),
    port('vr1', 'router', 'eth1', 'rtr-a'),
    port('vr2', 'router', 'eth2', 'rtr-b'),
    port('va1', 'alice', 'eth1', 'rtr-a'),
    port('vb1', 'bob', 'eth1', 'rtr-b'),
  ]);
  const spaces: [ResolvedTarget, NetnsState][] = [
    [
      t.get('router')!,
      {
        ...nsState([
          inside('router', 'eth1', 'rtr-a', '192.0.2.1'),
          inside('router', 'eth2', 'rtr-b', '198.51.100.1'),
        ]),
        forwarding: { 4: true, 6: true },
      },
    ],
    [
      t.get('alice')!,
      nsState(
        [inside('alice', 'eth1', 'rtr-a', '192.0.2.10')],
        [route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth1' })],
      ),
    ],
    [
      t.get('bob')!,
      nsState(
        [inside('bob', 'eth1', 'rtr-b', '198.51.100.10')],
        [route({ dst: 'default', gateway: '198.51.100.1', dev: 'eth1' })],
      ),
    ],
  ];
  return { r, t, observed: observed(host, ...spaces) };
};

test('destroy: a recipe that asks for nothing removes what it owns, bridges last, then its namespaces', () => {
  const { r, t, observed: obs } = routerApplied();
  const nothing: Recipe = { ...r, bridges: [], networks: [], containers: [], links: [] };
  const p = planRecipe({
    recipe: nothing,
    targets: new Map(),
    create: [],
    dropNamespaces: ['router-lab-router', 'router-lab-alice', 'router-lab-bob'],
    former: [...t.values()],
    auto: new Map(),
    observed: obs,
    nat: { ipForward: true },
    unforward: [t.get('router')!],
  });
  golden('recipe-router.destroy.txt', dumpPlan(p));
});

test('a changed recipe prunes the interfaces it no longer asks for, and keeps a bridge others still use', () => {
  const { r, t, observed: obs } = routerApplied();
  // bob is gone from the recipe, and so is network b with its bridge; someone else's port stays on rtr-b
  const smaller: Recipe = {
    ...r,
    networks: r.networks.filter((n) => n.name !== 'b'),
    containers: r.containers
      .filter((c) => c.name !== 'bob')
      .map((c) => ({ ...c, interfaces: c.interfaces.filter((i) => i.network !== 'b') })),
  };
  const host = obs.get('host')!;
  const withForeign = new Map(obs);
  withForeign.set('host', {
    ...host,
    links: [...host.links, nic('vforeign', { kind: 'veth', master: 'rtr-b' })],
  });
  const p = planRecipe({
    recipe: smaller,
    targets: new Map([...t].filter(([n]) => n !== 'bob')),
    create: [],
    dropNamespaces: [],
    former: [t.get('bob')!],
    auto: new Map(),
    observed: withForeign,
    nat: { ipForward: true },
  });
  golden('recipe-router.prune.txt', dumpPlan(p));
  assert.ok(p.notes.includes('bridge "rtr-b" of recipe "router" still has ports of others; it stays'));
});

test('destroy: a link whose far end replaced a default route puts it back, whichever end goes first', () => {
  // c1 (a netns) -- c0 (a process's namespace, with its own uplink pre0), gateway on c0's end
  const c0 = pidTarget(4242);
  const c1 = netnsTarget('lab-c1');
  const saved = route({ family: 6, dst: 'default', gateway: '2001:db8:dd::1', dev: 'pre0', metric: 1024 });
  const v6 = (address: string) => ({ family: 6 as const, address, prefix: 127, scope: 'global' });
  const spaces: [ResolvedTarget, NetnsState][] = [
    [
      c0,
      nsState(
        [
          nic('pre0', {
            kind: 'veth',
            addrs: [{ family: 6, address: '2001:db8:dd::a', prefix: 64, scope: 'global' }],
          }),
          nic('net2', {
            kind: 'veth',
            alias: encodeTag({
              kind: 'pair',
              target: c0.id,
              ifname: 'net2',
              peer: c1.id,
              peerIfname: 'eth3',
              recipe: 'lab',
              prevDefaults: [saved],
            }),
            addrs: [v6('2001:db8:b1::3')],
          }),
        ],
        [route({ family: 6, dst: 'default', gateway: '2001:db8:b1::2', dev: 'net2', metric: 1024 })],
      ),
    ],
    [
      c1,
      nsState([
        nic('eth3', {
          kind: 'veth',
          alias: encodeTag({
            kind: 'pair',
            peer: c0.id,
            peerIfname: 'net2',
            target: c1.id,
            ifname: 'eth3',
            recipe: 'lab',
          }),
          addrs: [v6('2001:db8:b1::2')],
        }),
      ]),
    ],
  ];
  const r: Recipe = { name: 'lab', file: 'lab.yaml', bridges: [], networks: [], containers: [], links: [] };
  for (const former of [
    [c1, c0],
    [c0, c1],
  ]) {
    const p = planRecipe({
      recipe: r,
      targets: new Map(),
      create: [],
      dropNamespaces: [],
      former,
      auto: new Map(),
      observed: observed(nsState(), ...spaces),
      nat: { ipForward: false },
    });
    const l = lines(p);
    assert.ok(
      l.includes('pid:4242: ip route replace ::/0 via 2001:db8:dd::1 dev pre0'),
      `${former.map((x) => x.id).join(', ')}:\n${l.join('\n')}`,
    );
    assert.equal(l.filter((x) => x.includes(' link del ')).length, 1, l.join('\n'));
  }
});
