/**
 * The one error type of pipefitter. Every refusal and every failure is a PipefitterError
 * with a stable `code`; the CLI maps the code to an exit status (see EXIT_CODES).
 */

export type ErrorCode =
  // refused before the first mutation: nothing touched, exit 2
  | 'E_USAGE'
  | 'E_BAD_CIDR'
  | 'E_BAD_ADDRESS'
  | 'E_BAD_ROUTE'
  | 'E_NAME_TOO_LONG'
  | 'E_BAD_NAME'
  | 'E_MTU_RANGE'
  | 'E_BAD_MAC'
  | 'E_BAD_VALUE'
  | 'E_FAMILY'
  | 'E_NO_HOST_IF'
  | 'E_TARGET_NOT_FOUND'
  | 'E_TARGET_STOPPED'
  | 'E_TARGET_AMBIGUOUS'
  | 'E_TARGET_CHANGED'
  | 'E_CONFLICT'
  | 'E_NOT_OWNED'
  | 'E_RECIPE'
  | 'E_NOT_ROOT'
  | 'E_KIND_UNSUPPORTED'
  | 'E_TOOL_MISSING'
  /** A daemon a plan needs is not running (Open vSwitch's database). */
  | 'E_SERVICE_DOWN'
  /** One of pipefitter's own state files does not parse: named, with how to repair it; never reset. */
  | 'E_STATE_CORRUPT'
  // a step failed and everything done was undone, exit 1
  | 'E_STEP_FAILED'
  | 'E_INTERRUPTED'
  /** `try`: the change was not confirmed in time (or `try --revert`) and was reverted. */
  | 'E_NOT_CONFIRMED'
  /** `try`: the change failed its verification (carrier, gateway, --check) and was reverted. */
  | 'E_VERIFY_FAILED'
  | 'E_INTERNAL'
  // rollback itself failed, exit 3
  | 'E_ROLLBACK_FAILED';

/** `drift`: `status` found the machine out of sync with the recipe (nothing failed, nothing changed). */
export const EXIT = { ok: 0, failed: 1, usage: 2, rollbackFailed: 3, drift: 4, interrupted: 130 } as const;

/**
 * Why a command failed, classified once from its stderr (exec/runner.ts) or errno. `target-changed`:
 * a namespace it names is no longer the one it was planned for (restarted, re-created, PID reused).
 */
export type FailureReason =
  | 'not-found'
  | 'exists'
  | 'busy'
  | 'perm'
  | 'unsupported'
  | 'tool-missing'
  | 'timeout'
  | 'target-changed'
  | 'other';

export interface StepFailureInfo {
  readonly step: string;
  readonly netns: string;
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly reason: FailureReason;
  /** With reason `tool-missing`: the programs that were not installed. */
  readonly missing?: readonly string[] | undefined;
}

/** One located problem in a recipe. */
export interface RecipeIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** e.g. containers.web.interfaces.eth1.address */
  readonly path: string;
  readonly message: string;
  readonly hint?: string | undefined;
}

export interface PipefitterErrorFields {
  readonly code: ErrorCode;
  readonly message: string;
  readonly field?: string | undefined;
  readonly value?: string | undefined;
  readonly hint?: string | undefined;
  readonly failure?: StepFailureInfo | undefined;
  /** Steps undone by the rollback (failure codes only). */
  readonly rolledBack?: number | undefined;
  /** Undo commands that could not be run (E_ROLLBACK_FAILED only). */
  readonly leftovers?: readonly string[] | undefined;
  /** Every problem found in a recipe (E_RECIPE). */
  readonly issues?: readonly RecipeIssue[] | undefined;
  readonly cause?: unknown;
}

const brand = Symbol.for('pipefitter.error');

