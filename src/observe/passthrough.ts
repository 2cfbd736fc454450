/**
 * A pass-through command that only reads (`ip route show`, `tc -s qdisc` inside a target): run it
 * and hand back what it printed. It changes nothing, so it is an observation, not an executor step.
 */
import { PipefitterError } from '../errors.js';
import { argumentHint, hintFor, isArgumentError } from '../exec/hints.js';
import type { Runner } from '../exec/runner.js';
import { argvOf } from '../render/ip.js';
import { netnsKey } from '../model/netns.js';
import type { Command } from '../model/step.js';

export interface CommandOutput {
  /** The command as run, with how it enters the namespace, shell-quoted. */
  readonly command: string;
  /** What it printed on stdout, as it printed it. */
  readonly stdout: string;
  /**
   * The tool's own JSON (`ip -j`, `tc -j`), parsed, when JSON was asked for and the tool has it
   * for this command (undefined: `stdout` is text).
   */
  readonly json?: unknown;
}

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

/**
 * Run `read` inside its namespace. With `jsonArgv` (the same command with the tool's `-j`), that
 * form is tried first; its output is kept when it parses as JSON (an empty output is `[]`), and
 * otherwise — the tool printed text, or refused `-j` — the plain command's text is the result.
 * A failure is E_STEP_FAILED (exit 1) with the command and its stderr; nothing was changed.
 * @example await readPassthrough(runner, step, { jsonArgv: ['ip', '-j', 'route', 'show'] })
 */
export const readPassthrough = async (
  runner: Runner,
  read: Command,
  opts: { readonly jsonArgv?: readonly string[] | undefined; readonly target?: string | undefined } = {},
): Promise<CommandOutput> => {
  const { jsonArgv } = opts;
  if (jsonArgv) {
    const j = await runner.run(jsonArgv, { netns: read.netns });
    if (!j.failed) {
      const text = j.stdout.trim();
      try {
        return {
          command: j.command,
          stdout: j.stdout,
          json: text === '' ? [] : (JSON.parse(text) as unknown),
        };
      } catch {
        // the tool has no JSON for this command and printed text
        return { command: j.command, stdout: j.stdout };
      }
    }
  }
  const r = await runner.run(argvOf(read), { netns: read.netns });
  if (!r.failed) return { command: r.command, stdout: r.stdout };
  const reason = r.reason ?? 'other';
  const what = `${read.describes} in ${opts.target ?? netnsKey(read.netns)}`;
  if (reason === 'tool-missing')
    throw new PipefitterError({
      code: 'E_TOOL_MISSING',
      message: `${what}: ${firstLine(r.stderr)}`,
      hint: 'install iproute2 (ip, tc) and util-linux (nsenter)',
    });
  const badArgs = isArgumentError(r.stderr, r.exitCode);
  throw new PipefitterError({
    // the tool refused its arguments: bad input (exit 2), not a failed step
    code: badArgs ? 'E_BAD_VALUE' : 'E_STEP_FAILED',
    message: `${what}: ${firstLine(r.stderr) || `exit code ${r.exitCode ?? '?'}`}; nothing was changed`,
    hint: badArgs
      ? argumentHint(read.describes, opts.target)
      : reason === 'not-found'
        ? `check the names in the command${opts.target ? `; \`pipefitter show ${opts.target}\` lists the interfaces there` : ''}`
        : hintFor(reason, read.describes),
    failure: {
      step: read.describes,
      netns: netnsKey(read.netns),
      command: r.command,
      exitCode: r.exitCode,
      stderr: r.stderr.trim(),
      reason,
    },
  });
};
