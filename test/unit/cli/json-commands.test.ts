/**
 * Drift check: every command commander knows has a --json case in test/helpers/json-cases.ts,
 * which test/integration/json-output.test.ts runs (success and failure, stdout parsed whole).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/main.js';
import { JSON_CASES, NON_COMMANDER } from '../../helpers/json-cases.js';

/** Leaf commands as "parent child" paths; commander's implicit `help` counts as one. */
const leaves = (c: Command, prefix = ''): string[] =>
  c.commands.flatMap((s) => {
    const path = `${prefix}${s.name()}`;
    return s.commands.length ? leaves(s, `${path} `) : [path];
  });

test('every command has a --json case (a new command without one fails here)', () => {
  const commands = [...leaves(buildProgram()), 'help'].sort();
  const cased = JSON_CASES.map((c) => c.command).filter(
    (c) => !(NON_COMMANDER as readonly string[]).includes(c),
  );
  assert.deepEqual([...new Set(cased)].sort(), commands);
});

test('the forms outside commander have their cases too', () => {
  for (const f of NON_COMMANDER)
    assert.ok(
      JSON_CASES.some((c) => c.command === f),
      f,
    );
});
