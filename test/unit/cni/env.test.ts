import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCniArgs, parseCniEnv, parseCommand } from '../../../src/cni/env.js';
import { CniError } from '../../../src/cni/types.js';

const full = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c0ffee',
  CNI_NETNS: '/run/netns/a',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin::/usr/lib/cni',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web-0',
};

/** The error 4 of an environment, with its message. */
const fails = (env: Record<string, string | undefined>): CniError => {
  try {
    parseCniEnv(env);
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    assert.equal(e.code, 4, e.message);
    assert.ok(e.details, 'a fix is given');
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(env)}`);
};

test('ADD: every variable read, CNI_PATH split, CNI_ARGS as pairs', () => {
  assert.deepEqual(parseCniEnv(full), {
    command: 'ADD',
    containerId: 'c0ffee',
    netns: '/run/netns/a',
    ifname: 'eth0',
    path: ['/opt/cni/bin', '/usr/lib/cni'],
    args: [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAME', 'web-0'],
    ],
  });
});

test('CNI_COMMAND missing or unknown is error 4 naming it', () => {
  assert.match(fails({}).message, /^CNI_COMMAND: not set/);
  assert.match(fails({ CNI_COMMAND: 'add' }).message, /^CNI_COMMAND "add": unknown operation/);
  assert.equal(parseCommand({ CNI_COMMAND: 'STATUS' }), 'STATUS');
});

test('each operation requires what the spec says, and names the missing variable', () => {
  const without = (k: string, cmd: string) => ({ ...full, CNI_COMMAND: cmd, [k]: undefined });
  for (const cmd of ['ADD', 'CHECK'])
    for (const k of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'])
      assert.match(fails(without(k, cmd)).message, new RegExp(`^${k}: not set \\(required for ${cmd}\\)`));
  for (const k of ['CNI_CONTAINERID', 'CNI_IFNAME'])
    assert.match(fails(without(k, 'DEL')).message, new RegExp(`^${k}:`));
  // DEL without a namespace is fine: it may be gone
  assert.equal(parseCniEnv(without('CNI_NETNS', 'DEL')).netns, undefined);
  assert.match(fails({ CNI_COMMAND: 'GC' }).message, /^CNI_PATH: not set \(required for GC\)/);
  // an empty value counts as unset
  assert.match(fails({ ...full, CNI_IFNAME: '' }).message, /^CNI_IFNAME: not set/);
  // VERSION and STATUS need nothing else
  assert.equal(parseCniEnv({ CNI_COMMAND: 'VERSION' }).command, 'VERSION');
  assert.deepEqual(parseCniEnv({ CNI_COMMAND: 'STATUS' }).path, []);
});

test('invalid values are error 4 naming the variable', () => {
  assert.match(
    fails({ ...full, CNI_CONTAINERID: '-abc' }).message,
    /^CNI_CONTAINERID "-abc": not a container id/,
  );
  assert.match(fails({ ...full, CNI_CONTAINERID: 'a b' }).message, /^CNI_CONTAINERID/);
  assert.match(
    fails({ ...full, CNI_NETNS: 'run/netns/a' }).message,
    /^CNI_NETNS "run\/netns\/a": not an absolute path/,
  );
  assert.match(fails({ ...full, CNI_IFNAME: 'a'.repeat(16) }).message, /^CNI_IFNAME "a{16}": /);
  assert.match(fails({ ...full, CNI_IFNAME: 'eth/0' }).message, /^CNI_IFNAME "eth\/0": /);
  assert.match(fails({ ...full, CNI_ARGS: 'FOO' }).message, /^CNI_ARGS "FOO": "FOO" is not KEY=VALUE/);
  assert.match(fails({ ...full, CNI_ARGS: 'A=1;=2' }).message, /^CNI_ARGS/);
});

test('CNI_ARGS: empty entries skipped, "=" in values kept', () => {
  assert.deepEqual(parseCniArgs(''), []);
  assert.deepEqual(parseCniArgs('A=1;;B=x=y;'), [
    ['A', '1'],
    ['B', 'x=y'],
  ]);
});