export class PipefitterError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly value: string | undefined;
  readonly hint: string | undefined;
  readonly failure: StepFailureInfo | undefined;
  readonly rolledBack: number | undefined;
  readonly leftovers: readonly string[] | undefined;
  readonly issues: readonly RecipeIssue[] | undefined;
  readonly [brand] = true;

  constructor(f: PipefitterErrorFields) {
    super(f.message, f.cause === undefined ? undefined : { cause: f.cause });
    this.code = f.code;
    this.field = f.field;
    this.value = f.value;
    this.hint = f.hint;
    this.failure = f.failure;
    this.rolledBack = f.rolledBack;
    this.leftovers = f.leftovers;
    this.issues = f.issues;
  }

  /** The plain object printed by `--json`. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      field: this.field,
      value: this.value,
      hint: this.hint,
      step: this.failure?.step,
      netns: this.failure?.netns,
      command: this.failure?.command,
      exitCode: this.failure?.exitCode,
      stderr: this.failure?.stderr,
      reason: this.failure?.reason,
      missing: this.failure?.missing,
      rolledBack: this.rolledBack,
      leftovers: this.leftovers,
      issues: this.issues,
    };
  }
}
PipefitterError.prototype.name = 'PipefitterError';

export const isPipefitterError = (e: unknown): e is PipefitterError =>
  typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true;

const quoteValue = (v: string): string => JSON.stringify(v);

/**
 * Input that cannot be used. The message reads `<field> "<value>": <problem>`.
 * @example badInput('E_BAD_CIDR', '--ip', '192.0.2.10', 'prefix length missing', 'write it with a prefix, e.g. 192.0.2.10/24')
 */
export const badInput = (
  code: ErrorCode,
  field: string,
  value: string | undefined,
  problem: string,
  hint?: string,
): PipefitterError =>
  new PipefitterError({
    code,
    field,
    value,
    hint,
    message: value === undefined ? `${field}: ${problem}` : `${field} ${quoteValue(value)}: ${problem}`,
  });

/** A refusal about an object rather than a flag: `<subject>: <problem>`. */
export const refuse = (code: ErrorCode, subject: string, problem: string, hint?: string): PipefitterError =>
  new PipefitterError({ code, hint, message: `${subject}: ${problem}` });

export const exitCodeFor = (e: unknown): number => {
  if (!isPipefitterError(e)) return EXIT.failed;
  switch (e.code) {
    case 'E_STEP_FAILED':
    case 'E_NOT_CONFIRMED':
    case 'E_VERIFY_FAILED':
    case 'E_INTERNAL':
      return EXIT.failed;
    case 'E_INTERRUPTED':
      return EXIT.interrupted;
    case 'E_ROLLBACK_FAILED':
      return EXIT.rollbackFailed;
    case 'E_USAGE':
    case 'E_BAD_CIDR':
    case 'E_BAD_ADDRESS':
    case 'E_BAD_ROUTE':
    case 'E_NAME_TOO_LONG':
    case 'E_BAD_NAME':
    case 'E_MTU_RANGE':
    case 'E_BAD_MAC':
    case 'E_BAD_VALUE':
    case 'E_FAMILY':
    case 'E_NO_HOST_IF':
    case 'E_TARGET_NOT_FOUND':
    case 'E_TARGET_STOPPED':
    case 'E_TARGET_AMBIGUOUS':
    case 'E_TARGET_CHANGED':
    case 'E_CONFLICT':
    case 'E_NOT_OWNED':
    case 'E_RECIPE':
    case 'E_NOT_ROOT':
    case 'E_KIND_UNSUPPORTED':
    case 'E_TOOL_MISSING':
    case 'E_SERVICE_DOWN':
    case 'E_STATE_CORRUPT':
      return EXIT.usage;
    default: {
      const never: never = e.code;
      return never;
    }
  }
};

/** Human text for stderr: one message line, then indented detail lines. */
export const formatError = (e: unknown): string => {
  if (!isPipefitterError(e)) {
    const err = e instanceof Error ? e : new Error(String(e));
    return `pipefitter: internal error: ${err.message}\n${err.stack ?? ''}\n  please report this at the project's issue tracker`;
  }
  const lines = [`pipefitter: ${e.message}`];
  if (e.failure) lines.push(`  command: ${e.failure.command}`);
  if (e.hint) lines.push(`  hint: ${e.hint}`);
  // a command that only reads has nothing to roll back (rolledBack unset)
  if (
    (e.code === 'E_STEP_FAILED' ||
      e.code === 'E_INTERRUPTED' ||
      e.code === 'E_NOT_CONFIRMED' ||
      e.code === 'E_VERIFY_FAILED') &&
    e.rolledBack !== undefined
  )
    lines.push(`  rolled back: ${e.rolledBack ?? 0} step(s) undone, host and container are as before`);
  if (e.issues && e.issues.length > 1)
    for (const i of e.issues.slice(1))
      lines.push(
        `  ${i.file}:${i.line}:${i.col}: ${i.path ? `${i.path}: ` : ''}${i.message}${i.hint ? ` (${i.hint})` : ''}`,
      );
  if (e.code === 'E_ROLLBACK_FAILED') {
    lines.push('  rollback failed; these undo commands did not complete:');
    for (const l of e.leftovers ?? []) lines.push(`    ${l}`);
  }
  return lines.join('\n');
};
