/**
 * What a recipe made, kept between runs so that `apply` can prune and `destroy` can remove
 * exactly it — even after the recipe file changed: the targets it touched and the namespaces
 * it created. Links themselves carry their owner in their tags; this file only finds them.
 */
import { mkdir, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { PipefitterError } from '../errors.js';
import { stateRoot } from '../paths.js';
import { writeFileAtomic } from './atomic.js';

export interface RecipeState {
  readonly version: 1;
  readonly name: string;
  /** The recipe file (absolute) and the --set values it was applied with: enough to load it again. */
  readonly file: string;
  readonly vars?: Readonly<Record<string, string>> | undefined;
  /** Every target the recipe touched: identity and how to find it again. */
  readonly targets: readonly { readonly id: string; readonly spec: string }[];
  readonly createdNamespaces: readonly string[];
  /** Targets (ids) where the recipe turned forwarding on. */
  readonly forwarding?: readonly string[] | undefined;
  /** IPv4 forwarding was off before the recipe's NAT turned it on. */
  readonly ipForwardWasOff?: boolean | undefined;
  readonly appliedAt: string;
  /** SHA-256 of the recipe text applied, whose parsed document is kept (parsed/SHA.json). */
  readonly parsed?: string | undefined;
}

const fileOf = (name: string): string => `${stateRoot()}/recipes/${name}.json`;

export const readRecipeState = async (name: string): Promise<RecipeState | undefined> => {
  let text: string;
  try {
    text = await readFile(fileOf(name), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as RecipeState;
    if (s.version !== 1 || s.name !== name) throw new Error('not a version 1 state of this recipe');
    return s;
  } catch (e) {
    throw new PipefitterError({
      code: 'E_RECIPE',
      message: `${fileOf(name)}: unreadable recipe state (${(e as Error).message})`,
      hint: 'move it away; `pipefitter destroy` then finds what it can from the tags',
    });
  }
};

/** Every recipe with a state: applied and not destroyed. */
export const listRecipeStates = async (): Promise<RecipeState[]> => {
  const names = (await readdir(`${stateRoot()}/recipes`).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5));
  const out: RecipeState[] = [];
  for (const n of names) {
    const s = await readRecipeState(n);
    if (s) out.push(s);
  }
  return out;
};

export const writeRecipeState = async (s: RecipeState): Promise<void> => {
  await mkdir(`${stateRoot()}/recipes`, { recursive: true, mode: 0o700 });
  await writeFileAtomic(fileOf(s.name), JSON.stringify(s, null, 2) + '\n');
};

export const removeRecipeState = async (name: string): Promise<void> => {
  await rm(fileOf(name), { force: true });
};

// The parsed YAML of applied recipe texts, by SHA-256: parsing 500 containers' YAML costs more
// CPU than observing them. Written by a successful apply, removed with the state that names it.
const parsedFile = (sha256: string): string => `${stateRoot()}/recipes/parsed/${sha256}.json`;

/** The document kept for this text, if any (anything unreadable is no document: parse again). */
export const readParsed = async (sha256: string): Promise<unknown> => {
  if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  try {
    return (JSON.parse(await readFile(parsedFile(sha256), 'utf8')) as { raw?: unknown }).raw;
  } catch {
    return undefined;
  }
};

export const writeParsed = async (sha256: string, raw: unknown): Promise<void> => {
  await mkdir(`${stateRoot()}/recipes/parsed`, { recursive: true, mode: 0o700 });
  await writeFileAtomic(parsedFile(sha256), JSON.stringify({ raw }));
};

export const removeParsed = async (sha256: string | undefined): Promise<void> => {
  if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) return;
  await rm(parsedFile(sha256), { force: true });
  // the directory goes with its last file
  await rmdir(`${stateRoot()}/recipes/parsed`).catch(() => undefined);
};
