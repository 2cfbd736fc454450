/**
 * The Podman harness's own sweep (test/helpers/podman.ts sweepStalePodman): a test process
 * killed mid-test never runs its environment's cleanup, so conmon, the containers, their
 * cgroups and /tmp/pf-<run id>-podman-* stay; the leak check sweeps them. Only environments
 * whose owner is dead: a running test's environment is never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { cgroupDirs, harnessProcesses, mountsUnder } from '../helpers/daemon-leftovers.js';
import { startPodman, sweepStalePodman } from '../helpers/podman.js';
import { withSandbox } from '../helpers/sandbox.js';

const startTime = async (pid: number): Promise<string> => {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8');
  return st.slice(st.lastIndexOf(')') + 2).split(' ')[19] ?? '';
};

const exists = async (path: string): Promise<boolean> =>
  (await stat(path).catch(() => undefined)) !== undefined;

test('podman harness: an environment whose test process died is swept with its containers; a live one stays', (t) =>
  withSandbox(t, async (sb) => {
    const stale = await startPodman(sb);
    const live = await startPodman(sb);
    const s = await stale.run(sb.name('stale'));
    const l = await live.run(sb.name('live'));
    // the stale one's owner: a process that runs, then dies as a test process killed mid-test does
    const owner = execa('sleep', ['600']);
    const ownerPid = owner.pid ?? 0;
    await writeFile(join(stale.dir, 'owner'), `${ownerPid} ${await startTime(ownerPid)}\n`);

    const first = await sweepStalePodman();
    assert.ok(
      !first.includes(stale.dir) && !first.includes(live.dir),
      'both owners run: nothing of theirs swept',
    );
    assert.equal((await stale.inspect(s.name)).running, true);

    const left = await harnessProcesses(stale.dir);
    assert.ok(left.includes(s.pid), `the container's process is the environment's: ${left.join(' ')}`);
    const cgroups = [];
    for (const d of await cgroupDirs(basename(stale.dir))) if (await exists(d)) cgroups.push(d);
    assert.ok(cgroups.length > 0, 'the environment has cgroups to remove');
    owner.kill('SIGKILL');
    await owner.catch(() => undefined);

    const swept = await sweepStalePodman();
    assert.ok(swept.includes(stale.dir), `swept: ${swept.join(' ')}`);
    assert.ok(!swept.includes(live.dir), 'the live environment is not swept');
    // nothing of the stale one is left: processes (conmon, the container), mounts, cgroups, dir
    assert.deepEqual(await harnessProcesses(stale.dir), [], 'processes');
    assert.equal(await exists(`/proc/${s.pid}`), false, "the container's process");
    assert.deepEqual(await mountsUnder(stale.dir), [], 'mounts');
    for (const d of cgroups) assert.equal(await exists(d), false, d);
    assert.equal(await exists(stale.dir), false, stale.dir);
    // the live one runs on, and a second sweep finds nothing more of ours
    assert.equal((await live.inspect(l.name)).running, true);
    assert.equal(await exists(join(live.dir, 'owner')), true);
    const again = await sweepStalePodman();
    assert.ok(!again.includes(live.dir));
    await stale.cleanup(); // swept already: does nothing (a podman run would make the storage again)
    assert.equal(await exists(stale.dir), false);
  }));
