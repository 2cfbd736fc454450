// Self-test of test/helpers/docker.ts: real containers come up with a usable eth0, and stop()
// leaves no process, mount, cgroup, link, sysctl, iptables rule or file behind.
import * as assert from 'node:assert/strict';
import { access, readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { dockerSkipReason, harnessProcesses, startDocker } from '../helpers/docker.js';
import { cgroupDirs, mountsUnder } from '../helpers/daemon-leftovers.js';
import { captureNetnsState, diffNetnsState } from '../helpers/netns-state.js';

// Root, PF_SANDBOX set and this process inside that netns, dockerd and friends, static busybox.
const skip = await dockerSkipReason();
if (skip) console.log(`# docker harness self-test skipped: ${skip}`);

interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

const inNetns = async (pid: number, args: string[]): Promise<unknown> =>
  JSON.parse(
    (await execa('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'ip', '-j', ...args])).stdout,
  ) as unknown;

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Paths where dockerd/containerd write by default; none may appear or change. */
const HOST_PATHS = [
  '/etc/docker',
  '/var/lib/docker',
  '/var/lib/containerd',
  '/run/docker',
  '/run/containerd',
  '/opt/containerd',
  '/run/mount',
];
const hostFootprint = async () =>
  Promise.all(
    HOST_PATHS.map(
      async (p) =>
        `${p}: ${(await exists(p)) ? (await readdir(p).catch(() => ['<file>'])).sort().join(',') : '-'}`,
    ),
  ).then(async (l) => [
    ...l,
    `keys: ${(await readFile('/proc/sys/kernel/keys/root_maxkeys', 'utf8')).trim()}`,
  ]);

void test(
  'docker harness: real containers in the sandbox, nothing left after stop()',
  { skip, timeout: 180_000 },
  async (t) => {
    const netnsBefore = await captureNetnsState();
    const hostBefore = await hostFootprint();

    let t0 = performance.now();
    const docker = await startDocker();
    const startMs = performance.now() - t0;
    t.after(() => docker.stop()); // no-op when the test got to its own stop()
    const { dir } = docker;
    assert.match(dir, /^\/tmp\/pf-docker-/);
    assert.equal(docker.dockerHost, `unix://${docker.socket}`);

    t0 = performance.now();
    const [a, b] = await Promise.all([docker.run('pf-harness-a'), docker.run('pf-harness-b')]);
    const runMs = performance.now() - t0;
    const none = await docker.run('pf-harness-none', { network: 'none' });

    const seen = new Set<string>();
    for (const c of [a, b]) {
      assert.ok(c.pid > 0, `${c.name} has a pid`);
      const addrs = (await inNetns(c.pid, ['addr', 'show'])) as IpAddr[];
      const eth0 = addrs.find((l) => l.ifname === 'eth0');
      const v4 = eth0?.addr_info.find((x) => x.family === 'inet');
      assert.ok(v4, `${c.name}: eth0 with an IPv4 address, got ${JSON.stringify(addrs)}`);
      seen.add(v4.local);
      const routes = (await inNetns(c.pid, ['route', 'show', 'default'])) as {
        gateway?: string;
        dev: string;
      }[];
      assert.equal(routes.length, 1, `${c.name}: one default route`);
      assert.equal(routes[0]?.dev, 'eth0');
      const info = await docker.inspect(c.name);
      assert.equal(info.State.Pid, c.pid);
      assert.equal(info.NetworkSettings.Networks.bridge?.IPAddress, v4.local);
    }
    assert.equal(seen.size, 2, 'two distinct addresses');
    const noneLinks = (await inNetns(none.pid, ['link', 'show'])) as { ifname: string }[];
    assert.deepEqual(
      noneLinks.map((l) => l.ifname),
      ['lo'],
    );
    assert.ok((await captureNetnsState()).links.includes('docker0'), 'docker0 in the sandbox');

    await docker.stopContainer(a.name);
    const stopped = await docker.inspect(a.name);
    assert.equal(stopped.State.Running, false);
    assert.equal(stopped.State.Status, 'exited');
    await docker.stopContainer(a.name); // already stopped: fine
    const again = await docker.start(a.name);
    assert.notEqual(again.pid, a.pid, 'a restarted container has a new pid');
    assert.equal(again.id, a.id);
    await docker.stopContainer(a.name);
    await docker.remove(none.name);
    await docker.remove(none.name); // already gone: fine

    t0 = performance.now();
    await docker.stop();
    const stopMs = performance.now() - t0;

    assert.deepEqual(await harnessProcesses(dir), [], 'no dockerd/containerd/shim/container process left');
    assert.deepEqual(await mountsUnder(dir), [], 'nothing mounted under the harness dir');
    assert.equal(await exists(dir), false, 'harness dir removed');
    for (const d of await cgroupDirs(basename(dir)))
      assert.equal(await exists(d), false, `cgroup ${d} removed`);
    assert.deepEqual(diffNetnsState(netnsBefore, await captureNetnsState()), [], 'sandbox netns as before');
    assert.deepEqual(await hostFootprint(), hostBefore, 'no dockerd files outside the harness dir');

    const timing = `start ${startMs.toFixed(0)} ms (${docker.storageDriver}), 2 runs ${runMs.toFixed(0)} ms, stop ${stopMs.toFixed(0)} ms`;
    t.diagnostic(timing);
    console.log(`# docker harness: ${timing}`);
  },
);
