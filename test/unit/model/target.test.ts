/** Target specs: what each spelling means, and each refusal's message and hint. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPipefitterError } from '../../../src/errors.js';
import type { TargetSpec } from '../../../src/model/target.js';
import { parseTargetSpec, targetSpecText } from '../../../src/model/target.js';

test('each spelling of a target, and back to text', () => {
  const cases: [string, TargetSpec][] = [
    ['pid:4242', { kind: 'pid', pid: 4242 }],
    ['pid:1', { kind: 'pid', pid: 1 }],
    ['pid:9999999999', { kind: 'pid', pid: 9999999999 }],
    ['netns:r1', { kind: 'netns', name: 'r1' }],
    ['netns:a.b_c-d', { kind: 'netns', name: 'a.b_c-d' }],
    [`netns:${'n'.repeat(255)}`, { kind: 'netns', name: 'n'.repeat(255) }],
    ['docker:web', { kind: 'docker', ref: 'web' }],
    ['docker:3f2a9c', { kind: 'docker', ref: '3f2a9c' }],
    ['podman:db.1', { kind: 'podman', ref: 'db.1' }],
    ['/proc/4242/ns/net', { kind: 'path', path: '/proc/4242/ns/net' }],
    ['./ns/r1', { kind: 'path', path: './ns/r1' }],
    ['web', { kind: 'bare', name: 'web' }],
    ['web_1.x-y', { kind: 'bare', name: 'web_1.x-y' }],
  ];
  for (const [text, spec] of cases) {
    assert.deepEqual(parseTargetSpec(text), spec, text);
    assert.equal(targetSpecText(spec), text, text);
  }
});

const refusal = (text: string, field?: string) => {
  try {
    parseTargetSpec(text, field);
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    return [e.code, e.field, e.message, e.hint];
  }
  throw new Error(`${text} was accepted`);
};

test('refusals name the field, say what is wrong and how to write it', () => {
  const cases: [string, string, string][] = [
    ['', 'empty target', 'name a container, pid:N, netns:NAME or a namespace file path'],
    ['web 1', 'a target cannot contain whitespace', 'give a container name or ID, pid:N or netns:NAME'],
    ['web\t', 'a target cannot contain whitespace', 'give a container name or ID, pid:N or netns:NAME'],
    ['a\0b', 'a target cannot contain whitespace', 'give a container name or ID, pid:N or netns:NAME'],
    ['pid:0', 'not a process id', 'write pid:N with N > 0, e.g. pid:4242'],
    ['pid:042', 'not a process id', 'write pid:N with N > 0, e.g. pid:4242'],
    ['pid:x42', 'not a process id', 'write pid:N with N > 0, e.g. pid:4242'],
    ['pid:42x', 'not a process id', 'write pid:N with N > 0, e.g. pid:4242'],
    ['pid:12345678901', 'not a process id', 'write pid:N with N > 0, e.g. pid:4242'],
    ['netns:', 'not a namespace name', 'name one listed by `ip netns list`, e.g. netns:r1'],
    ['netns:.', 'not a namespace name', 'name one listed by `ip netns list`, e.g. netns:r1'],
    ['netns:..', 'not a namespace name', 'name one listed by `ip netns list`, e.g. netns:r1'],
    ['netns:a/b', 'not a namespace name', 'name one listed by `ip netns list`, e.g. netns:r1'],
    [`netns:${'n'.repeat(256)}`, 'not a namespace name', 'name one listed by `ip netns list`, e.g. netns:r1'],
    ['docker:', 'not a docker container name or ID', 'e.g. docker:web'],
    ['docker:-web', 'not a docker container name or ID', 'e.g. docker:web'],
    ['docker:web!', 'not a docker container name or ID', 'e.g. docker:web'],
    ['podman:_x', 'not a podman container name or ID', 'e.g. podman:web'],
    [
      '-web',
      'not a container name, pid:N, netns:NAME or path',
      'e.g. web, docker:web, pid:4242, netns:r1 or /run/netns/r1',
    ],
    [
      'web!',
      'not a container name, pid:N, netns:NAME or path',
      'e.g. web, docker:web, pid:4242, netns:r1 or /run/netns/r1',
    ],
    // an unknown scheme is no scheme: the whole text must then be a name
    [
      'lxc:web',
      'not a container name, pid:N, netns:NAME or path',
      'e.g. web, docker:web, pid:4242, netns:r1 or /run/netns/r1',
    ],
    [
      ':web',
      'not a container name, pid:N, netns:NAME or path',
      'e.g. web, docker:web, pid:4242, netns:r1 or /run/netns/r1',
    ],
    [
      'ns/r1',
      'not a container name, pid:N, netns:NAME or path',
      'e.g. web, docker:web, pid:4242, netns:r1 or /run/netns/r1',
    ],
  ];
  for (const [text, problem, hint] of cases)
    assert.deepEqual(
      refusal(text, '--target'),
      ['E_BAD_VALUE', '--target', `--target ${JSON.stringify(text)}: ${problem}`, hint],
      JSON.stringify(text),
    );
  // the field defaults to "target"
  assert.equal(refusal('')[1], 'target');
});
