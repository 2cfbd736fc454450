/**
 * Any failure of a verb → the CNI error object's code and text (SPEC.md section 5, "Error").
 * pipefitter's own errors keep their message and hint (as `details`); their codes map onto
 * the spec's where one fits, else onto pipefitter's 100+ codes. Pure.
 */
import { isPipefitterError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { inConfigWords } from './words.js';
import { CNI_ERROR, CniError, isCniError } from './types.js';

const CODE_OF: Partial<Record<ErrorCode, number>> = {
  E_TARGET_NOT_FOUND: CNI_ERROR.unknownContainer,
  E_TARGET_STOPPED: CNI_ERROR.unknownContainer,
  E_TARGET_CHANGED: CNI_ERROR.tryAgainLater,
  E_NOT_ROOT: CNI_ERROR.notAvailable,
  E_TOOL_MISSING: CNI_ERROR.notAvailable,
  E_SERVICE_DOWN: CNI_ERROR.notAvailable,
  E_KIND_UNSUPPORTED: CNI_ERROR.notAvailable,
  E_STATE_CORRUPT: CNI_ERROR.notAvailable,
  E_ROLLBACK_FAILED: CNI_ERROR.rollbackFailed,
  E_STEP_FAILED: CNI_ERROR.failed,
  E_INTERRUPTED: CNI_ERROR.failed,
  E_INTERNAL: CNI_ERROR.failed,
};

/** Refusals of `attach` (exit 2) that are about the configuration: error 7. */
const CONFIG_CODES: readonly ErrorCode[] = [
  'E_USAGE',
  'E_BAD_CIDR',
  'E_BAD_ADDRESS',
  'E_BAD_ROUTE',
  'E_NAME_TOO_LONG',
  'E_BAD_NAME',
  'E_MTU_RANGE',
  'E_BAD_MAC',
  'E_BAD_VALUE',
  'E_FAMILY',
  'E_NO_HOST_IF',
  'E_CONFLICT',
  'E_NOT_OWNED',
];

/** The CniError for any thrown value (an unexpected one is a bug: its message is kept). */
export const cniErrorOf = (e: unknown): CniError => {
  if (isCniError(e)) return e;
  if (isPipefitterError(e)) {
    const code =
      CODE_OF[e.code] ?? (CONFIG_CODES.includes(e.code) ? CNI_ERROR.invalidConfig : CNI_ERROR.failed);
    // attach's words are its flags (--mac): a CNI error speaks in the configuration's keys
    const details = [
      e.hint === undefined ? undefined : inConfigWords(e.hint),
      e.failure?.command && `command: ${e.failure.command}`,
      ...(e.leftovers ?? []).map((l) => `left over: ${l}`),
    ]
      .filter((x): x is string => !!x)
      .join('; ');
    return new CniError(code, inConfigWords(e.message), details || undefined, { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new CniError(
    CNI_ERROR.failed,
    `internal error: ${msg}`,
    'please report it with the configuration and this message',
    { cause: e },
  );
};
