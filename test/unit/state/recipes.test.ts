/** A recipe state file is checked field by field when read: a wrong type is a named, corrupt file (exit 2), never a TypeError. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { exitCodeFor } from '../../../src/errors.js';
import { checkRecipeState, readRecipeState } from '../../../src/state/recipes.js';
import { rejection } from '../../helpers/errors.js';
import { tempStateDir } from '../../helpers/state-dir.js';

const good = {
  version: 1,
  name: 'lab',
  file: '/etc/pipefitter/lab.yaml',
  vars: { p: 'x' },
  targets: [{ id: 'netns:lab-a', spec: 'netns:lab-a' }],
  createdNamespaces: ['lab-a'],
  forwarding: ['netns:lab-a'],
  ipForwardWasOff: true,
  appliedAt: '2026-01-01T00:00:00.000Z',
  parsed: 'a'.repeat(64),
  released: [
    { container: 'web', target: 'docker:web', addresses: ['192.0.2.100'], at: '2026-01-02T00:00:00.000Z' },
  ],
};

test('a valid state reads back as written; optional fields may be absent', () => {
  assert.deepEqual(checkRecipeState(good, 'lab'), good);
  const { vars: _v, forwarding: _f, ipForwardWasOff: _i, parsed: _p, released: _r, ...bare } = good;
  // an empty released list is the same as none
  assert.deepEqual(checkRecipeState({ ...bare, released: [] }, 'lab'), bare);
  assert.deepEqual(checkRecipeState(bare, 'lab'), bare);
});

test('every wrong type or shape names its field', () => {
  const cases: [unknown, RegExp][] = [
    [[], /expected an object/],
    [{ ...good, version: 2 }, /version 2: expected 1/],
    [{ ...good, name: 'other' }, /name "other": expected "lab"/],
    [{ ...good, file: 3 }, /file must be a non-empty string/],
    [{ ...good, vars: { p: 1 } }, /vars must map names to strings/],
    [{ ...good, targets: 'netns:a' }, /targets must be a list/],
    [{ ...good, targets: [{ id: 'netns:a' }] }, /targets\[0\]\.spec must be a non-empty string/],
    [{ ...good, targets: [null] }, /targets\[0\] must be \{ id, spec \}/],
    [{ ...good, targets: [{ id: 'x', spec: 'pid:abc' }] }, /targets\[0\]\.spec "pid:abc" is not a target/],
    [{ ...good, createdNamespaces: 'lab-a' }, /createdNamespaces must be a list of strings/],
    [{ ...good, createdNamespaces: ['lab-a', 7] }, /createdNamespaces\[1\] must be a non-empty string/],
    [{ ...good, forwarding: [{}] }, /forwarding\[0\]/],
    [{ ...good, ipForwardWasOff: 'yes' }, /ipForwardWasOff must be true or false/],
    [{ ...good, appliedAt: null }, /appliedAt/],
    [{ ...good, parsed: '../../etc/passwd' }, /parsed must be a SHA-256/],
    [{ ...good, released: {} }, /released must be a list of \{ container, target, addresses, at \}/],
    [{ ...good, released: ['web'] }, /released\[0\] must be \{ container, target, addresses, at \}/],
    [
      { ...good, released: [{ ...good.released[0], addresses: '192.0.2.100' }] },
      /released\[0\]\.addresses must be a list/,
    ],
    [
      { ...good, released: [{ ...good.released[0], container: '' }] },
      /released\[0\]\.container must be a non-empty string/,
    ],
  ];
  for (const [data, why] of cases)
    assert.throws(() => checkRecipeState(data, 'lab'), why, JSON.stringify(data));
});

test('readRecipeState: a corrupt file is E_STATE_CORRUPT (exit 2) naming the file, the field and the fix', async (t) => {
  const dir = await tempStateDir(t, 'rstate');
  await mkdir(`${dir}/recipes`);
  const file = `${dir}/recipes/lab.json`;
  assert.equal(await readRecipeState('lab'), undefined, 'no file: no state');
  for (const [body, why] of [
    [JSON.stringify({ ...good, createdNamespaces: 'lab-a' }), 'createdNamespaces must be a list of strings'],
    ['{"version": 1,', 'not a valid recipe state: '],
  ] as const) {
    await writeFile(file, body);
    const e = await rejection(readRecipeState('lab'));
    assert.equal(e.code, 'E_STATE_CORRUPT');
    assert.equal(exitCodeFor(e), 2);
    assert.ok(e.message.startsWith(`${file}: not a valid recipe state: `), e.message);
    assert.ok(e.message.includes(why), e.message);
    assert.ok(e.hint?.includes(`mv ${file} ${file}.bad`), e.hint);
  }
});
