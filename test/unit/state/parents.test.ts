/**
 * The parents file (host interfaces pipefitter brought up) is read as the other state files
 * are: none is empty; one that cannot be read or does not parse is E_STATE_CORRUPT (exit 2)
 * naming the file and the fix — never read as empty.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { exitCodeFor } from '../../../src/errors.js';
import { commitRecords, readParentRecords } from '../../../src/state/parents.js';
import { rejection } from '../../helpers/errors.js';
import { tempStateDir } from '../../helpers/state-dir.js';

const stateDir = (t: TestContext): Promise<string> => tempStateDir(t, 'parents');

test('no directory, or an empty one, is no record; what commitRecords writes reads back', async (t) => {
  const dir = await stateDir(t);
  assert.deepEqual(await readParentRecords(), new Map());
  await mkdir(`${dir}/parents`);
  assert.deepEqual(await readParentRecords(), new Map());
  await commitRecords([
    { kind: 'parent-user', parent: 'eth3', ifindex: 7, user: 'netns:r1/eth1', op: 'add' },
  ]);
  assert.deepEqual(await readParentRecords(), new Map([['eth3', { ifindex: 7, users: ['netns:r1/eth1'] }]]));
  // a temporary file of an atomic write, left by a killed run, is not a record
  await writeFile(`${dir}/parents/.eth3.json.123.abc.tmp`, '{');
  assert.equal((await readParentRecords()).size, 1);
});

test('a file that does not parse, or with a field of the wrong type: E_STATE_CORRUPT naming it and the fix', async (t) => {
  const dir = await stateDir(t);
  await mkdir(`${dir}/parents`);
  const file = `${dir}/parents/eth3.json`;
  const good = { version: 1, parent: 'eth3', ifindex: 7, users: ['netns:r1/eth1'] };
  for (const [body, why] of [
    ['{"version": 1,', /JSON/],
    ['[]', /expected an object/],
    [JSON.stringify({ ...good, version: 2 }), /version 2: expected 1/],
    [JSON.stringify({ ...good, parent: 5 }), /parent must be an interface name/],
    [JSON.stringify({ ...good, parent: 'eth4' }), /parent "eth4" is not the interface its file name says/],
    [JSON.stringify({ ...good, ifindex: '7' }), /ifindex must be a positive whole number/],
    [JSON.stringify({ ...good, ifindex: 0 }), /ifindex must be a positive whole number/],
    [JSON.stringify({ ...good, users: 'netns:r1/eth1' }), /users must be a list of strings/],
    [JSON.stringify({ ...good, users: ['netns:r1/eth1', 3] }), /users must be a list of strings/],
  ] as const) {
    await writeFile(file, body);
    const e = await rejection(readParentRecords());
    assert.equal(e.code, 'E_STATE_CORRUPT', body);
    assert.equal(exitCodeFor(e), 2);
    assert.ok(
      e.message.startsWith(`${file}: not a valid record of a host interface pipefitter brought up: `),
      e.message,
    );
    assert.match(e.message, why, body);
    assert.ok(e.hint?.includes(`mv ${file} ${file}.bad`), e.hint);
    // commitRecords reads it first: it refuses too, and writes nothing
    const c = await rejection(
      commitRecords([{ kind: 'parent-user', parent: 'eth3', ifindex: 7, user: 'x/eth1', op: 'add' }]),
    );
    assert.equal(c.code, 'E_STATE_CORRUPT');
    assert.equal(await readFile(file, 'utf8'), body, 'left as it was');
  }
});

test('a file or directory that cannot be read: E_STATE_CORRUPT naming it (not an empty record)', async (t) => {
  const dir = await stateDir(t);
  // a file where the directory should be: readdir fails with ENOTDIR, not ENOENT
  await writeFile(`${dir}/parents`, '');
  const e = await rejection(readParentRecords());
  assert.equal(e.code, 'E_STATE_CORRUPT');
  assert.match(
    e.message,
    new RegExp(`^${dir}/parents: cannot read the record of host interfaces pipefitter brought up \\(ENOTDIR`),
  );
  assert.match(e.hint ?? '', /PIPEFITTER_STATE_DIR/);
  await rm(`${dir}/parents`);
  // a directory where a record should be: EISDIR
  await mkdir(`${dir}/parents/eth3.json`, { recursive: true });
  const d = await rejection(readParentRecords());
  assert.equal(d.code, 'E_STATE_CORRUPT');
  assert.match(d.message, /parents\/eth3\.json: cannot read the record .*EISDIR/);
});
