/** The planner's working copy of the world: what later steps see of earlier ones, and the plan's order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlanContext, plannedLink } from '../../../src/plan/context.js';
import { PHASE } from '../../../src/plan/phases.js';
import type { NetnsRef } from '../../../src/model/netns.js';
import type { Step } from '../../../src/model/step.js';
import { nic, nsState, route } from '../../helpers/plan-fixtures.js';

const HOST: NetnsRef = { kind: 'host' };
const R1: NetnsRef = { kind: 'name', name: 'r1' };
const R2: NetnsRef = { kind: 'name', name: 'r2' };
const step = (id: string, netns: NetnsRef): Step => ({
  id,
  netns,
  op: { op: 'exec', argv: ['ip', id] },
  describes: id,
  undo: 'covered',
});

test('the plan: by phase, then namespaces in order of first appearance, then as planned; ids qualified by namespace', () => {
  const ctx = new PlanContext(new Map());
  ctx.push(step('a', R1)); // link phase (the default)
  ctx.push(step('b', HOST), PHASE.prepare);
  ctx.push(step('c', R2));
  ctx.push(step('d', R1));
  ctx.phase = PHASE.inside;
  ctx.push(step('e', R2));
  ctx.push(step('f', HOST));
  ctx.push(step('a', R2), PHASE.finish);
  ctx.push(step('a', HOST), PHASE.finish);
  ctx.notes.push('n', 'm', 'n');
  const p = ctx.finish();
  assert.deepEqual(
    p.steps.map((s) => `${s.id}@${s.netns.kind === 'name' ? s.netns.name : 'host'}`),
    // R1 was seen first, then host, then R2: the inside phase keeps that order too
    [
      'b@host',
      'netns:r1/a@r1',
      'netns:r1/d@r1',
      'netns:r2/c@r2',
      'f@host',
      'netns:r2/e@r2',
      'a@host',
      'netns:r2/a@r2',
    ],
  );
  assert.deepEqual(p.notes, ['n', 'm']);
  assert.equal('records' in p, false);
});

test('a second step with an id already in the plan is an internal error, never renamed', () => {
  const ctx = new PlanContext(new Map());
  ctx.push(step('a', R1));
  ctx.push(step('a', R2));
  ctx.push(step('a', HOST));
  assert.throws(
    () => ctx.push(step('a', R1)),
    /^Error: internal: two steps of one plan have the id "netns:r1\/a" \(a\)$/,
  );
  assert.throws(() => ctx.push(step('a', HOST), PHASE.finish), /id "a"/);
  assert.deepEqual(
    ctx.finish().steps.map((s) => s.id),
    ['netns:r1/a', 'netns:r2/a', 'a'],
  );
  // a step planned earlier is changed in place, under its id
  ctx.amend('a', (s) => ({ ...s, describes: 'changed' }));
  assert.equal(ctx.finish().steps.find((s) => s.id === 'a')?.describes, 'changed');
  assert.throws(() => ctx.amend('nope', (s) => s), /no step "nope"/);
});

test('links: put, renamed, updated, dropped with their routes; a namespace never observed is known as such', () => {
  const ctx = new PlanContext(
    new Map([
      [
        'netns:r1',
        nsState(
          [nic('eth1')],
          [route({ dst: '192.0.2.0/24', dev: 'eth1' }), route({ dst: 'default', dev: 'eth0' })],
        ),
      ],
    ]),
  );
  assert.equal(ctx.isObserved(R1), true);
  assert.equal(ctx.isObserved(R2), false);
  assert.deepEqual(ctx.links(R2), []);
  assert.equal(ctx.link(R1, 'eth1')?.planned, false);
  ctx.updateLink(R1, 'eth1', { mtu: 9000 });
  ctx.updateLink(R1, 'nope', { mtu: 1 });
  assert.equal(ctx.link(R1, 'eth1')?.mtu, 9000);
  assert.equal(ctx.link(R1, 'nope'), undefined);
  ctx.renameLink(R1, 'eth1', 'lan0');
  ctx.renameLink(R1, 'nope', 'x');
  assert.deepEqual(
    ctx.links(R1).map((l) => [l.name, l.mtu]),
    [
      ['lo', 65536],
      ['lan0', 9000],
    ],
  );
  ctx.dropLink(R1, 'eth1');
  assert.deepEqual(
    ctx.routes(R1).map((r) => r.dst),
    ['default'],
    'the routes through a dropped link go with it',
  );
  const r = route({ dst: '198.51.100.0/24', dev: 'lan0' });
  ctx.addRoute(R1, r);
  assert.equal(ctx.routes(R1).length, 2);
  ctx.removeRoute(R1, route({ dst: '198.51.100.0/24', dev: 'lan0' }));
  assert.equal(ctx.routes(R1).length, 2, 'only the very route object is removed');
  ctx.removeRoute(R1, r);
  assert.equal(ctx.routes(R1).length, 1);
  ctx.putLink(R2, plannedLink({ name: 'v' }));
  assert.deepEqual(ctx.link(R2, 'v'), {
    ifindex: 0,
    name: 'v',
    kind: undefined,
    master: undefined,
    up: false,
    operstate: 'DOWN',
    mtu: 1500,
    mac: '',
    alias: undefined,
    parent: undefined,
    addrs: [],
    planned: true,
  });
  assert.equal(ctx.isObserved(R2), false, 'a link planned there does not make it observed');
});

test('neighbours, Open vSwitch ports and parents brought up, as observed and as planned', () => {
  const ctx = new PlanContext(
    new Map([
      [
        'host',
        {
          ...nsState([nic('eth3', { ifindex: 3 }), nic('eth4', { ifindex: 4 })]),
          neighbours: [{ address: '2001:DB8::1', dev: 'br0' }],
          ovs: new Map([['ovs0', ['p1']]]),
          parentsUp: new Map([
            ['eth3', { ifindex: 3, users: ['a/eth1'] }],
            ['eth4', { ifindex: 9, users: ['a/eth2'] }],
          ]),
        },
      ],
    ]),
  );
  assert.equal(ctx.knowsNeighbour(HOST, 'br0', '2001:db8::1'), true);
  assert.equal(ctx.knowsNeighbour(HOST, 'eth0', '2001:db8::1'), false);
  assert.equal(ctx.knowsNeighbour(R1, 'br0', '2001:db8::1'), false);
  assert.deepEqual(ctx.ovsPorts(HOST, 'ovs0'), ['p1']);
  assert.equal(ctx.ovsPorts(R1, 'ovs0'), undefined);
  ctx.setOvsPorts(HOST, 'ovs0', ['p1', 'p2']);
  ctx.setOvsPorts(HOST, 'gone', undefined);
  ctx.setOvsPorts(R1, 'x', ['q']);
  assert.deepEqual([ctx.ovsPorts(HOST, 'ovs0'), ctx.ovsPorts(R1, 'x')], [['p1', 'p2'], ['q']]);
  ctx.setOvsPorts(HOST, 'ovs0', undefined);
  assert.equal(ctx.ovsPorts(HOST, 'ovs0'), undefined);
  // eth4's record is for an interface that has been replaced since (another ifindex)
  assert.deepEqual(ctx.parentUp('eth3'), { ifindex: 3, users: ['a/eth1'] });
  assert.equal(ctx.parentUp('eth4'), undefined);
  assert.equal(ctx.parentUp('eth5'), undefined);
  assert.deepEqual(ctx.parentsUsedBy('a/eth1'), ['eth3']);
  assert.deepEqual(ctx.parentsUsedBy('a/eth2'), []);
  ctx.recordParentUser('eth3', 3, 'b/eth1', 'add');
  ctx.recordParentUser('eth3', 3, 'b/eth1', 'add');
  assert.deepEqual(ctx.parentUp('eth3')?.users, ['a/eth1', 'b/eth1']);
  ctx.recordParentUser('eth3', 3, 'a/eth1', 'remove');
  assert.deepEqual(ctx.parentUp('eth3')?.users, ['b/eth1']);
  // a record for another ifindex starts over
  ctx.recordParentUser('eth4', 4, 'c/eth1', 'add');
  assert.deepEqual(ctx.parentUp('eth4'), { ifindex: 4, users: ['c/eth1'] });
  assert.deepEqual(ctx.finish().records, [
    { kind: 'parent-user', parent: 'eth3', ifindex: 3, user: 'b/eth1', op: 'add' },
    { kind: 'parent-user', parent: 'eth3', ifindex: 3, user: 'b/eth1', op: 'add' },
    { kind: 'parent-user', parent: 'eth3', ifindex: 3, user: 'a/eth1', op: 'remove' },
    { kind: 'parent-user', parent: 'eth4', ifindex: 4, user: 'c/eth1', op: 'add' },
  ]);
});

test('the observed state is copied, never changed by planning', () => {
  const host = nsState([nic('eth3')], [route({ dst: 'default', dev: 'eth3' })]);
  const ovs = new Map([['ovs0', ['p1']]]);
  const observed = new Map([['host', { ...host, ovs }]]);
  const ctx = new PlanContext(observed);
  ctx.updateLink(HOST, 'eth3', { mtu: 1 });
  ctx.dropLink(HOST, 'eth3');
  ctx.setOvsPorts(HOST, 'ovs0', ['p1', 'p2']);
  ctx.ovsPorts(HOST, 'ovs0')?.push('p3');
  assert.equal(host.links[1]?.mtu, 1500);
  assert.equal(host.routes.length, 1);
  assert.deepEqual(ovs.get('ovs0'), ['p1']);
});
