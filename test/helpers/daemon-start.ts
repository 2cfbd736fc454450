/**
 * Why a daemon a test helper starts (dnsmasq, dockerd, the Open vSwitch daemons) did not start,
 * in one shape: what did not start, the step, and then whichever of these is known — the program
 * that is not installed (with its package, from the tool table), the exit code or signal, its
 * stderr, the tail of its log.
 *
 *   dnsmasq did not start: dnsmasq is not installed (Debian package dnsmasq-base): …
 *     step: start the DHCP server
 *     command: dnsmasq --conf-file=/dev/null …
 */
import { notInstalled } from '../../src/exec/missing.js';
import { shellJoin } from '../../src/render/quote.js';
import { toolEntry } from '../../src/tools.js';
import { notInstalledMessage } from './tools.js';

export interface StartFailure {
  /** What did not start, e.g. "dnsmasq", "ovsdb-server". */
  readonly daemon: string;
  /** The step, in words: "create the database (ovsdb-tool create)". */
  readonly step: string;
  readonly argv: readonly string[];
  readonly exitCode?: number | undefined;
  readonly signal?: string | undefined;
  /** The program itself was not found (ENOENT). */
  readonly enoent?: boolean | undefined;
  readonly stderr?: string | undefined;
  /** The daemon's own log, its last lines. */
  readonly log?: string | undefined;
  /** Why, when it is neither a missing program nor an exit: "did not bind UDP port 67 within 5 s". */
  readonly why?: string | undefined;
}

const indent = (s: string): string => s.trim().split('\n').join('\n    ');

/** The program `argv` misses, as the tool table tells it ("dnsmasq is not installed (Debian package …"). */
export const missingProgram = (f: StartFailure): string | undefined => {
  const missing = notInstalled(f.argv, {
    exitCode: f.exitCode,
    stderr: f.stderr ?? '',
    enoent: f.enoent === true,
  });
  if (!missing) return undefined;
  return missing
    .map((m) => {
      const t = toolEntry(m);
      return t ? notInstalledMessage({ ...t, cmd: m }) : `${m} is not installed (and not in src/tools.json)`;
    })
    .join('; ');
};

export const startFailed = (f: StartFailure): Error => {
  const missing = missingProgram(f);
  const ended =
    f.signal !== undefined
      ? `killed by ${f.signal}`
      : f.exitCode !== undefined
        ? `exited with code ${f.exitCode}`
        : undefined;
  const why = missing ?? (f.why ? `${f.why}${ended ? ` (${ended})` : ''}` : (ended ?? 'unknown'));
  const lines = [`${f.daemon} did not start: ${why}`, `  step: ${f.step}`, `  command: ${shellJoin(f.argv)}`];
  if (ended && missing) lines.push(`  ${ended}`);
  // a daemon whose output goes to its log: shown once, as the log
  if (f.stderr?.trim() && !f.log?.includes(f.stderr.trim())) lines.push(`  stderr:\n    ${indent(f.stderr)}`);
  if (f.log?.trim()) lines.push(`  log (last lines):\n    ${indent(f.log)}`);
  return new Error(lines.join('\n'));
};

/** The last `n` lines of a text. */
export const tail = (text: string, n = 15): string => text.trim().split('\n').slice(-n).join('\n');
