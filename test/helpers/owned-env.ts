/**
 * Test environments owned by a test process, and their removal: a directory
 * /tmp/pf-<run id>-<kind>-<rand> whose `owner` file names the process that made it (PID and start
 * time). When that process was killed mid-test its cleanup never ran; a later sweep tells so by
 * the owner (gone, or its PID reused by another process) and removes what the environment left:
 * processes, mounts, cgroups, the directory. Used by the Podman harness (test/helpers/podman.ts)
 * and the containerd test's environment (test/helpers/containerd-env.ts); the Docker harness
 * (test/helpers/docker.ts) shares the removal steps.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ResultPromise } from 'execa';
import { execa } from 'execa';
import { cgroupDirs, mountsUnder, removeCgroup, terminate, unmountUnder } from './daemon-leftovers.js';
import { runId } from './sandbox.js';

const OWNER = 'owner';

/** A process's start time (clock ticks after boot): with its PID, names it across PID reuse. */
export const startTime = async (pid: number): Promise<string | undefined> => {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return st ? st.slice(st.lastIndexOf(')') + 2).split(' ')[19] : undefined;
};

/** A new /tmp/pf-<run id>-KIND-<rand> owned by this process (`owner` written before anything else). */
export const makeOwnedDir = async (kind: string): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${runId}-${kind}-`);
  await writeFile(join(dir, OWNER), `${process.pid} ${await startTime(process.pid)}\n`);
  return dir;
};

/** The cgroup this process is in (cgroupfs: the containers' parent goes under it). */
export const ownCgroup = async (): Promise<string> => {
  const lines = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').filter(Boolean);
  const line = lines.find((l) => l.split(':')[1]?.split(',').includes('memory')) ?? lines[0] ?? '0::/';
  return line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
};

/** A cleanup step that runs even when one before it failed: its failure goes to `errors`. */
export const attemptInto =
  (errors: string[]) =>
  async (what: string, f: () => Promise<unknown>): Promise<void> => {
    await f().catch((e: unknown) => errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`));
  };

/** Unmount everything under `dir`; throws naming what is still mounted. */
export const unmountChecked = async (dir: string): Promise<void> => {
  await unmountUnder(dir);
  const m = await mountsUnder(dir);
  if (m.length) throw new Error(`still mounted: ${m.join(' ')}`);
};

/** Remove the cgroups named after `dir`. */
export const removeCgroups = async (dir: string): Promise<void> => {
  for (const d of await cgroupDirs(basename(dir))) await removeCgroup(d);
};

/**
 * End the environment's `processes`, unmount, remove its cgroups and, when all that worked, the
 * directory (never rm through a mount). Failures go to `errors`.
 */
export const removeOwnedDir = async (
  dir: string,
  processes: (dir: string) => Promise<number[]>,
  errors: string[],
): Promise<void> => {
  const attempt = attemptInto(errors);
  await attempt('end processes', async () => terminate(await processes(dir), 3_000));
  await attempt('unmount', () => unmountChecked(dir));
  await attempt('remove cgroups', () => removeCgroups(dir));
  if (errors.length === 0) await attempt('remove dir', () => rm(dir, { recursive: true, force: true }));
};

export interface SweepOptions {
  /** The environment's processes (to tell whether one without an owner file is in use). */
  readonly processes: (dir: string) => Promise<number[]>;
  /** Removes one environment, its failures going to `errors`. */
  readonly remove: (dir: string, errors: string[]) => Promise<void>;
}

/**
 * Remove the environments of KIND (of any run) whose owning test process is dead. Returns the
 * directories swept, so a leak check can fail on them. One whose owner still runs (the same PID
 * with the same start time) is left alone, and one without an owner file that is younger than a
 * minute or has processes: being made right now, or made by a harness that wrote none (an older
 * checkout running at the same time).
 * @throws naming the environment and what could not be removed
 */
export const sweepStaleOwned = async (kind: string, o: SweepOptions): Promise<string[]> => {
  const pattern = new RegExp(`^pf-[^/]+-${kind}-[^/]+$`);
  const swept: string[] = [];
  for (const e of await readdir('/tmp')) {
    if (!pattern.test(e)) continue;
    const dir = join('/tmp', e);
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const owner = (await readFile(join(dir, OWNER), 'utf8').catch(() => '')).trim();
    if (owner === '' && (Date.now() - st.mtimeMs < 60_000 || (await o.processes(dir)).length > 0)) continue;
    const [pid = '0', started] = owner.split(' ');
    if (Number(pid) > 0 && started !== undefined && (await startTime(Number(pid))) === started) continue;
    const errors: string[] = [];
    await o.remove(dir, errors);
    if (errors.length) throw new Error(`${kind} sweep of ${dir} incomplete:\n${errors.join('\n')}`);
    swept.push(dir);
  }
  return swept;
};

/**
 * A test process to be killed (test/fixtures/*-killed.ts, run with node as a test file is):
 * resolves once it prints `READY FIELD…`, with those fields.
 */
export const startKilledFixture = async (
  fixture: string,
): Promise<{ child: ResultPromise; fields: string[] }> => {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = execa('node', ['--import', 'tsx', '--import', './test/setup.ts', fixture], {
    env,
    extendEnv: false,
    reject: false,
    buffer: false,
  });
  let out = '';
  const fields = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the killed test did not get ready: ${out}`)), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^READY (.+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.split(' '));
      }
    });
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    void child.then((r) => reject(new Error(`the killed test ended early (${r.exitCode}): ${out}`)));
  });
  return { child, fields };
};
