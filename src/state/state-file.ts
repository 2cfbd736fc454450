/**
 * Reading one of pipefitter's JSON state files (a recipe's state, an attachment record): every
 * one is text anyone can edit, so each is checked field by field, and one that cannot be read or
 * checked stops the command with E_STATE_CORRUPT — never a reset, never a half-way TypeError.
 */
import { readFile } from 'node:fs/promises';
import { PipefitterError } from '../errors.js';

/** What is wrong with a state file's field (its checker throws this). */
export class BadState extends Error {}

/**
 * The file's checked content; undefined when there is no such file.
 * @param what what the file is, for messages ("recipe state")
 * @param movedAway what is lost when the user moves a corrupt file away, for the hint
 */
export const readStateFile = async <T>(
  file: string,
  what: string,
  check: (data: unknown) => T,
  movedAway: string,
): Promise<T | undefined> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new PipefitterError({
      code: 'E_STATE_CORRUPT',
      message: `${file}: cannot read the ${what} (${(e as Error).message})`,
      hint: 'run as root, or set PIPEFITTER_STATE_DIR to the state directory pipefitter uses',
      cause: e,
    });
  }
  try {
    return check(JSON.parse(text));
  } catch (e) {
    if (!(e instanceof BadState) && !(e instanceof SyntaxError)) throw e;
    throw corruptState(file, what, e, movedAway);
  }
};

export const corruptState = (file: string, what: string, e: Error, movedAway: string): PipefitterError =>
  new PipefitterError({
    code: 'E_STATE_CORRUPT',
    message: `${file}: not a valid ${what}: ${e.message}`,
    hint:
      `pipefitter does not reset it, and changed nothing: repair it, or move it away ` +
      `(mv ${file} ${file}.bad) — ${movedAway}`,
  });
