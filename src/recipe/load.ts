/** Reading a recipe file (the only I/O of the recipe layer's entry). */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { isPipefitterError, refuse } from '../errors.js';
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
  const text = await readRecipeFile(file);
  // the same text as a successful apply's: its document was kept, and YAML is not parsed again
  return recipeFromText(text, file, { ...opts, raw: await readParsed(textHash(text)) });
};

/** The largest recipe file read (16 MiB: 100,000 containers take about 12 MB). */
export const RECIPE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A recipe file's text: only a regular file, of at most RECIPE_MAX_BYTES. Opened without blocking
 * (a FIFO with no writer would wait forever), checked on the open descriptor (no race with a
 * rename), and read no further than the limit (a file that grows while read).
 */
export const readRecipeFile = async (file: string): Promise<string> => {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw refuse(
      'E_RECIPE',
      file,
      `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'check the path',
    );
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      const what = st.isDirectory()
        ? 'a directory'
        : st.isFIFO()
          ? 'a FIFO (named pipe)'
          : st.isCharacterDevice() || st.isBlockDevice()
            ? 'a device'
            : st.isSocket()
              ? 'a socket'
              : 'not a regular file';
      throw refuse(
        'E_RECIPE',
        file,
        `is ${what}, not a regular file`,
        'give the path of a recipe file (.yaml or .json); to read a pipe, save it to a file first',
      );
    }
    const tooBig = (size: string) =>
      refuse(
        'E_RECIPE',
        file,
        `is ${size}, more than the limit of 16 MiB (${RECIPE_MAX_BYTES.toLocaleString('en-US')} bytes) for a recipe`,
        'split it into several recipes, or repeat parts with anchors (&name, <<: *name)',
      );
    if (st.size > RECIPE_MAX_BYTES) throw tooBig(`${st.size.toLocaleString('en-US')} bytes`);
    // read to the end, not to the size fstat gave: one byte past the limit tells a file that grew
    let buf = Buffer.alloc(Math.min(st.size, RECIPE_MAX_BYTES) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > RECIPE_MAX_BYTES) throw tooBig('larger');
        const bigger = Buffer.alloc(Math.min(buf.length * 2, RECIPE_MAX_BYTES + 1));
        buf.copy(bigger);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.toString('utf8', 0, got);
  } catch (e) {
    if (isPipefitterError(e)) throw e;
    throw refuse(
      'E_RECIPE',
      file,
      `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'check the path',
    );
  } finally {
    await fh.close();
  }
};
