/**
 * A recipe whose containers are Podman containers (`target: podman:NAME`, test/helpers/podman.ts):
 * applied and read back from the kernel in the containers, then re-applied by `pipefitter watch`
 * after `podman restart` (a new process, a new namespace) with the same pool address — the drift
 * check is 5 minutes away, so the re-apply is the start event's doing; `destroy` leaves the host,
 * the containers, the recipe state and the pool as they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { cli } from '../helpers/cli.js';
import { startPodman } from '../helpers/podman.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { recipeFile } from '../helpers/recipe-file.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';
import { startWatch, watchEnv } from '../helpers/watch.js';

const globalAddrs = (l: { addrs: string[] } | undefined): string[] =>
  (l?.addrs ?? []).filter((a) => !a.startsWith('fe80')).sort();

test(
  'a recipe of podman: containers: applied, re-applied by watch after podman restart with the same pool address, destroyed without a trace',
  { timeout: 240_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      const p = await startPodman(sb);
      const { stateDir, env } = await watchEnv(t, 'watchpodr', p.env);
      const web = await p.run(sb.name('rweb'));
      const db = await p.run(sb.name('rdb'));
      const br = sb.name('rbr').slice(0, 15);
      const file = await recipeFile(
        t,
        sb.name('plab'),
        [`  lan: { bridge: ${br}, subnet: 203.0.113.0/24, pool: 203.0.113.100-203.0.113.150 }`],
        [
          `  web: { target: 'podman:${web.name}', interfaces: { eth1: { network: lan, address: auto, routes: [{ to: 198.51.100.0/24, via: 203.0.113.254 }] } } }`,
          `  db: { target: 'podman:${db.name}', interfaces: { eth1: { network: lan, address: 203.0.113.5 } } }`,
        ],
      );
      const host = await snapshot(['sandbox']);
      const dbBefore = await snapshot([{ pid: db.pid }]);

      const applied = await cli(['apply', file], env);
      assert.equal(applied.code, 0, applied.stderr);
      const inWeb = async (pid: number): Promise<string[]> => {
        const s = await readState({ pid });
        const eth1 = s.links.filter((l) => l.name === 'eth1');
        assert.equal(eth1.length, 1, 'one eth1');
        assert.ok(
          routes(s).some(
            (r) => r.dst === '198.51.100.0/24' && r.gateway === '203.0.113.254' && r.dev === 'eth1',
          ),
          JSON.stringify(routes(s)),
        );
        assert.ok(await ping({ pid }, '203.0.113.5'), 'ping across the bridge');
        return globalAddrs(eth1[0]);
      };
      const leased = await inWeb(web.pid);
      assert.equal(leased.length, 1, `one pool address: ${leased.join(' ')}`);
      assert.match(leased[0]!, /^203\.0\.113\.(1[0-4]\d|150)\/24$/);
      assert.deepEqual(globalAddrs(link(await readState({ pid: db.pid }), 'eth1')), ['203.0.113.5/24']);
      const status = await cli(['status', file], env);
      assert.equal(status.code, 0, `in sync after apply: ${status.stdout}${status.stderr}`);

      const w = startWatch(t, env, ['--interval', '5m']);
      await w.next((l) => l.event === 'in-sync' && l.message.startsWith('recipe '));

      const restarted = await p.restart(web.name);
      assert.notEqual(restarted.pid, web.pid);
      const l = await w.next((x) => x.event === 'reapplied' && x.message.startsWith('recipe '), 30_000);
      t.diagnostic(`recipe re-applied ${l.sinceEventMs} ms after the start event`);
      assert.deepEqual(await inWeb(restarted.pid), leased, 'the same leased address in the new namespace');
      const ls = await cli(['ipam', 'ls', '--json'], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.equal((JSON.parse(ls.stdout) as { allocations: unknown[] }).allocations.length, 1, 'one lease');
      assert.equal(
        (await readState('sandbox')).links.filter((x) => x.master === br).length,
        2,
        'one host end per container',
      );
      await w.stop();
      assert.equal(
        w.lines.filter((x) => x.event === 'reapplied').length,
        1,
        `one re-apply for one restart: ${JSON.stringify(w.lines.filter((x) => x.event === 'reapplied'))}`,
      );

      const destroyed = await cli(['destroy', file], env);
      assert.equal(destroyed.code, 0, destroyed.stderr);
      await expectState(['sandbox'], host, 'destroy leaves the host as before the apply');
      await expectState([{ pid: db.pid }], dbBefore, 'destroy leaves db as before the apply');
      assert.deepEqual(
        (await readState({ pid: restarted.pid })).links.map((x) => x.name),
        ['lo'],
        'nothing left in the restarted web',
      );
      assert.deepEqual(await readdir(`${stateDir}/recipes`).catch(() => []), [], 'no recipe state');
      const after = await cli(['ipam', 'ls', '--json'], env);
      assert.deepEqual(
        (JSON.parse(after.stdout) as { allocations: unknown[] }).allocations,
        [],
        'the lease released',
      );
    }),
);
