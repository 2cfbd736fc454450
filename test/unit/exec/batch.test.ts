import { test } from 'node:test';
import { argvOf } from '../../../src/render/ip.js';
import assert from 'node:assert/strict';
import {
  batchInput,
  batchable,
  groupCommands,
  parseBatchFailures,
  schedule,
  waves,
} from '../../../src/render/batch.js';
import type { Command, Step } from '../../../src/model/step.js';
import { classifyStderr } from '../../../src/exec/runner.js';

const c = (ns: string, ...argv: string[]): Command => ({
  netns: ns === 'host' ? { kind: 'host' } : { kind: 'name', name: ns },
  op: { op: 'exec', argv },
  describes: '',
});

test('groups: same namespace and all ip commands share a process', () => {
  const g = groupCommands([
    c('host', 'ip', 'link', 'add', 'a'),
    c('host', 'ip', 'link', 'set', 'dev', 'a', 'up'),
    c('r1', 'sysctl', '-w', 'x=1'),
    c('r1', 'ip', 'addr', 'add'),
    c('r1', 'ip', 'link'),
    c('host', 'ip', 'link'),
  ]);
  assert.deepEqual(
    g.map((x) => x.length),
    [2, 1, 2, 1],
  );
});

test('arguments ip -batch would split or cut run alone', () => {
  assert.equal(batchable(c('host', 'ip', 'link', 'set', 'dev', 'x', 'alias', 'has space')), false);
  assert.equal(batchable(c('host', 'ip', 'link', 'set', 'dev', 'x', 'alias', 'a#b')), false);
  assert.equal(batchable(c('host', 'ip', 'link', 'set', 'dev', 'x', 'alias', '')), false);
  assert.equal(
    batchable(c('host', 'ip', 'link', 'set', 'dev', 'x', 'alias', 'pf1:k=veth&t=netns%3Ar1')),
    true,
  );
  assert.equal(
    batchInput([
      ['ip', 'link', 'add', 'a'],
      ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'a'],
    ]),
    'link add a\naddr add 192.0.2.1/24 dev a\n',
  );
});

test('ip -batch failures are mapped to their line with their message', () => {
  assert.deepEqual(parseBatchFailures('Cannot find device "nonexist"\nCommand failed -:2\n'), [
    { index: 1, message: 'Cannot find device "nonexist"' },
  ]);
  assert.deepEqual(
    parseBatchFailures(
      'RTNETLINK answers: No such process\nCommand failed -:1\nRTNETLINK answers: File exists\nCommand failed -:3\n',
    ).map((f) => f.index),
    [0, 2],
  );
});

test('stderr is classified once into a reason', () => {
  assert.equal(classifyStderr('RTNETLINK answers: File exists'), 'exists');
  assert.equal(classifyStderr('Cannot find device "eth9"'), 'not-found');
  assert.equal(classifyStderr('RTNETLINK answers: No such process'), 'not-found');
  assert.equal(classifyStderr('RTNETLINK answers: Operation not permitted'), 'perm');
  assert.equal(classifyStderr('Error: Unknown device type.'), 'unsupported');
  assert.equal(classifyStderr('RTNETLINK answers: Device or resource busy'), 'busy');
  assert.equal(classifyStderr('something else'), 'other');
});

/** The host-side half of an attachment: a veth whose peer is created inside `ns`. */
const veth = (ns: string, host: string): Command => ({
  netns: { kind: 'host' },
  op: {
    op: 'exec',
    argv: [
      'ip',
      'link',
      'add',
      host,
      'type',
      'veth',
      'peer',
      'name',
      'eth1',
      'netns',
      { netns: { kind: 'name', name: ns } },
    ],
  },
  describes: `veth for ${ns}`,
});
const names = (g: Command[][]): string[][] =>
  g.map((x) =>
    x.map(
      (c) =>
        c.describes ||
        argvOf(c)
          .map((a) => (typeof a === 'string' ? a : 'ns'))
          .join(' '),
    ),
  );

