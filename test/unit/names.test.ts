import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostSideName, isIfName, parseIfName, shortHash } from '../../src/names.js';
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

test('each interface-name refusal in full: code, message naming the character, and the fix', () => {
  const fix = 'use letters, digits, "-", "_" or "." (e.g. eth1, lan0, br-lab)';
  const cases: [string, string, string, string][] = [
    ['', 'E_BAD_NAME', 'interface name is empty', fix],
    ['.', 'E_BAD_NAME', 'interface name cannot be "." or ".."', fix],
    ['..', 'E_BAD_NAME', 'interface name cannot be "." or ".."', fix],
    ['a/b', 'E_BAD_NAME', 'interface name contains "/", which the kernel refuses', fix],
    ['a:b', 'E_BAD_NAME', 'interface name contains ":", which the kernel refuses', fix],
    ['a b', 'E_BAD_NAME', 'interface name contains whitespace, which the kernel refuses', fix],
    ['a\tb', 'E_BAD_NAME', 'interface name contains whitespace, which the kernel refuses', fix],
    ['a\0b', 'E_BAD_NAME', 'interface name contains NUL, which the kernel refuses', fix],
    ['a;b', 'E_BAD_NAME', 'interface name contains a shell metacharacter', fix],
    ['a$b', 'E_BAD_NAME', 'interface name contains a shell metacharacter', fix],
    ['-eth1', 'E_BAD_NAME', 'interface name cannot start with "-"', fix],
    [
      'abcdefghijklmnop',
      'E_NAME_TOO_LONG',
      'interface name is 16 bytes; the kernel allows at most 15',
      'choose a name of 1-15 bytes, e.g. abcdefghij',
    ],
    // bytes, not characters
    [
      'ééééééééé',
      'E_NAME_TOO_LONG',
      'interface name is 18 bytes; the kernel allows at most 15',
      'choose a name of 1-15 bytes, e.g. ééééééééé',
    ],
  ];
  for (const [value, code, problem, hint] of cases) {
    try {
      parseIfName(value, '--ifname');
      assert.fail(`accepted ${JSON.stringify(value)}`);
    } catch (e) {
      assert.ok(isPipefitterError(e));
      assert.deepEqual(
        [e.code, e.field, e.message, e.hint],
        [code, '--ifname', `--ifname ${JSON.stringify(value)}: ${problem}`, hint],
        JSON.stringify(value),
      );
    }
  }
  assert.equal(isIfName('a-b_c.d'), true);
  assert.equal(isIfName('a-'), true);
});

test('generated names: a short pipework name for a short ifname, the hash otherwise', () => {
  // no pid: never pipework's v<ifname>pl<pid>, even when "vXplundefined" would fit
  const noPid = hostSideName({ id: 'netns:r1' }, parseIfName('e', 'f'));
  assert.match(noPid, /^pf[0-9a-z]{10}$/);
  assert.equal(hostSideName({ id: 'pid:7', pid: 7 }, parseIfName('e', 'f')), 'vepl7');
  assert.equal(shortHash('x', 8).length, 8);
  assert.equal(shortHash('x', 10), shortHash('x', 10));
  assert.match(shortHash('anything'), /^[0-9a-z]{8}$/);
});
