/**
 * `pipefitter cni install`: the launcher a runtime runs as the plugin `pipefitter` — a POSIX sh
 * script. When a `pipefitter cni serve` runs in the launcher's network namespace with the same
 * settings, the launcher hands it the call over its socket (cni/wire.ts, through OpenBSD's nc,
 * found at install); otherwise it execs this node (its absolute path: a runtime's PATH is not a
 * login shell's) on the bundled CNI entry (dist/cli-bundle/cni.js), which loads only what an
 * operation needs (src/cni/main.ts).
 */
import { access, mkdir } from 'node:fs/promises';
import { accessSync, constants } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { badInput } from '../errors.js';
import { CNI_ENTRY } from '../libexec.js';
import { shellQuote } from '../render/quote.js';
import { writeFileAtomic } from '../state/atomic.js';
import { PINNED_ENV, WIRE_KEYS, WIRE_MAGIC } from '../cni/wire.js';
import { defaultCniSocket } from './cni-serve.js';

export { PINNED_ENV };

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
  /** Where the launcher hands calls to `pipefitter cni serve` (when one runs there). */
  readonly socket: string;
  /** The client it does it with; undefined when none was found (every call starts node). */
  readonly client: string | undefined;
}

/** The launcher's way to a `pipefitter cni serve`: its socket and the client that connects to it. */
export interface ServeRoute {
  readonly socket: string;
  /** An OpenBSD nc (`-U` Unix socket, `-N` shut the socket down at the end of stdin). */
  readonly client: string;
}

/** OpenBSD's nc (Debian's netcat-openbsd), by the name that package gives it, or undefined. */
export const findServeClient = (path = process.env.PATH ?? ''): string | undefined =>
  [...path.split(delimiter).filter((d) => d.startsWith('/')), '/usr/bin', '/bin']
    .map((d) => join(d, 'nc.openbsd'))
    .find((f) => {
      try {
        accessSync(f, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });

/** The pinned settings set (and not empty) in `env`, in PINNED_ENV's order. */
export const pinnedEnv = (env: NodeJS.ProcessEnv): [string, string][] =>
  PINNED_ENV.flatMap((k) => {
    const v = env[k];
    return v === undefined || v === '' ? [] : [[k, v] as [string, string]];
  });

/**
 * The launcher's text: each pinned setting as a default (`[ -n "${VAR:-}" ] || VAR=value`); with
 * a route to a server, the hand-over — only when the server's PID file names a process in this
 * network namespace (`-ef` compares the namespace files' device and inode, in the shell itself);
 * its reply's first line is the exit code, the rest stdout; a `-` line (settings differ), no
 * reply, or a parameter with a line break (the wire's lines could not carry it), and node runs
 * the call on the configuration already read — then node on the CNI entry.
 */
export const launcherText = (
  node: string,
  entry: string,
  env: readonly (readonly [string, string])[] = [],
  serve?: ServeRoute,
): string => {
  const run = `${shellQuote(node)} ${shellQuote(entry)} "$@"`;
  // the configuration is read by the shell itself, and the request written as a here-document
  // straight into nc: no process but nc's (a `cat` and a pipeline cost a Go plugin's whole start)
  const handOver = serve
    ? [
        '# a `pipefitter cni serve` in this network namespace answers the call; else node runs it',
        `sock=${shellQuote(serve.socket)}`,
        'if [ -S "$sock" ] && read -r pid 2>/dev/null <"$sock.pid" && [ -n "$pid" ] &&',
        '  [ /proc/self/ns/net -ef "/proc/$pid/ns/net" ]; then',
        "  nl='",
        "'",
        '  conf=',
        '  while IFS= read -r l; do conf=$conf$l$nl; done',
        '  conf=$conf$l',
        `  case ${WIRE_KEYS.map((k) => `\${${k}-}`).join('')} in`,
        '  *"$nl"*) ;; # a line break would end a parameter early: node runs the call',
        '  *)',
        `    reply=$(${shellQuote(serve.client)} -UN "$sock" 2>/dev/null <<EOF`,
        WIRE_MAGIC,
        ...WIRE_KEYS.map((k) => `${k}=\${${k}-}`),
        '',
        '$conf',
        'EOF',
        ')',
        '    case $reply in',
        '    [0-9]) exit "$reply" ;;',
        `    [0-9]"$nl"*) printf '%s\\n' "\${reply#*"$nl"}"; exit "\${reply%%"$nl"*}" ;;`,
        '    esac',
        '    ;;',
        '  esac',
        `  printf %s "$conf" | ${run}`,
        '  exit $?',
        'fi',
      ]
    : [];
  return [
    '#!/bin/sh',
    "# pipefitter's CNI plugin (written by `pipefitter cni install`)",
    ...env.map(([k, v]) => `[ -n "\${${k}:-}" ] || ${k}=${shellQuote(v)}; export ${k}`),
    ...handOver,
    `exec ${run}`,
    '',
  ].join('\n');
};

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
  const socket = defaultCniSocket();
  const client = findServeClient();
  await writeFileAtomic(
    file,
    launcherText(process.execPath, CNI_ENTRY, env, client === undefined ? undefined : { socket, client }),
  );
  await chmod(file, 0o755);
  return { file, node: process.execPath, entry: CNI_ENTRY, env: Object.fromEntries(env), socket, client };
};
