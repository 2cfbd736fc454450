/**
 * Capturing a PipefitterError, the one way for every test: what `fn` throws or `p` rejects
 * with. Anything else fails loudly: a function that returns, or throws something that is not a
 * PipefitterError (that error is thrown on as it is, with its stack).
 *
 * ```ts
 * const e = thrown(() => parseCidr('192.0.2.10', '--ip'));
 * assert.equal(e.code, 'E_BAD_CIDR');
 * const r = await rejection(store.allocate('lab/lan', full, 'lab/web/eth1'));
 * assert.equal(codeOf(() => parseMtu('70000', '--mtu')), 'E_MTU_RANGE');
 * ```
 */
import type { PipefitterError } from '../../src/errors.js';
import { isPipefitterError } from '../../src/errors.js';

const describe = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

/** The PipefitterError `fn` throws. */
export const thrown = (fn: () => unknown): PipefitterError => {
  let value: unknown;
  try {
    value = fn();
  } catch (e) {
    if (isPipefitterError(e)) return e;
    throw e;
  }
  throw new Error(`expected a PipefitterError, but it returned ${describe(value)}`);
};

/** The PipefitterError `p` rejects with. */
export const rejection = async (p: Promise<unknown>): Promise<PipefitterError> => {
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    if (isPipefitterError(e)) return e;
    throw e;
  }
  throw new Error(`expected a PipefitterError, but it resolved to ${describe(value)}`);
};

/** The code `fn` throws, or 'ok' when it returns (for tables of inputs and their codes). */
export const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (isPipefitterError(e)) return e.code;
    throw e;
  }
  return 'ok';
};
