/**
 * Reading one of pipefitter's JSON state files (a recipe's state, an attachment record): every
 * one is text anyone can edit, so each is checked field by field, and one that cannot be read or
 * checked stops the command with E_STATE_CORRUPT — never a reset, never a half-way TypeError.
 */
import { readFile } from 'node:fs/promises';
import { PipefitterError } from '../errors.js';

/** What is wrong with a state file's field (its checker throws this). */
export class BadState extends Error {}

/** The field checkers every state file's checker is made of; each throws BadState naming the field. */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown, field: string): string => {
  if (typeof v !== 'string' || v === '') throw new BadState(`${field} must be a non-empty string`);
  return v;
};
export const optional = <T>(v: unknown, read: (v: unknown) => T): T | undefined =>
  v === undefined ? undefined : read(v);
export const optStr = (v: unknown, field: string): string | undefined => optional(v, (x) => str(x, field));
export const optBool = (v: unknown, field: string): boolean | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new BadState(`${field} must be true or false`);
  return v;
};
export const strings = (v: unknown, field: string): string[] => {
  if (!Array.isArray(v)) throw new BadState(`${field} must be a list of strings`);
  return v.map((x, i) => str(x, `${field}[${i}]`));
};

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
