/**
 * A recipe written to a temporary directory of this run (/tmp/pf-RUNID-…, which the leak check
 * watches), removed when the test ends. Lines after `version: 1`, `networks:` and the given
 * networks come under `containers:`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runId } from './sandbox.js';

export const recipeFile = async (
  t: { after: (fn: () => Promise<void>) => void },
  name: string,
  networks: readonly string[],
  containers: readonly string[],
): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${runId}-recipe-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    ['version: 1', 'networks:', ...networks, 'containers:', ...containers, ''].join('\n'),
  );
  return file;
};

/** A recipe of the given text in a temporary directory of this run, removed when the test ends. */
export const recipeFileText = async (
  t: { after: (fn: () => Promise<void>) => void },
  name: string,
  text: string,
): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${runId}-recipe-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `${text}\n`);
  return file;
};
