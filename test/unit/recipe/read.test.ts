/**
 * Reading a recipe file (issue 13, defect 6): only a regular file of at most 16 MiB is read. A FIFO
 * is refused at once (it used to block forever), /dev/zero without reading it (618 MB were read),
 * each with exit 2 (E_RECIPE), the path, and the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RECIPE_MAX_BYTES, loadRecipe, readRecipeFile } from '../../../src/recipe/load.js';
import { exitCodeFor, isPipefitterError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-read-'));
process.env.PIPEFITTER_STATE_DIR = join(dir, 'state');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const refused = async (file: string): Promise<{ message: string; hint: string; ms: number }> => {
  const t = performance.now();
  try {
    await readRecipeFile(file);
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    assert.equal(e.code, 'E_RECIPE');
    assert.equal(exitCodeFor(e), 2);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    return { message: e.message, hint: e.hint ?? '', ms: performance.now() - t };
  }
  throw new Error(`${file} was read`);
};

test('a FIFO is refused at once, not waited on', async () => {
  const fifo = join(dir, 'pipe.yaml');
  await execa('mkfifo', [fifo]);
  const r = await refused(fifo);
  assert.match(r.message, /is a FIFO \(named pipe\), not a regular file/);
  assert.match(r.hint, /save it to a file first/);
  assert.ok(r.ms < 1000, `${r.ms} ms`);
});

test('a device (/dev/zero) and a directory are refused without reading', async () => {
  assert.match((await refused('/dev/zero')).message, /^\/dev\/zero: is a device, not a regular file/);
  assert.match((await refused(dir)).message, /is a directory, not a regular file/);
});

test('a file over 16 MiB is refused, the limit stated; one of exactly 16 MiB is read', async () => {
  const big = join(dir, 'big.yaml');
  writeFileSync(big, '');
  truncateSync(big, RECIPE_MAX_BYTES + 1);
  const r = await refused(big);
  assert.match(r.message, /is 16,777,217 bytes, more than the limit of 16 MiB \(16,777,216 bytes\)/);
  assert.match(r.hint, /split it/);
  truncateSync(big, RECIPE_MAX_BYTES);
  assert.equal((await readRecipeFile(big)).length, RECIPE_MAX_BYTES);
});

test('a missing file: cannot read it, with the errno; a regular file loads', async () => {
  assert.match((await refused(join(dir, 'nope.yaml'))).message, /cannot read it \(ENOENT\)/);
  const ok = join(dir, 'ok.yaml');
  writeFileSync(ok, 'version: 1\nname: ok\n');
  assert.equal((await loadRecipe(ok)).name, 'ok');
});
