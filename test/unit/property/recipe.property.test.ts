/**
 * Recipes (issue 13): random mutations of the valid recipes in recipes/*.yaml — a key deleted, a
 * value's type changed, a junk key or value inserted, the text cut or spliced with junk — given to
 * recipeFromText are accepted or refused with E_RECIPE (exit 2) located at file:line:col, and a
 * mutation of the document's content is refused at a path: never an internal error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { recipeFromText } from '../../../src/recipe/load.js';
import { exitCodeFor } from '../../../src/errors.js';
import type { PipefitterError } from '../../../src/errors.js';
import { FC, onlyPipefitterErrors } from '../../helpers/property.js';

const DIR = resolve(import.meta.dirname, '../../../recipes');
const RECIPES = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ file: f, text: readFileSync(join(DIR, f), 'utf8') }));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

const pathsOf = (v: Json, at: Path = []): Path[] => [
  at,
  ...(Array.isArray(v)
    ? v.flatMap((x, i) => pathsOf(x, [...at, i]))
    : v && typeof v === 'object'
      ? Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...at, k]))
      : []),
];

type Mutation =
  { kind: 'delete' } | { kind: 'replace'; value: Json } | { kind: 'insert'; key: string; value: Json };

/** The document with one mutation at `path` (a copy). */
const mutate = (doc: Json, path: Path, m: Mutation): Json => {
  const root = structuredClone(doc);
  if (path.length === 0) return m.kind === 'replace' ? m.value : root;
  const parent = path.slice(0, -1).reduce<Json>((o, k) => (o as Record<string, Json>)[k]!, root);
  const last = path.at(-1)!;
  const slot = parent as Record<string | number, Json>;
  if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete slot[last];
  } else if (m.kind === 'replace') slot[last] = m.value;
  else {
    const target = slot[last];
    if (target && typeof target === 'object' && !Array.isArray(target)) target[m.key] = m.value;
    else if (Array.isArray(target)) target.push(m.value);
    else slot[last] = { [m.key]: m.value };
  }
  return root;
};

const junkValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1e308, 65536, '', 'auto', 'dhcp', '${nope}', [], {}),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>({ kind: 'delete' }),
  junkValue.map<Mutation>((value) => ({ kind: 'replace', value })),
  fc
    .tuple(
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('address', 'mtu', 'target', 'x')),
      junkValue,
    )
    .map<Mutation>(([key, value]) => ({ kind: 'insert', key, value })),
);

/** Refused as bad input, at file:line:col, or accepted. */
const checked = (text: string, file: string): PipefitterError | undefined => {
  const e = onlyPipefitterErrors(() => recipeFromText(text, file));
  if (!e) return undefined;
  assert.equal(e.code, 'E_RECIPE', e.message);
  assert.equal(exitCodeFor(e), 2);
  assert.match(e.message, new RegExp(`^${file.replace('.', '\\.')}:\\d+:\\d+: `), e.message);
  assert.ok((e.issues ?? []).length > 0);
  return e;
};

test('the recipes as shipped are valid (the base of the mutations)', () => {
  assert.ok(RECIPES.length >= 5);
  for (const r of RECIPES) assert.equal(checked(r.text, r.file), undefined, r.file);
});

test('one mutation of a recipe document: accepted, or refused with E_RECIPE at a path', () => {
  const docs = RECIPES.map((r) => ({ file: r.file, doc: parse(r.text, { merge: true }) as Json }));
  fc.assert(
    fc.property(fc.nat(), fc.nat(), mutation, fc.boolean(), (d, p, m, asJson) => {
      const { file, doc } = docs[d % docs.length]!;
      const paths = pathsOf(doc);
      const path = paths[p % paths.length]!;
      const out = mutate(doc, path, m);
      // JSON is YAML too; block YAML written by JSON.stringify's indentation
      const text = asJson ? JSON.stringify(out) : JSON.stringify(out, null, 2);
      const e = checked(text, file);
      const rootIsMap = out !== null && typeof out === 'object' && !Array.isArray(out);
      if (e && rootIsMap) assert.notEqual(e.issues![0]!.path, '', e.message);
    }),
    FC,
  );
});

test('the text cut, or spliced with junk: accepted, or refused with E_RECIPE at file:line:col', () => {
  const junkText = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom(
      '\n',
      ':',
      ': ',
      '- ',
      '&a ',
      '*a',
      '*zz',
      '<<: *a\n',
      '{',
      ']',
      '"',
      "'",
      '\t',
      '  ',
      '#',
      '!!binary ',
      '%YAML 1.2\n---\n',
      '---\n',
      '... ',
    ),
  );
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.nat({ max: 40 }), junkText, (d, at, cut, junk) => {
      const { file, text } = RECIPES[d % RECIPES.length]!;
      const i = at % (text.length + 1);
      checked(text.slice(0, i) + junk + text.slice(i + cut), file);
    }),
    FC,
  );
});
