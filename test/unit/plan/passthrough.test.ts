import { test } from 'node:test';
import { argvOf } from '../../../src/render/ip.js';
import assert from 'node:assert/strict';
import { renderScript } from '../../../src/render/script.js';
import { isReadOnlyPassthrough, passthroughArgv, planPassthrough } from '../../../src/plan/passthrough.js';
import { netnsTarget } from '../../helpers/plan-fixtures.js';

test('reading verbs are recognised as iproute2 reads them; everything else is a change', () => {
  const reads: [Parameters<typeof isReadOnlyPassthrough>[0], string[]][] = [
    ['route', []],
    ['route', ['show']],
    ['route', ['s']],
    ['route', ['list', 'table', 'all']],
    ['route', ['ls']],
    ['route', ['get', '192.0.2.1']],
    ['route', ['g', '192.0.2.1']],
    ['rule', []],
    ['rule', ['show']],
    ['rule', ['s']],
    ['rule', ['list']],
    ['tc', ['qdisc']],
    ['tc', ['qdisc', 'show']],
    ['tc', ['-s', 'qdisc']],
    ['tc', ['-s', '-d', 'qdisc', 'show', 'dev', 'eth1']],
    ['tc', ['q', 's']],
    ['tc', ['class', 'show', 'dev', 'eth1']],
    ['tc', ['filter', 'show', 'dev', 'eth1']],
    ['tc', ['filter', 'get', 'dev', 'eth1']],
    ['tc', ['chain', 'ls', 'dev', 'eth1']],
    ['tc', ['actions', 'list', 'action', 'gact']],
    ['tc', ['-n', 'other', 'qdisc', 'show']],
  ];
  for (const [tool, args] of reads)
    assert.equal(isReadOnlyPassthrough(tool, args), true, `${tool} ${args.join(' ')}`);
  const changes: [Parameters<typeof isReadOnlyPassthrough>[0], string[]][] = [
    ['route', ['add', '198.51.100.0/24', 'via', '192.0.2.254']],
    ['route', ['a', '198.51.100.0/24', 'via', '192.0.2.254']],
    ['route', ['del', 'default']],
    ['route', ['flush', 'table', 'main']],
    ['route', ['replace', 'default', 'via', '192.0.2.1']],
    ['route', ['save']],
    ['route', ['restore']],
    ['route', ['nonsense']],
    ['route', ['show-me']],
    ['rule', ['add', 'from', '192.0.2.10', 'table', '100']],
    ['rule', ['flush']],
    ['tc', ['qdisc', 'add', 'dev', 'eth1', 'root', 'tbf']],
    // tc tries "link" before "list": "l" links
    ['tc', ['qdisc', 'l']],
    ['tc', ['qdisc', 'del', 'dev', 'eth1', 'root']],
    ['tc', ['actions', 'flush', 'action', 'gact']],
    ['tc', ['-b', 'cmds.txt']],
    ['tc', ['-batch', 'cmds.txt', 'qdisc', 'show']],
    ['tc', ['monitor']],
    ['tc', ['-s']],
    ['tc', ['nonsense', 'show']],
  ];
  for (const [tool, args] of changes)
    assert.equal(isReadOnlyPassthrough(tool, args), false, `${tool} ${args.join(' ')}`);
});

