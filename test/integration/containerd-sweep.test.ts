/**
 * The sweep of a killed containerd test's leftovers (test/helpers/containerd-env.ts): a test
 * process killed with SIGKILL never runs its `finally`, so its conflist in /etc/cni/net.d, its
 * plugin links in /opt/cni/bin, containerd and its environment in /tmp stay; the leak check
 * sweeps them once the owner is dead. A live test's environment, and a recorded path that is
 * someone else's by now, are never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, readlink, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { execa } from 'execa';
import {
  hostFilesOf,
  makeContainerdEnvironment,
  makeHostFile,
  removeHostFiles,
  sweepStaleContainerd,
} from '../helpers/containerd-env.js';
import { harnessProcesses } from '../helpers/daemon-leftovers.js';
import { startKilledFixture } from '../helpers/owned-env.js';
import { runId, withSandbox } from '../helpers/sandbox.js';

const exists = async (path: string): Promise<boolean> =>
  (await lstat(path).catch(() => undefined)) !== undefined;

/** test/fixtures/containerd-killed.ts, once it is READY. */
const killedTest = async (): Promise<{ child: ResultPromise; dir: string; daemon: number; tag: string }> => {
  const { child, fields } = await startKilledFixture('test/fixtures/containerd-killed.ts');
  const [dir = '', daemon = '0', tag = ''] = fields;
  return { child, dir, daemon: Number(daemon), tag };
};

test("containerd sweep: a killed test's conflist, plugin links, daemon and environment go; a live test's and a replaced path stay", (t) =>
  withSandbox(t, async () => {
    // the live test's environment first: it makes the CNI directories when they are missing
    const live = await makeContainerdEnvironment();
    const liveLink = `/opt/cni/bin/pf-${runId}-sweep-live-${process.pid}`;
    for (const path of ['/opt/cni', '/opt/cni/bin']) await makeHostFile(live, { kind: 'dir', path });
    await makeHostFile(live, { kind: 'link', path: liveLink, target: join(live, 'bin/pipefitter') });
    const killed = await killedTest();
    const conflist = `/etc/cni/net.d/99-${killed.tag}.conflist`;
    const links = [`/opt/cni/bin/${killed.tag}`, `/opt/cni/bin/${killed.tag}-other`];
    t.after(async () => {
      killed.child.kill('SIGKILL');
      for (const p of [conflist, ...links]) await unlink(p).catch(() => undefined);
      await removeHostFiles(live);
      await rm(live, { recursive: true, force: true });
    });
    assert.deepEqual(
      (await hostFilesOf(killed.dir)).map((f) => f.path),
      [conflist, ...links],
      'the killed test recorded what it made (the directories were there already)',
    );
    for (const p of [conflist, ...links]) assert.ok(await exists(p), p);
    assert.ok(
      (await harnessProcesses(killed.dir)).includes(killed.daemon),
      "its daemon is the environment's",
    );

    const first = await sweepStaleContainerd();
    assert.ok(!first.includes(killed.dir) && !first.includes(live), 'both owners run: nothing swept');
    assert.ok(await exists(conflist));

    killed.child.kill('SIGKILL');
    await killed.child;
    assert.ok(await exists(`/proc/${killed.daemon}`), 'its daemon outlives the killed test');
    // a recorded path someone else has made anew since is not the killed test's any more
    await unlink(links[1]!);
    await symlink('/nonexistent/someone-else', links[1]!);

    const swept = await sweepStaleContainerd();
    assert.deepEqual(swept, [killed.dir], "the dead owner's environment alone is swept");
    assert.equal(await exists(conflist), false, conflist);
    assert.equal(await exists(links[0]!), false, links[0]);
    assert.equal(await readlink(links[1]!), '/nonexistent/someone-else', 'the replaced link stays');
    assert.equal(await exists(`/proc/${killed.daemon}`), false, 'its daemon is ended');
    assert.equal(await exists(killed.dir), false, killed.dir);
    // the live one is untouched, also by a second sweep
    assert.deepEqual(await sweepStaleContainerd(), []);
    assert.equal(await readlink(liveLink), join(live, 'bin/pipefitter'));
    assert.ok(await exists(join(live, 'owner')));

    // the live test's own cleanup takes its link, and the directories it made once empty
    await unlink(links[1]!);
    const removed = await removeHostFiles(live);
    assert.ok(removed.includes(liveLink), removed.join(' '));
    assert.equal(await exists(liveLink), false);
    const { stdout } = await execa('ls', ['-A', '/etc/cni/net.d']);
    assert.ok(!stdout.includes(killed.tag), stdout);
  }));
