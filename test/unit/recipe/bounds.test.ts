/**
 * Input bounds (issue 13, defect 6): anchors and aliases are measured on the alias graph before
 * anything expands them — a "billion laughs" file is refused at once, naming the limit; an alias
 * inside its own anchor and an alias without an anchor are refused where they stand; and a recipe
 * of many merge keys is read in time linear in its size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recipeFromText } from '../../../src/recipe/load.js';
import { parseRecipeText } from '../../../src/recipe/parse.js';
import { isPipefitterError } from '../../../src/errors.js';

const refused = (text: string): { message: string; hint: string | undefined; ms: number } => {
  const t = performance.now();
  try {
    recipeFromText(text, 'bomb.yaml');
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    assert.equal(e.code, 'E_RECIPE');
    return { message: e.message, hint: e.hint, ms: performance.now() - t };
  }
  throw new Error('accepted');
};

/** 9^levels strings from a file of a few hundred bytes. */
const laughs = (levels: number): string => {
  let s = 'version: 1\nvars:\n  x0: &a0 "lol"\n';
  for (let i = 1; i <= levels; i++)
    s += `  x${i}: &a${i} [${Array(9)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  return `${s}description: *a${levels}\n`;
};

test('a billion laughs (9^6 to 9^9) is refused in well under a second, naming the limit', () => {
  for (const levels of [6, 7, 8, 9]) {
    const text = laughs(levels);
    assert.ok(text.length < 600);
    const r = refused(text);
    assert.ok(r.ms < 500, `9^${levels}: ${r.ms.toFixed(0)} ms`);
    assert.match(r.message, /^bomb\.yaml:\d+:\d+: .*aliases would add [\d,]+ nodes/);
    assert.match(r.message, /limit .*100,000.*10 per node/);
    assert.match(r.hint ?? '', /anchor/);
  }
});

test('an alias inside its own anchor is refused where it stands (no stack overflow)', () => {
  const r = refused('version: 1\ndescription: &a [ *a ]\n');
  assert.match(r.message, /^bomb\.yaml:2:19: alias \*a is inside its own anchor &a \(2:17\)/);
  const deeper = refused('version: 1\ncontainers:\n  x: &c\n    target: netns:x\n    more: { again: *c }\n');
  assert.match(deeper.message, /^bomb\.yaml:5:20: alias \*c is inside its own anchor &c/);
});

test('an alias with no anchor before it is refused where it stands', () => {
  const r = refused('version: 1\ndescription: *nope\nvars: { a: &nope 1 }\n');
  assert.match(r.message, /^bomb\.yaml:2:14: alias \*nope has no anchor &nope before it/);
});

test('aliases within the limit still work: a repeated anchor, a redefined anchor takes the latest', () => {
  const { doc } = parseRecipeText(
    'version: 1\nvars: { a: &x one, b: *x, c: &x two, d: *x }\ndescription: *x\n',
    'ok.yaml',
  );
  assert.deepEqual(doc.vars, { a: 'one', b: 'one', c: 'two', d: 'two' });
  assert.equal(doc.description, 'two');
  // 9^4 = 6561 strings in a small file is under the 100,000 floor: read, then refused by the schema
  const small = refused(laughs(4));
  assert.doesNotMatch(small.message, /alias/);
  assert.match(small.message, /expected/);
});

test('20,000 containers each merging one anchor: accepted, in time linear in the file (was quadratic)', () => {
  const lines = [
    'version: 1',
    'networks: { lan: { bridge: br0 } }',
    'containers:',
    '  c0: &c { target: netns:c0, interfaces: { eth1: { network: lan } } }',
  ];
  for (let i = 1; i < 20_000; i++) lines.push(`  c${i}: { <<: *c, target: 'netns:c${i}' }`);
  const t = performance.now();
  const r = recipeFromText(lines.join('\n') + '\n', 'many.yaml');
  const ms = performance.now() - t;
  assert.equal(r.containers.length, 20_000);
  assert.equal(r.containers[19_999]?.interfaces[0]?.network, 'lan');
  // before: > 10,000 merges were refused ("Excessive alias count"), and 10,000 took minutes
  assert.ok(ms < 15_000, `${ms.toFixed(0)} ms`);
});

test('nesting: deeper than 64 levels is refused once, at the first node too deep, as written or through aliases', () => {
  for (const depth of [65, 500, 3000, 20_000]) {
    for (const [open, close] of [
      ['[', ']'],
      ['{a: ', '}'],
    ] as const) {
      const r = refused(`version: 1\ndescription: ${open.repeat(depth)}1${close.repeat(depth)}\n`);
      assert.match(
        r.message,
        /^bomb\.yaml:2:\d+: nested more than 64 levels deep( \(and 1 more\))?$/,
        r.message,
      );
      assert.match(r.hint ?? '', /unclosed \[ or \{/);
    }
  }
  // 40 levels, repeated inside 40 more: 80 once expanded
  const forty = (inner: string) => `${'['.repeat(40)}${inner}${']'.repeat(40)}`;
  const r = refused(`version: 1\nvars: { a: &a ${forty('1')} }\ndescription: ${forty('*a')}\n`);
  assert.match(r.message, /^bomb\.yaml:3:54: nested more than 64 levels deep$/);
  // 64 levels with the document's own mapping are read (and refused by the schema, not the depth)
  assert.match(
    refused(`version: 1\ndescription: ${'['.repeat(63)}1${']'.repeat(63)}\n`).message,
    /expected string/,
  );
});
