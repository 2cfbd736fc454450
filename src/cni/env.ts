/**
 * The protocol parameters (SPEC.md section 2, "Parameters") read from the environment, and
 * checked per operation: a missing or invalid one is error 4 naming the variable. Pure: the
 * environment is passed in.
 */
import { parseIfName } from '../names.js';
import { isPipefitterError } from '../errors.js';
import type { CniCommand } from './types.js';
import { CNI_COMMANDS, CNI_ERROR, CniError } from './types.js';

export interface CniEnv {
  readonly command: CniCommand;
  /** Required for ADD, DEL, CHECK. */
  readonly containerId?: string | undefined;
  /** A namespace path; required for ADD and CHECK, optional for DEL (the namespace may be gone). */
  readonly netns?: string | undefined;
  readonly ifname?: string | undefined;
  /** CNI_ARGS as key/value pairs, in order. */
  readonly args: readonly (readonly [string, string])[];
  /** CNI_PATH split on ':' (empty entries dropped). */
  readonly path: readonly string[];
}

/** Which variables each operation needs (section 2, each operation's "Required environment parameters"). */
const REQUIRED: Record<CniCommand, readonly ('CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH')[]> =
  {
    ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
    CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
    GC: ['CNI_PATH'],
    STATUS: [],
    VERSION: [],
  };

const invalid = (name: string, value: string | undefined, problem: string, fix: string): CniError =>
  new CniError(
    CNI_ERROR.invalidEnv,
    value === undefined ? `${name}: ${problem}` : `${name} ${JSON.stringify(value)}: ${problem}`,
    fix,
  );

/** The operation alone (VERSION needs nothing else; an error object needs it to be printed at all). */
export const parseCommand = (env: Readonly<Record<string, string | undefined>>): CniCommand => {
  const c = env.CNI_COMMAND;
  if (c === undefined || c === '')
    throw invalid('CNI_COMMAND', undefined, 'not set', `set it to one of ${CNI_COMMANDS.join(', ')}`);
  if (!(CNI_COMMANDS as readonly string[]).includes(c))
    throw invalid('CNI_COMMAND', c, 'unknown operation', `set it to one of ${CNI_COMMANDS.join(', ')}`);
  return c as CniCommand;
};

/** Container ids: an alphanumeric, then alphanumerics, `_`, `.`, `-` (section 3, "Attachment Parameters"). */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** "FOO=BAR;ABC=123" → pairs; an entry without "=" or with an empty key is error 4. */
export const parseCniArgs = (text: string): (readonly [string, string])[] => {
  if (text === '') return [];
  return text
    .split(';')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0)
        throw invalid(
          'CNI_ARGS',
          text,
          `"${p}" is not KEY=VALUE`,
          'separate KEY=VALUE pairs with ";", e.g. FOO=BAR;ABC=123',
        );
      return [p.slice(0, eq), p.slice(eq + 1)] as const;
    });
};

/**
 * Read and check the parameters for the operation in CNI_COMMAND.
 * @throws CniError 4 naming the variable that is missing or invalid
 */
export const parseCniEnv = (env: Readonly<Record<string, string | undefined>>): CniEnv => {
  const command = parseCommand(env);
  const need = REQUIRED[command];
  const get = (name: 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH'): string | undefined => {
    const v = env[name];
    if ((v === undefined || v === '') && need.includes(name))
      throw invalid(
        name,
        undefined,
        `not set (required for ${command})`,
        `the runtime sets ${name}; set it when running the plugin by hand`,
      );
    return v === '' ? undefined : v;
  };
  const containerId = get('CNI_CONTAINERID');
  if (containerId !== undefined && !CONTAINER_ID.test(containerId))
    throw invalid(
      'CNI_CONTAINERID',
      containerId,
      'not a container id',
      'start with a letter or digit, then letters, digits, "_", "." or "-"',
    );
  const netns = get('CNI_NETNS');
  if (netns !== undefined && (!netns.startsWith('/') || netns.includes('\0')))
    throw invalid(
      'CNI_NETNS',
      netns,
      'not an absolute path',
      'give the network namespace file, e.g. /run/netns/NAME',
    );
  const ifname = get('CNI_IFNAME');
  if (ifname !== undefined)
    try {
      parseIfName(ifname, 'CNI_IFNAME');
    } catch (e) {
      if (!isPipefitterError(e)) throw e;
      throw invalid(
        'CNI_IFNAME',
        ifname,
        e.message.replace(/^CNI_IFNAME( "[^"]*")?: /, ''),
        e.hint ?? 'use 1-15 bytes, no "/", ":" or spaces',
      );
    }
  const path = (get('CNI_PATH') ?? '').split(':').filter((p) => p !== '');
  return { command, containerId, netns, ifname, args: parseCniArgs(env.CNI_ARGS ?? ''), path };
};
