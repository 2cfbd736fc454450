import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule } from '../../../src/render/schedule.js';
import { argvOf } from '../../../src/render/ip.js';
import type { Command, Op, Step } from '../../../src/model/step.js';
import type { NetnsRef } from '../../../src/model/netns.js';

const ns = (n: string): NetnsRef => (n === 'host' ? { kind: 'host' } : { kind: 'name', name: n });
const cmd = (n: string, op: Op, describes = ''): Command => ({ netns: ns(n), op, describes });
/** A kernel change (movable past other namespaces' work). */
const up = (n: string, dev: string): Command => cmd(n, { op: 'link.set', name: dev, patch: { up: true } });
const addr = (n: string, dev: string, a: string): Command =>
  cmd(n, { op: 'addr.add', addr: { dev, family: 4, address: a, prefix: 24 } });
const del = (n: string, dev: string): Command => cmd(n, { op: 'link.del', name: dev });
/** A program of its own. */
const prog = (n: string, ...argv: string[]): Command => cmd(n, { op: 'exec', argv });
/** The host-side half of an attachment: a veth whose peer is created inside `n`. */
const veth = (n: string, host: string): Command =>
  cmd(
    'host',
    { op: 'link.add', name: host, spec: { kind: 'veth', peer: { name: 'eth1', netns: ns(n) } } },
    `veth for ${n}`,
  );
const irr = (c: Command): Step => ({ ...c, id: c.describes || c.op.op, undo: 'irreversible' });
const names = (order: readonly Command[]): string[] =>
  order.map(
    (c) =>
      c.describes ||
      `${c.netns.kind === 'name' ? c.netns.name : 'host'}: ${argvOf(c)
        .map((a) => (typeof a === 'string' ? a : 'ns'))
        .join(' ')}`,
  );

test('schedule: the host side of many containers comes first, then each container in turn', () => {
  const plan: Command[] = [];
  for (const n of ['a', 'b', 'c']) {
    plan.push(veth(n, `h${n}`), up('host', `h${n}`));
    plan.push(addr(n, 'eth1', '198.51.100.2'), up(n, 'eth1'));
    plan.push(prog(n, 'arping', 'x'));
  }
  const order = schedule(plan);
  assert.equal(order.length, plan.length);
  assert.deepEqual(
    order.map((c) => (c.netns.kind === 'name' ? c.netns.name : 'host')),
    ['host', 'host', 'host', 'host', 'host', 'host', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'c'],
  );
  // a program never moves ahead: each announcement stays after its container's configuration
  assert.deepEqual(names(order.filter((c) => c.op.op === 'exec')), [
    'a: arping x',
    'b: arping x',
    'c: arping x',
  ]);
});

test('schedule: commands sharing a namespace keep their order', () => {
  const plan = [
    cmd('host', { op: 'link.add', name: 'br0', spec: { kind: 'bridge' } }),
    veth('a', 'ha'),
    up('a', 'eth1'),
    // names netns a: must stay after a's own configuration
    cmd('host', { op: 'link.set', name: 'x', patch: { netns: ns('a') } }),
    { ...veth('a', 'ha2'), describes: 'second veth for a' },
    addr('a', 'eth2', '192.0.2.1'),
  ];
  const order = schedule(plan);
  const pos = (d: Command): number => order.indexOf(d);
  for (const [before, after] of [
    [0, 1],
    [1, 2],
    [2, 3],
    [2, 4],
    [4, 5],
  ] as const)
    assert.ok(pos(plan[before] as Command) < pos(plan[after] as Command), `${before} before ${after}`);
  assert.equal(order.length, plan.length);
});

test('schedule: a program keeps its place; kernel changes after it do not jump it in its namespace', () => {
  const plan = [up('a', 'eth1'), prog('host', 'nft', '-f', '-'), up('host', 'br0'), up('a', 'eth2')];
  // the host's kernel change stays after the host's program; a's second change joins a's first
  assert.deepEqual(names(schedule(plan)), [
    'a: ip link set dev eth1 up',
    'a: ip link set dev eth2 up',
    'host: nft -f -',
    'host: ip link set dev br0 up',
  ]);
});

test('schedule: a step that cannot be undone never runs before one listed ahead of it', () => {
  const plan: Command[] = [addr('a', 'eth1', '192.0.2.9'), irr(del('host', 'h1')), irr(del('b', 'e'))];
  assert.deepEqual(names(schedule(plan)), [
    'a: ip addr add 192.0.2.9/24 dev eth1',
    'host: ip link del dev h1',
    'b: ip link del dev e',
  ]);
  // and undoable steps do not move ahead of it either
  const later: Command[] = [irr(del('host', 'h1')), up('a', 'eth1')];
  assert.deepEqual(names(schedule(later)), ['host: ip link del dev h1', 'a: ip link set dev eth1 up']);
});

test('a namespace made by name comes before anything inside it', () => {
  const lo = up('n1', 'lo');
  const first = up('n1', 'eth0');
  const add: Command = { ...prog('host', 'ip', 'netns', 'add', 'n1'), affects: [ns('n1')] };
  // without the declaration, lo would join n1's earlier run, ahead of the namespace's creation
  assert.deepEqual(
    schedule([first, prog('host', 'ip', 'netns', 'add', 'n1'), lo]).map((c) => c === lo),
    [false, true, false],
  );
  assert.deepEqual(
    schedule([first, add, lo]).map((c) => c === lo),
    [false, false, true],
  );
});