test('schedule: the host side of many containers shares one process, each container one more', () => {
  const plan: Command[] = [];
  for (const ns of ['a', 'b', 'c']) {
    plan.push(veth(ns, `h${ns}`), c('host', 'ip', 'link', 'set', `h${ns}`, 'up'));
    plan.push(
      c(ns, 'ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'eth1'),
      c(ns, 'ip', 'link', 'set', 'eth1', 'up'),
    );
    plan.push(c(ns, 'arping', 'x'));
  }
  const g = schedule(plan);
  // one host batch, one batch per container, the three announcements alone
  assert.deepEqual(
    g.map((x) => x.length),
    [6, 2, 1, 2, 1, 2, 1],
  );
  assert.ok(g[0]?.every((x) => x.netns.kind === 'host'));
  assert.equal(groupCommands(plan).length, 9);
});

test('schedule: commands sharing a namespace keep their order', () => {
  const plan = [
    c('host', 'ip', 'link', 'add', 'br0'),
    veth('a', 'ha'),
    c('a', 'ip', 'link', 'set', 'eth1', 'up'),
    // names netns a: must stay after a's own configuration
    c('host', 'ip', 'link', 'set', 'x', 'netns', 'a'),
    { ...veth('a', 'ha2'), describes: 'second veth for a' },
    c('a', 'ip', 'addr', 'add', 'y', 'dev', 'eth2'),
  ];
  const order = schedule(plan).flat();
  const pos = (d: Command): number => order.indexOf(d);
  for (const [before, after] of [
    [0, 1],
    [1, 2],
    [2, 4],
    [4, 5],
  ] as const)
    assert.ok(pos(plan[before] as Command) < pos(plan[after] as Command), `${before} before ${after}`);
  assert.equal(order.length, plan.length);
});

test('schedule: a step that cannot be undone never runs before one listed ahead of it', () => {
  const irr = (ns: string, ...argv: string[]): Step => ({
    ...c(ns, ...argv),
    id: argv.join(' '),
    undo: 'irreversible',
  });
  const plan: Command[] = [
    c('a', 'ip', 'addr', 'add', 'z'),
    irr('host', 'ip', 'link', 'del', 'h1'),
    irr('b', 'ip', 'link', 'del', 'e'),
  ];
  const g = names(schedule(plan));
  assert.deepEqual(g, [['ip addr add z'], ['ip link del h1'], ['ip link del e']]);
  // irreversible steps among themselves (disjoint namespaces) still share processes
  const many = ['a', 'b'].flatMap((ns) => [
    irr('host', 'ip', 'link', 'del', `h${ns}`),
    irr(ns, 'ip', 'route', 'del', 'x'),
  ]);
  assert.deepEqual(
    schedule(many).map((x) => x.length),
    [2, 1, 1],
  );
});

test('waves: groups in disjoint namespaces run side by side; undoable-only steps run alone', () => {
  const irr = (ns: string, ...argv: string[]): Step => ({
    ...c(ns, ...argv),
    id: argv.join(' '),
    undo: 'irreversible',
  });
  const plan: Command[] = [veth('a', 'ha'), veth('b', 'hb'), veth('c', 'hc')];
  for (const ns of ['a', 'b', 'c']) plan.push(c(ns, 'ip', 'addr', 'add', 'x', 'dev', 'eth1'));
  const w = waves(schedule(plan), 2);
  // the host batch names a, b and c: it runs first and alone; then a and b together, then c
  assert.deepEqual(
    w.map((x) => x.map((g) => g.length)),
    [[3], [1, 1], [1]],
  );
  const w2 = waves([[c('a', 'ip', 'x')], [irr('b', 'ip', 'link', 'del', 'y')], [c('c', 'ip', 'x')]], 4);
  assert.deepEqual(
    w2.map((x) => x.length),
    [1, 1, 1],
  );
});

test('a namespace made by name comes before anything inside it', () => {
  const add: Command = {
    ...c('host', 'ip', 'netns', 'add', 'n1'),
    affects: [{ kind: 'name', name: 'n1' }],
  };
  const lo = c('n1', 'ip', 'link', 'set', 'dev', 'lo', 'up');
  assert.deepEqual(
    waves(schedule([add, lo]), 4).map((w) => w.length),
    [1, 1],
  );
  // without the declaration the two would run side by side
  assert.deepEqual(
    waves(schedule([c('host', 'ip', 'netns', 'add', 'n1'), lo]), 4).map((w) => w.length),
    [2],
  );
});
