/**
 * The Podman harness's own sweep (test/helpers/podman.ts sweepStalePodman): a test process
 * killed mid-test never runs its environment's cleanup, so conmon, the containers, their
 * cgroups and /tmp/pf-<run id>-podman-* stay; the leak check sweeps them. Only environments
 * whose owner is dead: a running test's environment is never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ResultPromise } from 'execa';
import { cgroupDirs, harnessProcesses, mountsUnder } from '../helpers/daemon-leftovers.js';
import { startKilledFixture } from '../helpers/owned-env.js';
import { startPodman, sweepStalePodman } from '../helpers/podman.js';
import { withSandbox } from '../helpers/sandbox.js';

const exists = async (path: string): Promise<boolean> =>
  (await stat(path).catch(() => undefined)) !== undefined;

/** test/fixtures/podman-killed.ts: once it is READY, its environment's dir and container. */
const killedTest = async (): Promise<{ child: ResultPromise; dir: string; pid: number }> => {
  const { child, fields } = await startKilledFixture('test/fixtures/podman-killed.ts');
  const [dir = '', pid = '0'] = fields;
  return { child, dir, pid: Number(pid) };
};

test('podman harness: the environment of a test process killed mid-test is swept with its container; a live one stays', (t) =>
  withSandbox(t, async (sb) => {
    const live = await startPodman(sb);
    const l = await live.run(sb.name('live'));
    const killed = await killedTest();
    t.after(() => {
      killed.child.kill('SIGKILL');
    });
    const stale = killed.dir;
    assert.match(basename(stale), /^pf-.+-podman-/);

    const first = await sweepStalePodman();
    assert.ok(
      !first.includes(stale) && !first.includes(live.dir),
      'both owners run: nothing of theirs swept',
    );
    assert.equal(await exists(`/proc/${killed.pid}`), true, "the running test's container is left alone");

    const left = await harnessProcesses(stale);
    assert.ok(left.includes(killed.pid), `the container's process is the environment's: ${left.join(' ')}`);
    const cgroups = [];
    for (const d of await cgroupDirs(basename(stale))) if (await exists(d)) cgroups.push(d);
    assert.ok(cgroups.length > 0, 'the environment has cgroups to remove');
    killed.child.kill('SIGKILL');
    await killed.child;
    assert.equal(await exists(`/proc/${killed.pid}`), true, 'its container outlives the killed test');

    const swept = await sweepStalePodman();
    assert.ok(swept.includes(stale), `swept: ${swept.join(' ')}`);
    assert.ok(!swept.includes(live.dir), 'the live environment is not swept');
    // nothing of the stale one is left: processes (conmon, the container), mounts, cgroups, dir
    assert.deepEqual(await harnessProcesses(stale), [], 'processes');
    assert.equal(await exists(`/proc/${killed.pid}`), false, "the container's process");
    assert.deepEqual(await mountsUnder(stale), [], 'mounts');
    for (const d of cgroups) assert.equal(await exists(d), false, d);
    assert.equal(await exists(stale), false, stale);
    // the live one runs on, and a second sweep leaves it too
    assert.equal((await live.inspect(l.name)).running, true);
    assert.ok(!(await sweepStalePodman()).includes(live.dir));
    assert.equal(await exists(join(live.dir, 'owner')), true);
  }));
