/** pipefitter(1) is generated from the commander definitions: it lists all of them and man renders it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { execa } from 'execa';
import type { Command } from 'commander';
import { buildProgram, VERSION } from '../../../src/cli/main.js';
import { manCommands, renderMan } from '../../../src/cli/man.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const PAGE = resolve(ROOT, 'man/pipefitter.1');
const program = buildProgram();

test('the committed man/pipefitter.1 is what the definitions render (npm run build rewrites it)', () => {
  assert.equal(readFileSync(PAGE, 'utf8'), renderMan(program, VERSION));
});

const rendered = async (): Promise<string> => {
  const r = await execa('man', ['-l', PAGE], { env: { MANWIDTH: '200', MAN_KEEP_FORMATTING: '' } });
  assert.equal(r.stderr, '', 'man -l warns');
  return r.stdout;
};

test('man -l renders every subcommand and every flag commander knows, with its help', async () => {
  const text = await rendered();
  assert.match(text, /^PIPEFITTER\(1\)/);
  const leaves: [string, Command][] = [
    ['', program],
    ...manCommands(program).map(({ path, cmd }): [string, Command] => [path, cmd]),
  ];
  assert.ok(leaves.length > 15);
  for (const [path, cmd] of leaves) {
    if (path) assert.ok(text.includes(`pipefitter ${path}`), path);
    if (path) assert.ok(text.includes(cmd.description()), `${path}: ${cmd.description()}`);
    for (const o of cmd.options) {
      assert.ok(text.includes(o.flags), `${path || '(global)'} ${o.flags}`);
      assert.ok(text.includes(o.description.slice(0, 30)), `${path || '(global)'} ${o.flags}: help`);
    }
  }
  for (const section of ['NAME', 'SYNOPSIS', 'GLOBAL OPTIONS', 'COMMANDS', 'NOTES', 'PIPEWORK FORMS'])
    assert.match(text, new RegExp(`^${section}$`, 'm'));
  assert.match(text, /Exit codes: 0 done/);
});

test('the package installs the page', async () => {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
    man: string[];
    files: string[];
  };
  assert.deepEqual(pkg.man, ['./man/pipefitter.1']);
  const r = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
  const [packed] = JSON.parse(r.stdout) as [{ files: { path: string }[] }];
  assert.ok(packed.files.some((f) => f.path === 'man/pipefitter.1'));
});
