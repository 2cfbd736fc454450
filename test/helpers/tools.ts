/**
 * Tests ask the tool table (src/tools.json) for the programs they start. A missing one FAILS the
 * test, naming its package and the fix; it never skips it (a skip would hide that this machine
 * does not run the test at all). `npm test` installs every tool the table marks `usedBy: test`
 * (scripts/ensure.mjs test), the kernel VM lane those marked `vm`, so a failure here means the
 * machine was set up some other way, or PF_NO_INSTALL=1 was set, or the table lacks the mark.
 *
 * ```ts
 * test('NAT recipe', async (t) => {
 *   await needTools('nft', 'busybox');
 *   …
 * });
 * ```
 */
import { access, constants, mkdtemp, rm, symlink } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Tool, ToolUser } from '../../src/tools.js';
import { toolEntry } from '../../src/tools.js';

/** The lane this process runs in: the kernel VM lane sets PF_VM=1. */
export const lane = (): ToolUser => (process.env.PF_VM === '1' ? 'vm' : 'test');

const executable = (p: string): Promise<boolean> =>
  access(p, constants.X_OK).then(
    () => true,
    () => false,
  );

/**
 * Where `cmd` is: an absolute path as it is, a name on `path` (default: PATH) or in the sbin
 * directories, as scripts/ensure.mjs looks. Undefined when it is not installed.
 */
export const toolPath = async (cmd: string, path = process.env.PATH ?? ''): Promise<string | undefined> => {
  if (cmd.startsWith('/')) return (await executable(cmd)) ? cmd : undefined;
  for (const d of [...path.split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean))
    if (await executable(join(d, cmd))) return join(d, cmd);
  return undefined;
};

/** The table's entry, or an error naming what is wrong with the table. */
const entryFor = (cmd: string, user: ToolUser): Tool | string => {
  const t = toolEntry(cmd);
  if (!t) return `${cmd} is not in the tool table src/tools.json: add it, with its Debian package`;
  if (!t.usedBy?.includes(user))
    return `src/tools.json does not mark ${cmd} as used by "${user}" (usedBy), so \`scripts/ensure.mjs ${user === 'vm' ? 'ci' : user}\` does not install ${t.pkg ?? 'it'}: add "${user}" to its usedBy`;
  return t;
};

/** The message for a tool that is not installed: its package, and how it gets installed. */
export const notInstalledMessage = (t: Tool, user: ToolUser = lane()): string =>
  t.pkg === null
    ? `${t.cmd} is not installed`
    : `${t.cmd} is not installed (Debian package ${t.pkg}): \`${user === 'vm' ? 'node scripts/ensure.mjs ci' : 'npm test'}\` installs it (scripts/ensure.mjs), or run \`apt-get install ${t.pkg}\` as root`;

/** Problems with the tools `cmds` for this lane: not in the table, not marked, not installed. */
export const missingTools = async (cmds: readonly string[], user: ToolUser = lane()): Promise<string[]> => {
  const out: string[] = [];
  for (const cmd of cmds) {
    const t = entryFor(cmd, user);
    if (typeof t === 'string') out.push(t);
    else if (!(await toolPath(cmd))) out.push(notInstalledMessage(t, user));
  }
  return out;
};

/** Throw (failing the test) unless every tool in `cmds` is installed and in the table for this lane. */
export const needTools = async (...cmds: string[]): Promise<void> => {
  const problems = await missingTools(cmds);
  if (problems.length) throw new Error(problems.join('\n'));
};

/**
 * A PATH that holds exactly `cmds` (symlinks, in a directory of this run under /tmp): what a
 * machine without the other tools looks like to whatever looks programs up on PATH. remove()
 * deletes the directory.
 */
export const pathWith = async (
  cmds: readonly string[],
): Promise<{ path: string; remove(): Promise<void> }> => {
  const dir = await mkdtemp(`/tmp/pf-${process.env.PF_RUN_ID ?? 'norun'}-path-`);
  for (const c of cmds) {
    const at = await toolPath(c);
    if (!at) throw new Error(`pathWith: ${c} is not installed here`);
    await symlink(at, join(dir, c));
  }
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
};
