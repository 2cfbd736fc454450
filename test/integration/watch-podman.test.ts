/**
 * `pipefitter watch` following Podman's events (`podman events`, test/helpers/podman.ts): an
 * attachment made by the CLI to a podman: target comes back after `podman restart` and
 * `podman stop` + `start` with the same address, MAC, route and gateway, read from the kernel in
 * the container's new namespace; `podman rm -f` drops its record and its host end. The drift
 * check is 5 minutes away, so each re-apply is the event's doing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { cli } from '../helpers/cli.js';
import type { PodmanContainer } from '../helpers/podman.js';
import { startPodman } from '../helpers/podman.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';
import { startWatch, watchEnv } from '../helpers/watch.js';

/** `podman events` processes started with this environment's containers.conf. */
const podmanEventsOf = async (containersConf: string): Promise<number[]> => {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = (await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const env = (await readFile(`/proc/${e}/environ`, 'utf8').catch(() => '')).split('\0');
    if (cmd.includes('podman') && cmd.includes('events') && env.includes(`CONTAINERS_CONF=${containersConf}`))
      out.push(Number(e));
  }
  return out;
};

const globalAddrs = (l: { addrs: string[] } | undefined): string[] =>
  (l?.addrs ?? []).filter((a) => !a.startsWith('fe80')).sort();

test(
  'watch follows podman events: restart, stop + start, rm -f; the attachment comes back the same, the removed one is forgotten',
  { timeout: 300_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      const p = await startPodman(sb);
      const { stateDir, env } = await watchEnv(t, 'watchpod', p.env);
      const web = await p.run(sb.name('web'));
      const db = await p.run(sb.name('db'));
      const br = sb.name('br').slice(0, 15);
      const mac = '02:00:c0:00:02:1a';
      const made = await cli(
        [
          'attach',
          `podman:${web.name}`,
          '--bridge',
          br,
          '--bridge-ip',
          '192.0.2.1/24',
          '--ip',
          '192.0.2.10/24',
          '--mac',
          mac,
          '--route',
          '198.51.100.0/24:192.0.2.254',
          '--gateway',
          '192.0.2.1',
        ],
        env,
      );
      assert.equal(made.code, 0, made.stderr);
      const other = await cli(['attach', `podman:${db.name}`, '--bridge', br, '--ip', '192.0.2.11/24'], env);
      assert.equal(other.code, 0, other.stderr);
      assert.equal((await readdir(`${stateDir}/attachments`)).length, 2, 'one record per attachment');

      const w = startWatch(t, env, ['--interval', '5m']);
      t.after(() => {
        w.child.kill('SIGKILL');
      });
      await w.next((l) => l.event === 'started');
      await w.next((l) => l.event === 'in-sync' && l.message.includes(db.name));
      // it starts following after its first pass
      let following: number[] = [];
      for (const end = Date.now() + 10_000; following.length === 0 && Date.now() < end;)
        following = await podmanEventsOf(p.env.CONTAINERS_CONF!);
      assert.equal(following.length, 1, `watch follows podman events: ${JSON.stringify(w.lines)}`);

      const inWeb = async (c: PodmanContainer): Promise<void> => {
        const s = await readState({ pid: c.pid });
        const eth1 = s.links.filter((l) => l.name === 'eth1');
        assert.equal(eth1.length, 1, 'one eth1');
        assert.equal(eth1[0]!.mac, mac);
        assert.deepEqual(globalAddrs(eth1[0]), ['192.0.2.10/24']);
        const rs = routes(s);
        assert.ok(
          rs.some((r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.254' && r.dev === 'eth1'),
          JSON.stringify(rs),
        );
        assert.deepEqual(
          rs.filter((r) => r.dst === 'default').map((r) => [r.gateway, r.dev]),
          [['192.0.2.1', 'eth1']],
        );
        assert.ok(await ping({ pid: c.pid }, '192.0.2.11'), 'ping across the bridge');
        const host = await readState('sandbox');
        assert.equal(host.links.filter((l) => l.master === br).length, 2, 'two ports on the bridge');
      };
      await inWeb(web);

      // podman restart
      const restarted = await p.restart(web.name);
      assert.notEqual(restarted.pid, web.pid);
      const r1 = await w.next((l) => l.event === 'reapplied' && l.message.includes(web.name));
      await inWeb(restarted);
      t.diagnostic(`podman restart: re-applied ${r1.sinceEventMs} ms after the start event`);
      // the time is measured by the bench, not bounded here (speed is no test's assertion)

      // podman stop, then start
      await p.stop(web.name);
      const started = await p.start(web.name);
      const r2 = await w.next((l) => l.event === 'reapplied' && l.message.includes(web.name));
      await inWeb(started);
      t.diagnostic(`podman stop + start: re-applied ${r2.sinceEventMs} ms after the start event`);

      // podman rm -f: the record goes, nothing of web is left on the bridge
      await p.remove(web.name);
      await w.next((l) => l.event === 'forgotten' && l.message.includes(web.name));
      assert.equal((await readdir(`${stateDir}/attachments`)).length, 1, 'only db is kept');
      assert.equal(
        (await readState('sandbox')).links.filter((l) => l.master === br).length,
        1,
        "only db's port is left",
      );

      // the last container on the bridge removed: the bridge pipefitter made goes too
      await p.remove(db.name);
      await w.next((l) => l.event === 'forgotten' && l.message.includes(db.name));
      assert.deepEqual(await readdir(`${stateDir}/attachments`), [], 'no record left');
      assert.equal(link(await readState('sandbox'), br), undefined, 'the bridge went with its last port');

      // SIGTERM: exit 0, and podman events ends with it
      // (no dockerd here: its reconnect backoff must not hold the exit up — execa's kill sends
      // SIGKILL 5 s after the SIGTERM, and the exit code would not be 0)
      w.child.kill('SIGTERM');
      const end = await w.child;
      assert.equal(end.exitCode, 0, `${end.signal ?? ''} ${w.stderr()} ${JSON.stringify(w.lines.slice(-3))}`);
      assert.deepEqual(await podmanEventsOf(p.env.CONTAINERS_CONF!), [], 'podman events ended with watch');
      assert.ok(
        !w.lines.some((l) => l.event === 'failed'),
        JSON.stringify(w.lines.filter((l) => l.event === 'failed')),
      );
      assert.equal(
        w.lines.filter((l) => l.event === 'reapplied').length,
        2,
        `one re-apply per start: ${JSON.stringify(w.lines.filter((l) => l.event === 'reapplied'))}`,
      );
    }),
);
