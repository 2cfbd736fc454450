/**
 * A temporary PIPEFITTER_STATE_DIR for one test: made under /tmp/pf-RUNID-… (which the leak
 * check watches), set in the environment, and when the test ends the old value is put back and
 * the directory removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';

export const tempStateDir = async (
  t: { after: (fn: () => Promise<void>) => void },
  label: string,
): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${process.env.PF_RUN_ID ?? 'x'}-${label}-`);
  const saved = process.env.PIPEFITTER_STATE_DIR;
  process.env.PIPEFITTER_STATE_DIR = dir;
  t.after(async () => {
    if (saved === undefined) delete process.env.PIPEFITTER_STATE_DIR;
    else process.env.PIPEFITTER_STATE_DIR = saved;
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
};
