/** The published JSON Schema of recipes, generated from the valibot schema. */
import { toJsonSchema } from '@valibot/to-json-schema';
import { RecipeSchema } from './schema.js';

export const recipeJsonSchema = (): string =>
  JSON.stringify(
    {
      ...toJsonSchema(RecipeSchema, { errorMode: 'ignore' }),
      $id: 'https://pipefitter.invalid/recipes/schema.json',
      title: 'pipefitter recipe, version 1',
    },
    null,
    2,
  ) + '\n';
