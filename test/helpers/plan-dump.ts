/**
 * A plan as text with every field of every step (id, namespace, argv, input, affects, flags,
 * undo), its notes, no-ops and records: golden files compare the whole of it, so a change in
 * any of them shows up in review as a diff of a readable file.
 */
import { argvOf } from '../../src/render/ip.js';
import { readFileSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import type { Command, Plan } from '../../src/model/step.js';
import { netnsKey } from '../../src/model/netns.js';
import { text } from './plan-fixtures.js';

const indent = (s: string, by: string): string =>
  s
    .split('\n')
    .map((l) => (l === '' ? l : `${by}${l}`))
    .join('\n');

const command = (c: Command, by: string): string[] => [
  `${by}${netnsKey(c.netns)}: ${text(argvOf(c))}`,
  `${by}  describes: ${c.describes}`,
  ...(c.affects?.length ? [`${by}  affects: ${c.affects.map(netnsKey).join(' ')}`] : []),
  ...(c.input !== undefined ? [`${by}  input:`, indent(c.input.replace(/\n$/, ''), `${by}    | `)] : []),
];

export const dumpPlan = (p: Plan): string => {
  const out: string[] = [];
  for (const n of p.notes) out.push(`note: ${n}`);
  for (const n of p.noops) out.push(`noop: ${n}`);
  for (const r of p.records ?? []) out.push(`record: ${JSON.stringify(r)}`);
  p.steps.forEach((s, i) => {
    const flags = (['bestEffort', 'detached', 'undoOnFailure', 'readOnly', 'passOutput'] as const).filter(
      (f) => s[f] === true,
    );
    out.push('', `${i + 1}. ${s.id}${flags.length ? ` [${flags.join(' ')}]` : ''}`, ...command(s, '   '));
    if (typeof s.undo === 'string') out.push(`   undo: ${s.undo}`);
    else out.push('   undo:', ...command(s.undo, '     '));
  });
  return `${out.join('\n')}\n`;
};

/** Compare with test/fixtures/golden/NAME; UPDATE_GOLDEN=1 rewrites the file instead. */
export const golden = (name: string, actual: string): void => {
  const url = new URL(`../fixtures/golden/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(url, actual);
  assert.equal(
    actual,
    readFileSync(url, 'utf8'),
    `golden file ${name} differs (UPDATE_GOLDEN=1 rewrites it)`,
  );
};
