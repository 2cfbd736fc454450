/**
 * `pipefitter cni install`: the launcher a runtime runs as the plugin `pipefitter` — a POSIX sh
 * script that execs this node (its absolute path: a runtime's PATH is not a login shell's) on
 * the bundled CNI entry (dist/cli-bundle/cni.js). The CNI entry loads only what an operation
 * needs (src/cni/main.ts).
 */
import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { badInput } from '../errors.js';
import { CNI_ENTRY } from '../libexec.js';
import { shellQuote } from '../render/quote.js';
import { writeFileAtomic } from '../state/atomic.js';

export const DEFAULT_CNI_BIN_DIR = '/opt/cni/bin';

export interface CniInstallOptions {
  /** @default "/opt/cni/bin" */
  readonly binDir?: string | undefined;
}

export interface CniInstallResult {
  /** The launcher written. */
  readonly file: string;
  readonly node: string;
  readonly entry: string;
  /** The settings kept as the plugin's defaults (PINNED_ENV set at install). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The settings a launcher keeps from the shell that installed it. A runtime does not always run
 * the plugin with the environment it was started with — Podman's cleanup process (started by
 * conmon) runs DEL with none of it — so a DEL would look for the ADD's record in another state
 * directory, or with another backend. Each is kept as a default: a value the runtime passes wins.
 */
export const PINNED_ENV = [
  'PIPEFITTER_STATE_DIR',
  'PIPEFITTER_RUN_DIR',
  'PIPEFITTER_BACKEND',
  'PIPEFITTER_CNI_LOG',
] as const;

/** The pinned settings set (and not empty) in `env`, in PINNED_ENV's order. */
export const pinnedEnv = (env: NodeJS.ProcessEnv): [string, string][] =>
  PINNED_ENV.flatMap((k) => {
    const v = env[k];
    return v === undefined || v === '' ? [] : [[k, v] as [string, string]];
  });

/**
 * The launcher's text: each pinned setting as a default (`[ -n "${VAR:-}" ] || VAR=value`), then
 * node on the CNI entry.
 */
export const launcherText = (
  node: string,
  entry: string,
  env: readonly (readonly [string, string])[] = [],
): string =>
  [
    '#!/bin/sh',
    "# pipefitter's CNI plugin (written by `pipefitter cni install`)",
    ...env.map(([k, v]) => `[ -n "\${${k}:-}" ] || ${k}=${shellQuote(v)}; export ${k}`),
    `exec ${shellQuote(node)} ${shellQuote(entry)} "$@"`,
    '',
  ].join('\n');

/**
 * Write the launcher `BIN_DIR/pipefitter` (mode 0755), replacing one there.
 * @example await installCniPlugin({ binDir: '/opt/cni/bin' })
 */
export const installCniPlugin = async (opts: CniInstallOptions = {}): Promise<CniInstallResult> => {
  const dir = opts.binDir ?? DEFAULT_CNI_BIN_DIR;
  if (!dir.startsWith('/'))
    throw badInput(
      'E_BAD_VALUE',
      '--bin-dir',
      dir,
      'not an absolute path',
      "give the runtime's plugin directory, e.g. /opt/cni/bin",
    );
  if (
    !(await access(CNI_ENTRY, constants.R_OK).then(
      () => true,
      () => false,
    ))
  )
    throw badInput(
      'E_BAD_VALUE',
      'CNI entry',
      CNI_ENTRY,
      'not built',
      'run `npm run build` in the pipefitter checkout',
    );
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const file = `${dir.replace(/\/+$/, '')}/pipefitter`;
  const env = pinnedEnv(process.env);
  await writeFileAtomic(file, launcherText(process.execPath, CNI_ENTRY, env));
  await chmod(file, 0o755);
  return { file, node: process.execPath, entry: CNI_ENTRY, env: Object.fromEntries(env) };
};
