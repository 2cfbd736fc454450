/** Whether programs are installed here, looked up as the runner will start them. */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

const executable = (p: string): Promise<boolean> =>
  access(p, constants.X_OK).then(
    () => true,
    () => false,
  );

/** Where the system keeps administrators' programs, which a non-root PATH often lacks. */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'] as const;

/**
 * Where `cmd` is found: an absolute path as it is, a name on PATH (as execa and the command
 * starter look it up), else `offPath` when it is only in an sbin directory missing from PATH.
 */
export const locate = async (
  cmd: string,
  path = process.env.PATH ?? '/usr/bin:/bin',
): Promise<{ readonly at: string; readonly offPath?: true } | undefined> => {
  if (cmd.startsWith('/')) return (await executable(cmd)) ? { at: cmd } : undefined;
  const dirs = path.split(delimiter).filter(Boolean);
  for (const d of dirs) if (await executable(join(d, cmd))) return { at: join(d, cmd) };
  for (const d of SBIN_DIRS)
    if (!dirs.includes(d) && (await executable(join(d, cmd)))) return { at: join(d, cmd), offPath: true };
  return undefined;
};
