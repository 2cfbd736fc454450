import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchInput, batchable, groupCommands, parseBatchFailures } from '../../../src/exec/batch.js';
import type { Command } from '../../../src/model/step.js';
import { classifyStderr } from '../../../src/exec/runner.js';

const c = (ns: string, ...argv: string[]): Command => ({
  netns: ns === 'host' ? { kind: 'host' } : { kind: 'name', name: ns },
  argv,
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
