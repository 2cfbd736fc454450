import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostSideName, parseIfName, shortHash } from '../../src/names.js';
import { isPipefitterError } from '../../src/errors.js';
import { codeOf } from '../helpers/errors.js';

const code = codeOf;

test('interface names: 1-15 bytes accepted at the boundary', () => {
  assert.equal(parseIfName('e', 'f'), 'e');
  assert.equal(parseIfName('a'.repeat(15), 'f'), 'a'.repeat(15));
  assert.equal(
    code(() => parseIfName('a'.repeat(16), '--ifname')),
    'E_NAME_TOO_LONG',
  );
  assert.equal(
    code(() => parseIfName('', '--ifname')),
    'E_BAD_NAME',
  );
  // bytes, not characters: 8 two-byte characters are 16 bytes
  assert.equal(
    code(() => parseIfName('é'.repeat(8), '--ifname')),
    'E_NAME_TOO_LONG',
  );
});

test('interface names: the kernel and shell specials are refused with the field named', () => {
  for (const bad of [
    'eth/1',
    'eth:1',
    'eth 1',
    'eth\t1',
    'a\u0000b',
    '.',
    '..',
    'eth1;touch',
    '$(x)',
    '-x',
    'a`b`',
  ]) {
    assert.equal(
      code(() => parseIfName(bad, '--ifname')),
      'E_BAD_NAME',
      bad,
    );
  }
  assert.throws(
    () => parseIfName('eth1;touch /tmp/x', '--ifname'),
    (e: unknown) => {
      assert.ok(isPipefitterError(e), String(e));
      assert.equal(e.field, '--ifname');
      assert.match(e.message, /^--ifname "eth1;touch \/tmp\/x": /);
      assert.ok(e.hint);
      return true;
    },
  );
});

test('host-side names: pipework style when it fits, a stable hash otherwise', () => {
  const eth1 = parseIfName('eth1', 'f');
  assert.equal(hostSideName({ id: 'pid:4242', pid: 4242 }, eth1), 'veth1pl4242');
  const long = hostSideName({ id: 'pid:4194304', pid: 4194304 }, parseIfName('storage0', 'f'));
  assert.match(long, /^pf[0-9a-z]{10}$/);
  assert.equal(long, hostSideName({ id: 'pid:4194304', pid: 4194304 }, parseIfName('storage0', 'f')));
  const a = hostSideName({ id: 'netns:r1' }, eth1);
  const b = hostSideName({ id: 'netns:r2' }, eth1);
  assert.notEqual(a, b);
  assert.ok(Buffer.byteLength(a) <= 15);
  assert.equal(shortHash('x', 8).length, 8);
});
