/** Namespace references: the file nsenter enters, and the key plans group steps by. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetnsRef } from '../../../src/model/netns.js';
import { HOST, NETNS_RUN_DIR, netnsKey, netnsPath, sameNetns } from '../../../src/model/netns.js';

test('each kind of reference: its file and its key', () => {
  const cases: [NetnsRef, string | undefined, string][] = [
    [HOST, undefined, 'host'],
    [{ kind: 'name', name: 'r1' }, '/run/netns/r1', 'netns:r1'],
    [
      { kind: 'path', path: '/var/run/docker/netns/abc' },
      '/var/run/docker/netns/abc',
      'path:/var/run/docker/netns/abc',
    ],
    [{ kind: 'pid', pid: 4242 }, '/proc/4242/ns/net', 'pid:4242'],
  ];
  for (const [ns, path, key] of cases) {
    assert.equal(netnsPath(ns), path, key);
    assert.equal(netnsKey(ns), key);
  }
  assert.equal(NETNS_RUN_DIR, '/run/netns');
});

test('two references are the same namespace when their keys are equal', () => {
  assert.equal(sameNetns({ kind: 'name', name: 'r1' }, { kind: 'name', name: 'r1' }), true);
  assert.equal(sameNetns({ kind: 'name', name: 'r1' }, { kind: 'name', name: 'r2' }), false);
  assert.equal(sameNetns(HOST, { kind: 'host' }), true);
  // spelled differently, even if the kernel might show the same namespace: not assumed equal
  assert.equal(sameNetns({ kind: 'pid', pid: 1 }, { kind: 'path', path: '/proc/1/ns/net' }), false);
});
