/**
 * `pipefitter watch` while dockerd itself restarts, with a real dockerd: a second, private daemon
 * of this file (its own data, exec and run dirs, socket and cgroup under /tmp/pf-docker-*, its
 * own default bridge instead of docker0 and no iptables chains, so the run's shared daemon in the
 * same netns is not disturbed), two containers
 * with `--restart always` attached to a bridge. dockerd is stopped with SIGTERM (no live-restore:
 * it stops the containers) and started again on the same dirs: the containers come back in new
 * namespaces, watch says it reconnected and re-applies both; eth1 is read back from the kernel
 * with the same address and MAC, one of it, and a ping crosses the bridge.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { execa } from 'execa';
import type { PrivateDockerHarness } from '../helpers/docker.js';
import { dockerSkipReason, privateDaemonArgs, startDocker } from '../helpers/docker.js';
import type { NetnsState } from '../helpers/netns-state.js';
import { captureNetnsState } from '../helpers/netns-state.js';
import { cli } from '../helpers/cli.js';
import { link, ping, readState } from '../helpers/read-back.js';
import { activeSandbox, withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';
import { startWatch, watchEnv } from '../helpers/watch.js';

const skip = await dockerSkipReason();
/** The private daemon's own default bridge (the run's daemon has docker0 in the same netns). */
const DOCKER_BRIDGE = `pfdk${process.pid % 100_000}`;
let docker: PrivateDockerHarness | undefined;
let netnsBefore: NetnsState | undefined;
before(async () => {
  if (skip) return;
  netnsBefore = await captureNetnsState();
  await execa('ip', ['link', 'add', DOCKER_BRIDGE, 'type', 'bridge']);
  await execa('ip', ['addr', 'add', '198.51.100.1/24', 'dev', DOCKER_BRIDGE]);
  await execa('ip', ['link', 'set', DOCKER_BRIDGE, 'up']);
  docker = await startDocker({ extraArgs: privateDaemonArgs(DOCKER_BRIDGE) });
});
after(async () => {
  try {
    await docker?.stop();
  } finally {
    if (netnsBefore) await execa('ip', ['link', 'del', DOCKER_BRIDGE], { reject: false });
  }
});
const d = (): PrivateDockerHarness => {
  if (!docker) throw new Error('docker harness not started');
  return docker;
};

const globalAddrs = (l: { addrs: string[] } | undefined): string[] =>
  (l?.addrs ?? []).filter((a) => !a.startsWith('fe80')).sort();

test(
  'watch: dockerd stopped and started again; the --restart always containers come back attached the same',
  { skip, timeout: 300_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      await needTools('iptables');
      const { stateDir, env } = await watchEnv(t, 'watchd', { DOCKER_HOST: d().dockerHost });
      const br = sb.name('br').slice(0, 15);
      const peers = [
        { name: sb.name('web'), ip: '192.0.2.10', mac: '02:00:c0:00:02:0a' },
        { name: sb.name('db'), ip: '192.0.2.11', mac: '02:00:c0:00:02:0b' },
      ];
      for (const p of peers) {
        await d().run(p.name, { network: 'none', restart: 'always' });
        const r = await cli(
          [
            'attach',
            p.name,
            '--bridge',
            br,
            '--bridge-ip',
            '192.0.2.1/24',
            '--ip',
            `${p.ip}/24`,
            '--mac',
            p.mac,
          ],
          env,
        );
        assert.equal(r.code, 0, r.stderr);
      }
      const [web, db] = peers as [(typeof peers)[0], (typeof peers)[0]];
      const pidOf = async (name: string): Promise<number> => (await d().inspect(name)).State.Pid;
      const check = async (): Promise<void> => {
        for (const p of peers) {
          const pid = await pidOf(p.name);
          const eth1 = (await readState({ pid })).links.filter((l) => l.name === 'eth1');
          assert.equal(eth1.length, 1, `${p.name}: one eth1`);
          assert.equal(eth1[0]!.mac, p.mac, `${p.name}: the same MAC`);
          assert.deepEqual(globalAddrs(eth1[0]), [`${p.ip}/24`], `${p.name}: the same address`);
        }
        assert.ok(await ping({ pid: await pidOf(web.name) }, db.ip), 'ping web -> db across the bridge');
        const host = await readState('sandbox');
        assert.equal(host.links.filter((l) => l.master === br).length, 2, 'one host end per container');
      };
      await check();
      const pidsBefore = await Promise.all(peers.map((p) => pidOf(p.name)));

      const w = startWatch(t, env, ['--interval', '30s']);
      await w.next((l) => l.event === 'started');
      for (const p of peers) await w.find((l) => l.event === 'in-sync' && l.message.startsWith(`${p.name} `));

      // dockerd goes: SIGTERM, and it stops the containers on its way out (no live-restore)
      const t0 = performance.now();
      await d().stopDaemon();
      const down = performance.now() - t0;
      await w.next((l) => l.event === 'docker' && !l.message.startsWith('reconnected'), 60_000);
      // and comes back on the same dirs; --restart always starts both containers again
      const t1 = performance.now();
      await d().startDaemon();
      const up = performance.now() - t1;
      t.diagnostic(`dockerd stopped in ${down.toFixed(0)} ms, answered again after ${up.toFixed(0)} ms`);
      await w.next((l) => l.event === 'docker' && l.message.startsWith('reconnected'), 60_000);
      const t2 = performance.now();
      for (const p of peers) {
        const l = await w.find((x) => x.event === 'reapplied' && x.message.startsWith(`${p.name} `), 60_000);
        t.diagnostic(
          l.sinceEventMs === undefined
            ? `${p.name}: re-applied (its start event came while watch was not connected)`
            : `${p.name}: re-applied ${l.sinceEventMs} ms after its start event`,
        );
      }
      t.diagnostic(`both re-applied ${(performance.now() - t2).toFixed(0)} ms after the reconnect`);
      const pidsAfter = await Promise.all(peers.map((p) => pidOf(p.name)));
      for (const [i, p] of peers.entries()) {
        assert.notEqual(pidsAfter[i], pidsBefore[i], `${p.name} restarted (a new init)`);
        // a new namespace, the test's like the first one
        activeSandbox()?.ownSpace(`/proc/${pidsAfter[i]}/ns/net`, `docker:${p.name}`, pidsAfter[i]);
      }
      await check();
      assert.equal((await readdir(`${stateDir}/attachments`)).length, 2, 'one record per attachment');

      await w.stop();
      for (const p of peers) {
        assert.equal((await cli(['detach', p.name], env)).code, 0);
        await d().remove(p.name);
      }
      assert.equal(link(await readState('sandbox'), br), undefined, 'the bridge went with its last port');
      // the private daemon, started and restarted, made no link and no iptables rule here: the
      // run's daemon (same netns) is not disturbed
      const now = await captureNetnsState();
      assert.deepEqual(now.links, [...(netnsBefore?.links ?? []), DOCKER_BRIDGE].sort());
      assert.deepEqual(now.tables, netnsBefore?.tables);
    }),
);
