/**
 * The CNI plugin executable (`pipefitter cni install` puts a launcher for it in the runtime's
 * plugin directory). SPEC.md section 2: the operation and the attachment parameters come in the
 * environment, the network configuration on stdin; the result (or the error object, with a
 * non-zero exit) goes to stdout, logs to stderr.
 *
 * Start-up time matters (the runtime waits on every ADD): this file loads only the pure
 * decoding modules; each operation's effects load by dynamic import, so VERSION and a refused
 * configuration never load the attach machinery.
 */
import { appendFileSync } from 'node:fs';
import { parseCniEnv, parseCommand } from './env.js';
import { configVersion, decodeConfigText, parseNetConf } from './config.js';
import type { CniCommand } from './types.js';
import type { CniVerb } from './verb.js';
import { CNI_ERROR, CniError } from './types.js';
import { LATEST_VERSION, isSupported, resultForVersion, versionResult } from './version.js';
import { cniErrorOf } from './failure.js';

const VERBS: Record<Exclude<CniCommand, 'VERSION'>, () => Promise<{ readonly run: CniVerb }>> = {
  ADD: () => import('../api/cni-add.js'),
  DEL: () => import('../api/cni-del.js'),
  CHECK: () => import('../api/cni-check.js'),
  STATUS: () => import('../api/cni-status.js'),
  GC: () => import('../api/cni-gc.js'),
};

const readStdin = async (): Promise<string> => {
  try {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    throw new CniError(
      CNI_ERROR.ioFailure,
      `stdin: cannot read the network configuration (${(e as Error).message})`,
      'pass the configuration on stdin',
    );
  }
};

const print = (doc: unknown): void => void process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
/**
 * Runtimes keep a plugin's stderr only when it fails, if at all: with PIPEFITTER_CNI_LOG set to a
 * file, every invocation also appends its log lines there, each with the time, the process and
 * the attachment (command, container ID, interface), and its outcome.
 */
const logFile = process.env.PIPEFITTER_CNI_LOG;
const who = `${process.pid} ${process.env.CNI_COMMAND ?? '-'} ${process.env.CNI_CONTAINERID ?? '-'} ${process.env.CNI_IFNAME ?? '-'}`;
const log = (line: string): void => {
  process.stderr.write(`pipefitter: ${line}\n`);
  if (logFile)
    try {
      appendFileSync(logFile, `${new Date().toISOString()} ${who}: ${line}\n`);
    } catch {
      // a log that cannot be written must not fail the operation
    }
};

/** Runs one invocation; resolves to the exit code. */
export const runCni = async (env: NodeJS.ProcessEnv = process.env): Promise<number> => {
  let version = LATEST_VERSION;
  try {
    const command = parseCommand(env);
    const text = await readStdin();
    if (command === 'VERSION') {
      // section 2: VERSION takes a JSON object with cniVersion; an empty stdin is taken as none
      print(versionResult(text.trim() === '' ? undefined : configVersion(decodeConfigText(text))));
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
    const result = await verb.run(cniEnv, conf, log);
    if (result !== undefined) print(resultForVersion(result, conf.cniVersion));
    if (logFile) log(`${conf.name}: done`);
    return 0;
  } catch (e) {
    const err = cniErrorOf(e);
    if (err.code === CNI_ERROR.failed && !(e instanceof CniError) && e instanceof Error && e.stack)
      log(e.stack);
    print(err.toObject(version));
    if (logFile) log(`failed with code ${err.code}: ${err.message}`);
    return 1;
  }
};

runCni().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    log(String(e));
    process.exitCode = 1;
  },
);
