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
