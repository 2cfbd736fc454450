// Writes recipes/schema.json from the recipe schema (src/recipe/schema.ts).
//   npx tsx scripts/gen-schema.ts   (a unit test checks the committed file is up to date)
import { writeFileSync } from 'node:fs';
import { recipeJsonSchema } from '../src/recipe/json-schema.js';

writeFileSync(new URL('../recipes/schema.json', import.meta.url), recipeJsonSchema());
