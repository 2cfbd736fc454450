/**
 * One CNI call, from the runtime's parameters and the configuration's text to the exit code and
 * what goes to stdout (SPEC.md section 2): run by the plugin executable (cni/main.ts) for its own
 * call and by `pipefitter cni serve` for each call a launcher hands it. Each operation's effects
 * load on first use, so VERSION and a refused configuration never load the attach machinery.
 */
import { appendFileSync } from 'node:fs';
import { parseCniEnv, parseCommand } from '../cni/env.js';
import { configVersion, decodeConfigText, parseNetConf } from '../cni/config.js';
import type { CniCommand } from '../cni/types.js';
import type { CniShared, CniVerb } from '../cni/verb.js';
import { CNI_ERROR, CniError } from '../cni/types.js';
import { LATEST_VERSION, isSupported, resultForVersion, versionResult } from '../cni/version.js';
import { cniErrorOf } from '../cni/failure.js';

export const VERBS: Record<Exclude<CniCommand, 'VERSION'>, () => Promise<{ readonly run: CniVerb }>> = {
  ADD: () => import('./cni-add.js'),
  DEL: () => import('./cni-del.js'),
  CHECK: () => import('./cni-check.js'),
  STATUS: () => import('./cni-status.js'),
  GC: () => import('./cni-gc.js'),
};

export interface CniCall {
  /** CNI_* (and the plugin's own settings, for the log file). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The configuration's text; a rejection is error 5 (I/O). */
  readonly stdin: () => Promise<string>;
  /** Where stdout's text goes. */
  readonly out: (text: string) => void;
  /** Where stderr's lines go. */
  readonly err: (text: string) => void;
  /** Who runs the call, for the log file's lines. @default this process's ID */
  readonly by?: string | undefined;
  /** What a resident server shares between calls. */
  readonly shared?: CniShared | undefined;
}

const document = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;

/**
 * The call's logger. Runtimes keep a plugin's stderr only when it fails, if at all: with
 * PIPEFITTER_CNI_LOG set to a file, every call also appends its log lines there, each with the
 * time, who ran it, the attachment (command, container ID, interface), and its outcome.
 */
const loggerOf = (call: CniCall): ((line: string) => void) => {
  const file = call.env.PIPEFITTER_CNI_LOG;
  const e = call.env;
  const who = `${call.by ?? process.pid} ${e.CNI_COMMAND ?? '-'} ${e.CNI_CONTAINERID ?? '-'} ${e.CNI_IFNAME ?? '-'}`;
  return (line) => {
    call.err(`pipefitter: ${line}\n`);
    if (file)
      try {
        appendFileSync(file, `${new Date().toISOString()} ${who}: ${line}\n`);
      } catch {
        // a log that cannot be written must not fail the operation
      }
  };
};

/** Runs one call; resolves to its exit code (0, or 1 with the spec's error object printed). */
export const runCniCall = async (call: CniCall): Promise<number> => {
  const { env } = call;
  const log = loggerOf(call);
  const logged = env.PIPEFITTER_CNI_LOG !== undefined && env.PIPEFITTER_CNI_LOG !== '';
  let version = LATEST_VERSION;
  try {
    const command = parseCommand(env);
    let text: string;
    try {
      text = await call.stdin();
    } catch (e) {
      throw new CniError(
        CNI_ERROR.ioFailure,
        `stdin: cannot read the network configuration (${(e as Error).message})`,
        'pass the configuration on stdin',
      );
    }
    if (command === 'VERSION') {
      // section 2: VERSION takes a JSON object with cniVersion; an empty stdin is taken as none
      call.out(
        document(versionResult(text.trim() === '' ? undefined : configVersion(decodeConfigText(text)))),
      );
      return 0;
    }
    try {
      const given = configVersion(decodeConfigText(text));
      if (given !== undefined && isSupported(given)) version = given;
    } catch {
      // reported below, by parseNetConf
    }
    const cniEnv = parseCniEnv(env);
    const conf = parseNetConf(text);
    version = conf.cniVersion;
    const verb = await VERBS[command]();
    // DEL and GC remove attachments, and with a bridge's last one its accept rule
    if (command === 'DEL' || command === 'GC') call.shared?.firewallTouched?.();
    const result = await verb.run(cniEnv, conf, log, call.shared).finally(() => {
      if (command === 'DEL' || command === 'GC') call.shared?.firewallTouched?.();
    });
    if (result !== undefined) call.out(document(resultForVersion(result, conf.cniVersion)));
    if (logged) log(`${conf.name}: done`);
    return 0;
  } catch (e) {
    const err = cniErrorOf(e);
    if (err.code === CNI_ERROR.failed && !(e instanceof CniError) && e instanceof Error && e.stack)
      log(e.stack);
    call.out(document(err.toObject(version)));
    if (logged) log(`failed with code ${err.code}: ${err.message}`);
    return 1;
  }
};
