/** Reading a recipe file (the only I/O of the recipe layer's entry). */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { PipefitterError } from '../errors.js';
import type { Recipe } from '../model/recipe.js';
import { Issues, parseRecipeText } from './parse.js';
import { buildRecipe } from './rules.js';
import { readParsed } from '../state/recipes.js';

export interface LoadOptions {
  /** Values for ${name}, overriding the recipe's vars (--set name=value). */
  readonly set?: Readonly<Record<string, string>> | undefined;
  /** This text's document from an earlier parse (see Recipe.source). */
  readonly raw?: unknown;
}

/** Parse, shape-check and rule-check recipe text. Pure. */
export const recipeFromText = (text: string, file: string, opts: LoadOptions = {}): Recipe => {
  const parsed = parseRecipeText(text, file, opts);
  const name = basename(file, extname(file)).replace(/[^A-Za-z0-9_.-]/g, '-') || 'recipe';
  return {
    ...buildRecipe(parsed, new Issues(parsed.where), name),
    source: { sha256: textHash(text), raw: parsed.raw, kept: opts.raw !== undefined },
  };
};

export const textHash = (text: string): string => createHash('sha256').update(text).digest('hex');

// Stryker disable all: reading the file is I/O, outside the pure layers that mutation testing covers
/**
 * Read and validate a recipe file (YAML or JSON).
 * @example const r = await loadRecipe('recipes/shared-bridge-nat.yaml', { set: { prefix: 'lab-' } });
 */
export const loadRecipe = async (file: string, opts: LoadOptions = {}): Promise<Recipe> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PipefitterError({
      code: 'E_RECIPE',
      message: `${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      hint: 'check the path',
    });
  }
  // the same text as a successful apply's: its document was kept, and YAML is not parsed again
  return recipeFromText(text, file, { ...opts, raw: await readParsed(textHash(text)) });
};