test('-j goes before the object; a read is a read-only step, a change carries its undo and passes its output', () => {
  assert.deepEqual(passthroughArgv('route', ['show'], { json: true }), ['ip', '-j', 'route', 'show']);
  assert.deepEqual(passthroughArgv('tc', ['-s', 'qdisc'], { json: true }), ['tc', '-j', '-s', 'qdisc']);
  assert.deepEqual(passthroughArgv('rule', []), ['ip', 'rule']);
  const t = netnsTarget('r1');
  const read = planPassthrough(t, 'route', ['show']);
  assert.equal(read.steps.length, 1);
  assert.equal(read.steps[0]?.readOnly, true);
  const script = renderScript(read, { title: 'pipefitter route netns:r1 show' });
  assert.match(script, /^# pipefitter route netns:r1 show$/m);
  assert.match(script, /reads only; changes nothing\nip -n r1 route show$/m);
  const add = planPassthrough(t, 'route', ['add', '198.51.100.0/24', 'via', '192.0.2.254']).steps[0]!;
  assert.notEqual(add.readOnly, true);
  assert.equal(add.passOutput, true);
  assert.ok(typeof add.undo !== 'string');
  assert.deepEqual(argvOf(add.undo), ['ip', 'route', 'del', '198.51.100.0/24', 'via', '192.0.2.254']);
});

test("each object's verbs, spelled out and as the shortest prefix iproute2 takes for them: read or change", () => {
  type Case = [Parameters<typeof isReadOnlyPassthrough>[0], string[], boolean];
  const tc = (object: string, verb: string): string[] => [object, verb, 'dev', 'eth1'];
  const cases: Case[] = [
    // ip route, in iproute2's order: add change replace prepend append test delete list show lst get flush
    ...(['add', 'change', 'replace', 'prepend', 'append', 'test', 'delete', 'flush'] as const).map(
      (v): Case => ['route', [v], false],
    ),
    ...(['list', 'show', 'lst', 'get'] as const).map((v): Case => ['route', [v], true]),
    ['route', ['c'], false],
    ['route', ['r'], false],
    ['route', ['p'], false],
    ['route', ['ap'], false],
    ['route', ['t'], false],
    ['route', ['d'], false],
    ['route', ['l'], true],
    ['route', ['f'], false],
    // ip rule: list lst show save restore add delete flush
    ...(['list', 'lst', 'show'] as const).map((v): Case => ['rule', [v], true]),
    ...(['save', 'restore', 'add', 'delete', 'flush'] as const).map((v): Case => ['rule', [v], false]),
    ['rule', ['l'], true],
    ['rule', ['sa'], false],
    ['rule', ['r'], false],
    ['rule', ['a'], false],
    ['rule', ['d'], false],
    ['rule', ['f'], false],
    ['rule', ['get'], false],
    // tc qdisc: add change replace link delete list show lst
    ...(['add', 'change', 'replace', 'link', 'delete'] as const).map((v): Case => [
      'tc',
      tc('qdisc', v),
      false,
    ]),
    ...(['list', 'show', 'lst'] as const).map((v): Case => ['tc', tc('qdisc', v), true]),
    ['tc', tc('qdisc', 'li'), false],
    ['tc', tc('qdisc', 'lis'), true],
    ['tc', tc('qdisc', 'get'), false],
    // tc class: add change replace delete list show lst
    ...(['add', 'change', 'replace', 'delete'] as const).map((v): Case => ['tc', tc('class', v), false]),
    ...(['list', 'show', 'lst', 'l', 's'] as const).map((v): Case => ['tc', tc('class', v), true]),
    ['tc', tc('c', 'show'), true],
    ['tc', tc('class', 'get'), false],
    // tc filter (and chain): add delete change replace list show lst get
    ...(['add', 'delete', 'change', 'replace'] as const).map((v): Case => ['tc', tc('filter', v), false]),
    ...(['list', 'show', 'lst', 'get', 'l', 'g'] as const).map((v): Case => ['tc', tc('filter', v), true]),
    ['tc', tc('f', 'show'), true],
    ['tc', tc('chain', 'add'), false],
    ['tc', tc('chain', 'get'), true],
    // tc actions: add change replace delete list show lst flush get
    ...(['add', 'change', 'replace', 'delete', 'flush'] as const).map((v): Case => [
      'tc',
      tc('actions', v),
      false,
    ]),
    ...(['list', 'show', 'lst', 'get'] as const).map((v): Case => ['tc', tc('actions', v), true]),
    ['tc', tc('a', 'show'), true],
    // an empty word is no prefix of anything
    ['route', [''], false],
    ['tc', ['qdisc', ''], false],
    // tc options before the object: those with a value skip it; -batch runs a file
    ['tc', ['-netns', 'x', 'qdisc', 'show'], true],
    ['tc', ['-cf', 'x', 'qdisc', 'show'], true],
    ['tc', ['-conf', 'x', 'qdisc', 'show'], true],
    ['tc', ['-d', '-s', 'qdisc', 'show'], true],
    ['tc', ['-b', 'x'], false],
    ['tc', []],
  ].map((c) => (c.length === 2 ? ([c[0], c[1], false] as Case) : (c as Case)));
  for (const [tool, args, reads] of cases)
    assert.equal(isReadOnlyPassthrough(tool, args), reads, `${tool} ${args.join(' ')}`);
});

test('the step of a pass-through command in full (its target named once, by the executor or the CLI): read, change with its undo, change without one', () => {
  const t = netnsTarget('r1');
  assert.deepEqual(planPassthrough(t, 'tc', ['qdisc', 'show']), {
    steps: [
      {
        id: 'tc:qdisc show',
        netns: t.netns,
        op: { op: 'exec', argv: ['tc', 'qdisc', 'show'] },
        describes: 'tc qdisc show',
        undo: 'irreversible',
        readOnly: true,
      },
    ],
    noops: [],
    notes: [],
  });
  assert.deepEqual(planPassthrough(t, 'route', []).steps[0]?.describes, 'ip route');
  assert.deepEqual(
    planPassthrough(t, 'tc', ['qdisc', 'add', 'dev', 'eth1', 'root', 'netem', 'delay', '1ms']),
    {
      steps: [
        {
          id: 'tc:qdisc add dev eth1 root netem delay 1ms',
          netns: t.netns,
          op: { op: 'exec', argv: ['tc', 'qdisc', 'add', 'dev', 'eth1', 'root', 'netem', 'delay', '1ms'] },
          describes: 'tc qdisc add dev eth1 root netem delay 1ms',
          passOutput: true,
          undo: {
            netns: t.netns,
            op: { op: 'exec', argv: ['tc', 'qdisc', 'del', 'dev', 'eth1', 'root', 'netem', 'delay', '1ms'] },
            describes: 'undo tc qdisc add dev eth1 root netem delay 1ms',
          },
        },
      ],
      noops: [],
      notes: [],
    },
  );
  // append is undone by del too; other changes cannot be undone
  const append = planPassthrough(t, 'route', ['append', 'default', 'via', '192.0.2.1']).steps[0]!;
  assert.deepEqual(typeof append.undo !== 'string' && argvOf(append.undo), [
    'ip',
    'route',
    'del',
    'default',
    'via',
    '192.0.2.1',
  ]);
  assert.deepEqual(planPassthrough(t, 'rule', ['flush']).steps[0], {
    id: 'rule:flush',
    netns: t.netns,
    op: { op: 'exec', argv: ['ip', 'rule', 'flush'] },
    describes: 'ip rule flush',
    passOutput: true,
    undo: 'irreversible',
  });
});
