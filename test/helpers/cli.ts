/** Run the built CLI (bin/pipefitter.js → dist/) as a user would. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { execa } from 'execa';

const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'bin/pipefitter.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const cli = async (args: string[], env: Record<string, string> = {}): Promise<CliResult> => {
  if (!existsSync(resolve(ROOT, 'dist/cli/main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  const r = await execa('node', [BIN, ...args], { reject: false, env });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
};

/**
 * The arguments of util-linux `script` that run ARGV on a new pseudo-terminal (stdin, stdout and
 * stderr all that terminal; script's own stdin is typed on it, its stdout is what was printed),
 * exiting with ARGV's exit code.
 */
export const onTtyArgs = (argv: readonly string[]): string[] => [
  '-qfec',
  argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' '),
  '/dev/null',
];
