import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { recipeJsonSchema } from '../../../src/recipe/json-schema.js';
import { recipeFromText } from '../../../src/recipe/load.js';

test('recipes/schema.json is the schema generated from the code (npx tsx scripts/gen-schema.ts)', () => {
  assert.equal(
    readFileSync(new URL('../../../recipes/schema.json', import.meta.url), 'utf8'),
    recipeJsonSchema(),
  );
});

test('every example recipe under recipes/ is valid', () => {
  const dir = new URL('../../../recipes/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 5);
  for (const f of files) assert.ok(recipeFromText(readFileSync(new URL(f, dir), 'utf8'), f).name, f);
});
