/**
 * Running the built CNI entry (dist/cli-bundle/cni.js) directly as a runtime would: CNI_* in the
 * environment, the configuration on stdin, the result or error object read from stdout.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { execa } from 'execa';

export const CNI_ENTRY = resolve(import.meta.dirname, '../../dist/cli-bundle/cni.js');

export interface CniRun {
  readonly code: number;
  /** stdout parsed (undefined when empty). */
  readonly out: Record<string, unknown> | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export const runCni = async (
  env: Record<string, string | undefined>,
  stdin: string,
  extra: Record<string, string> = {},
): Promise<CniRun> => {
  assert.ok(existsSync(CNI_ENTRY), 'dist/ is missing: run `npm run build` first (npm test does)');
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  const r = await execa('node', [CNI_ENTRY], {
    input: stdin,
    env: { ...clean, ...extra },
    extendEnv: false,
    reject: false,
  });
  const stdout = String(r.stdout);
  let out: Record<string, unknown> | undefined;
  if (stdout.trim() !== '') out = JSON.parse(stdout) as Record<string, unknown>; // one document, nothing else
  return { code: r.exitCode ?? -1, out, stdout, stderr: String(r.stderr) };
};

/**
 * An error run: exit non-zero and the spec's error object (cniVersion, code, msg, and the fix in
 * `details` unless `fix` is false) on stdout.
 */
export const expectCniError = (r: CniRun, code: number, msg: RegExp, what: string, fix = true): void => {
  assert.notEqual(r.code, 0, `${what}: exit non-zero`);
  assert.equal(r.out?.code, code, `${what}: code ${code}: ${r.stdout}\n${r.stderr}`);
  assert.match(String(r.out?.msg), msg, what);
  assert.equal(typeof r.out?.cniVersion, 'string', what);
  if (fix) assert.ok(r.out?.details, `${what}: a fix is given`);
};
