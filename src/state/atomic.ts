/**
 * Atomic file replacement for pipefitter's state files: the new text goes to a temporary file
 * beside the old one, is fsynced and renamed over it, so a reader sees the old or the new file,
 * never half of one. The temporary file is named `.NAME.PID.RANDOM.tmp`: a writer killed between
 * writing and renaming leaves one, and the next write to that directory removes it once its
 * process is gone. Readers only ever read `*.json` (and IPAM its one file), never these.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** `.NAME.PID.RANDOM.tmp`, and the older `NAME.PID.tmp` of earlier versions. */
const TEMP = [/^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/, /^.+\.(\d+)\.tmp$/];

/** A writer in another PID namespace looks dead from here: its file is left while it is young. */
const YOUNG_MS = 60_000;

export const tempFileFor = (file: string): string =>
  `${dirname(file)}/.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

/** Is process `pid` there (signal 0: EPERM is there, and someone else's)? */
export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM';
  }
};

/**
 * Remove the temporary files in `dir` left by writers that died before renaming them (their
 * process is gone, and the file is not from the last minute by the wall clock either way).
 * @returns the names removed
 */
export const removeStaleTemps = async (dir: string): Promise<string[]> => {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP.map((re) => re.exec(name)).find((x) => x !== null);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || (pid > 0 && pid <= 0x3fffffff && pidAlive(pid))) continue;
    const s = await stat(`${dir}/${name}`).catch(() => undefined);
    if (!s?.isFile() || Math.abs(Date.now() - s.mtimeMs) < YOUNG_MS) continue;
    await rm(`${dir}/${name}`, { force: true });
    removed.push(name);
  }
  return removed;
};

/**
 * Replace `file` with `text` (mode 0600). Durably by default: fsync of the file and of its
 * directory. `durable: false` keeps the atomic rename and drops both fsyncs, for a file whose
 * worth does not outlive the machine (one describing kernel state a power loss takes with it):
 * a killed writer loses nothing already written either way.
 */
export const writeFileAtomic = async (
  file: string,
  text: string,
  opts: { readonly durable?: boolean } = {},
): Promise<void> => {
  const durable = opts.durable ?? true;
  const dir = dirname(file);
  await removeStaleTemps(dir);
  const tmp = tempFileFor(file);
  try {
    const h = await open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(text);
      if (durable) await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (!durable) return;
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
};
