/**
 * `pipefitter watch` against a real dockerd (test/helpers/docker.ts): attachments made by the CLI
 * come back after `docker restart` and `docker stop` + `start`, with the same address, MAC,
 * route and gateway, read from the kernel in the container's new namespace; a removed
 * container's record goes; SIGTERM ends watch with 0.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { execa } from 'execa';
import type { DockerHarness } from '../helpers/docker.js';
import { dockerSkipReason, useDocker } from '../helpers/docker.js';
import { BIN, cli } from '../helpers/cli.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';
import { recipeFile, recipeFileText } from '../helpers/recipe-file.js';
import { needTools } from '../helpers/tools.js';
import { startWatch, watchEnv } from '../helpers/watch.js';

const skip = await dockerSkipReason();
let docker: DockerHarness | undefined;
before(async () => {
  if (!skip) docker = await useDocker();
});
after(async () => {
  await docker?.stop();
});
const d = (): DockerHarness => {
  if (!docker) throw new Error('docker harness not started');
  return docker;
};

/**
 * A recipe with a NAT'd bridge, a pool, and port 8080 published to the pool's first address
 * (the first container in the file gets it), each container on it with an `auto` address.
 */
const publishedRecipe = (name: string, br: string, containers: Record<string, string>): string =>
  [
    'version: 1',
    `name: ${name}`,
    'bridges:',
    `  ${br}:`,
    '    addresses: 203.0.113.1/24',
    '    nat: { subnet: 203.0.113.0/24 }',
    "    publish: [{ port: 8080, to: '203.0.113.100:80' }]",
    'networks:',
    `  lan: { bridge: ${br}, subnet: 203.0.113.0/24, pool: 203.0.113.100-203.0.113.120 }`,
    'containers:',
    ...Object.entries(containers).map(
      ([key, c]) =>
        `  ${key}: { target: 'docker:${c}', interfaces: { eth1: { network: lan, address: auto } } }`,
    ),
  ].join('\n');

const globalAddrs = (l: { addrs: string[] } | undefined): string[] =>
  (l?.addrs ?? []).filter((a) => !a.startsWith('fe80')).sort();

test(
  'watch: docker restart, stop + start, rm -f; the attachment comes back the same, the removed one is forgotten',
  { skip, timeout: 240_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      await needTools('iptables');
      const { stateDir, env } = await watchEnv(t, 'watch', { DOCKER_HOST: d().dockerHost });
      const web = await d().run(sb.name('web'));
      const db = await d().run(sb.name('db'));
      const br = sb.name('br').slice(0, 15);
      const mac = '02:00:c0:00:02:0a';
      const made = await cli(
        [
          'attach',
          web.name,
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
      assert.equal((await cli(['attach', db.name, '--bridge', br, '--ip', '192.0.2.11/24'], env)).code, 0);
      assert.equal((await readdir(`${stateDir}/attachments`)).length, 2, 'one record per attachment');

      const w = startWatch(t, env, ['--interval', '30s']);
      await w.next((l) => l.event === 'started');
      // the first pass adopts both, in sync
      await w.next((l) => l.event === 'in-sync' && l.message.includes(db.name));

      const inWeb = async (pid: number): Promise<void> => {
        const s = await readState({ pid });
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
        assert.ok(await ping({ pid }, '192.0.2.11'), 'ping across the bridge');
        const host = await readState('sandbox');
        assert.equal(host.links.filter((l) => l.master === br).length, 2, 'two ports on the bridge');
      };
      await inWeb(web.pid);

      // docker restart
      await execa('docker', ['restart', '-t', '1', web.name], { env });
      const r1 = await w.next((l) => l.event === 'reapplied' && l.message.includes(web.name));
      const pid1 = (await d().inspect(web.name)).State.Pid;
      assert.notEqual(pid1, web.pid);
      await inWeb(pid1);
      // the time from the start event is a diagnostic here; bench/watch-restart.ts measures it
      t.diagnostic(`docker restart: re-applied ${r1.sinceEventMs} ms after the start event`);

      // docker stop, then start
      await d().stopContainer(web.name);
      const started = await d().start(web.name);
      const r2 = await w.next((l) => l.event === 'reapplied' && l.message.includes(web.name));
      await inWeb(started.pid);
      t.diagnostic(`docker stop + start: re-applied ${r2.sinceEventMs} ms after the start event`);

      // docker rm -f: the record goes, nothing of web is left on the bridge
      await d().remove(web.name);
      await w.next((l) => l.event === 'forgotten' && l.message.includes(web.name));
      assert.equal((await readdir(`${stateDir}/attachments`)).length, 1, 'only db is kept');
      const host = await readState('sandbox');
      assert.equal(host.links.filter((l) => l.master === br).length, 1, "only db's port is left");

      // the last container on the bridge removed: the bridge pipefitter made goes too
      await d().remove(db.name);
      await w.next((l) => l.event === 'forgotten' && l.message.includes(db.name));
      assert.deepEqual(await readdir(`${stateDir}/attachments`), [], 'no record left');
      assert.equal(link(await readState('sandbox'), br), undefined, 'the bridge went with its last port');
      assert.doesNotMatch(
        (await execa('iptables-save')).stdout,
        new RegExp(`pf1:bridge=${br}\\b`),
        'its accept rules too',
      );

      // SIGTERM: exit 0
      await w.stop();
    }),
);

test('watch --install-unit prints a systemd unit running this binary; a bad --interval is refused (exit 2)', async () => {
  const u = await cli(['watch', '--install-unit']);
  assert.equal(u.code, 0, u.stderr);
  assert.ok(u.stdout.split('\n').includes(`ExecStart=${BIN} watch --json`), u.stdout);
  for (const line of ['Type=simple', 'Restart=on-failure', 'RestartSec=2'])
    assert.ok(u.stdout.split('\n').includes(line), line);
  const bad = await cli(['watch', '--interval', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--interval "soon": not a duration/);
});

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

test(
  'watch: 20 containers restarted at once all come back, nothing duplicated; start event to ready, median and worst',
  { skip, timeout: 400_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      await needTools('iptables');
      const { stateDir, env } = await watchEnv(t, 'watch20', { DOCKER_HOST: d().dockerHost });
      const br = sb.name('br').slice(0, 15);
      const N = 20;
      const names = Array.from({ length: N }, (_, i) => sb.name(`c${i}`));
      const macOf = (i: number): string => `02:00:c0:00:02:${(0x40 + i).toString(16)}`;
      const ipOf = (i: number): string => `192.0.2.${64 + i}`;
      for (const [i, name] of names.entries()) {
        await d().run(name, { network: 'none' });
        const r = await cli(
          [
            'attach',
            name,
            '--bridge',
            br,
            '--bridge-ip',
            '192.0.2.1/24',
            '--ip',
            `${ipOf(i)}/24`,
            '--mac',
            macOf(i),
          ],
          env,
        );
        assert.equal(r.code, 0, r.stderr);
      }
      const w = startWatch(t, env, ['--interval', '5m']);
      await w.next((l) => l.event === 'started');
      for (let k = 0; k < N; k++) await w.next((l) => l.event === 'in-sync');

      const rounds = 1;
      const since: number[] = [];
      for (let round = 0; round < rounds; round++) {
        await Promise.all(names.map((n) => execa('docker', ['restart', '-t', '1', n], { env })));
        const back = new Set<string>();
        while (back.size < N) {
          const l = await w.next((x) => x.event === 'reapplied', 60_000);
          const name = names.find((n) => l.message.startsWith(`${n} `));
          assert.ok(name, l.message);
          assert.ok(!back.has(name), `${name} re-applied twice`);
          back.add(name);
          if (l.sinceEventMs !== undefined) since.push(l.sinceEventMs);
        }
      }
      assert.equal(since.length, N * rounds, 'every re-apply timed from its start event');
      t.diagnostic(
        `start event to interface ready, ${since.length} restarts: median ${median(since)} ms, worst ${Math.max(...since)} ms`,
      );
      for (const [i, name] of names.entries()) {
        const pid = (await d().inspect(name)).State.Pid;
        const s = await readState({ pid });
        const eth1 = s.links.filter((l) => l.name === 'eth1');
        assert.equal(eth1.length, 1, `${name}: one eth1`);
        assert.equal(eth1[0]!.mac, macOf(i));
        assert.deepEqual(globalAddrs(eth1[0]), [`${ipOf(i)}/24`]);
      }
      assert.ok(await ping({ pid: (await d().inspect(names[0]!)).State.Pid }, ipOf(N - 1)), 'ping across');
      const host = await readState('sandbox');
      assert.equal(host.links.filter((l) => l.master === br).length, N, 'one host end per container');
      assert.equal((await readdir(`${stateDir}/attachments`)).length, N, 'one record per attachment');

      await w.stop();
      for (const name of names) {
        assert.equal((await cli(['detach', name], env)).code, 0);
        await d().remove(name);
      }
      assert.equal(link(await readState('sandbox'), br), undefined, 'the bridge went with its last port');
    }),
);

test(
  'watch: a container of an applied recipe restarted gets its pool address (the same lease) back',
  { skip, timeout: 240_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      await needTools('iptables');
      const { env } = await watchEnv(t, 'watchr', { DOCKER_HOST: d().dockerHost });
      const web = await d().run(sb.name('rweb'), { network: 'none' });
      const db = await d().run(sb.name('rdb'), { network: 'none' });
      const br = sb.name('rbr').slice(0, 15);
      const file = await recipeFile(
        t,
        sb.name('lab'),
        [`  lan: { bridge: ${br}, subnet: 203.0.113.0/24, pool: 203.0.113.100-203.0.113.150 }`],
        [
          `  web: { target: docker:${web.name}, interfaces: { eth1: { network: lan, address: auto } } }`,
          `  db: { target: docker:${db.name}, interfaces: { eth1: { network: lan, address: 203.0.113.5 } } }`,
        ],
      );
      const applied = await cli(['apply', file], env);
      assert.equal(applied.code, 0, applied.stderr);
      const addrOf = async (pid: number): Promise<string[]> =>
        globalAddrs((await readState({ pid })).links.find((l) => l.name === 'eth1'));
      const before = await addrOf(web.pid);
      assert.equal(before.length, 1);

      const w = startWatch(t, env, ['--interval', '5m']);
      await w.next((l) => l.event === 'in-sync' && l.message.startsWith('recipe '));
      await execa('docker', ['restart', '-t', '1', web.name], { env });
      const l = await w.next((x) => x.event === 'reapplied' && x.message.startsWith('recipe '));
      t.diagnostic(`recipe re-applied ${l.sinceEventMs} ms after the start event`);
      const pid = (await d().inspect(web.name)).State.Pid;
      assert.deepEqual(await addrOf(pid), before, 'the same leased address');
      assert.equal((await readState({ pid })).links.filter((x) => x.name === 'eth1').length, 1);
      assert.ok(await ping({ pid }, '203.0.113.5'), 'ping across the bridge');
      const ls = await cli(['ipam', 'ls', '--json'], env);
      assert.equal((JSON.parse(ls.stdout) as { allocations: unknown[] }).allocations.length, 1, 'one lease');
      assert.equal(
        (await readState('sandbox')).links.filter((x) => x.master === br).length,
        2,
        'one host end per container',
      );
      await w.stop();
      const destroyed = await cli(['destroy', file], env);
      assert.equal(destroyed.code, 0, destroyed.stderr);
      await d().remove(web.name);
      await d().remove(db.name);
    }),
);

test(
  "watch: a recipe's container removed (docker rm -f) releases its part — its lease, the port published to it — and the rest stays; apply again when it is back",
  { skip, timeout: 240_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      await needTools('iptables', 'nft');
      const { stateDir, env } = await watchEnv(t, 'watchgone', { DOCKER_HOST: d().dockerHost });
      const web = await d().run(sb.name('gweb'), { network: 'none' });
      const db = await d().run(sb.name('gdb'), { network: 'none' });
      const br = sb.name('gbr').slice(0, 15);
      const name = sb.name('gone');
      // web is first in the file, so it gets the pool's first address, to which port 8080 is published
      const file = await recipeFileText(t, name, publishedRecipe(name, br, { web: web.name, db: db.name }));
      const leases = async (): Promise<Record<string, string>> => {
        const ls = await cli(['ipam', 'ls', '--json'], env);
        assert.equal(ls.code, 0, ls.stderr);
        const all = (JSON.parse(ls.stdout) as { allocations: { key: string; address: string }[] })
          .allocations;
        return Object.fromEntries(all.map((a) => [a.key, a.address]));
      };
      /** The recipe's NAT rules in the kernel, as text (`nft -j list ruleset` in the sandbox). */
      const natRules = async (): Promise<string[]> => {
        const j = JSON.parse((await execa('nft', ['-j', 'list', 'ruleset'])).stdout) as {
          nftables: { rule?: { table: string; expr: unknown[] } }[];
        };
        return j.nftables.flatMap((x) =>
          x.rule && x.rule.table === `pf_${name}` ? [JSON.stringify(x.rule.expr)] : [],
        );
      };
      const dnatToWeb = (rules: string[]): string[] => rules.filter((r) => r.includes('"203.0.113.100"'));
      const masquerade = (rules: string[]): string[] => rules.filter((r) => r.includes('masquerade'));
      const ports = async (): Promise<string[]> =>
        (await readState('sandbox')).links.filter((l) => l.master === br).map((l) => l.name);
      const addrOf = async (pid: number): Promise<string[]> =>
        globalAddrs((await readState({ pid })).links.find((l) => l.name === 'eth1'));

      const applied = await cli(['apply', file], env);
      assert.equal(applied.code, 0, applied.stderr);
      assert.deepEqual(await leases(), {
        [`${name}/web/eth1`]: '203.0.113.100/24',
        [`${name}/db/eth1`]: '203.0.113.101/24',
      });
      const rules0 = await natRules();
      // prerouting and output each DNAT to web; one masquerade for the subnet
      assert.equal(dnatToWeb(rules0).length, 2, JSON.stringify(rules0));
      assert.equal(masquerade(rules0).length, 1, JSON.stringify(rules0));
      const ports0 = await ports();
      assert.equal(ports0.length, 2, 'one host end per container');
      assert.ok(await ping({ pid: db.pid }, '203.0.113.100'), 'db reaches web');

      const w = startWatch(t, env, ['--interval', '5m']);
      await w.next((l) => l.event === 'in-sync' && l.message.startsWith(`recipe ${name}`));
      const stateOf = async (): Promise<{
        targets: { spec: string }[];
        released?: { container: string; addresses: string[] }[];
      }> => JSON.parse(await readFile(`${stateDir}/recipes/${name}.json`, 'utf8')) as never;

      // stopped, not removed: its lease and published port stay, also through an apply that leaves
      // it out, and it stays the recipe's; started again, watch gives it the same address
      await d().stopContainer(web.name);
      const skipped = await cli(['apply', file, '--skip-missing'], env);
      assert.equal(skipped.code, 0, skipped.stderr);
      assert.deepEqual(await leases(), {
        [`${name}/web/eth1`]: '203.0.113.100/24',
        [`${name}/db/eth1`]: '203.0.113.101/24',
      });
      assert.equal(dnatToWeb(await natRules()).length, 2, 'its published port stays');
      assert.deepEqual(
        (await stateOf()).targets.map((x) => x.spec).sort(),
        [`docker:${db.name}`, `docker:${web.name}`].sort(),
      );
      const started = await d().start(web.name);
      await w.next((x) => x.event === 'reapplied' && x.message.startsWith(`recipe ${name}`));
      assert.deepEqual(await addrOf(started.pid), ['203.0.113.100/24'], 'the same address');

      // removed for good: its part of the recipe goes, the rest stays
      await d().remove(web.name);
      const l = await w.next((x) => x.event === 'forgotten' && x.message.startsWith(`recipe ${name}`));
      t.diagnostic(l.message);
      assert.match(l.message, /released web \(docker:.*: 203\.0\.113\.100\)/);
      assert.deepEqual(await leases(), { [`${name}/db/eth1`]: '203.0.113.101/24' }, "web's lease went back");
      const rules1 = await natRules();
      assert.deepEqual(dnatToWeb(rules1), [], `no port published to web: ${JSON.stringify(rules1)}`);
      assert.deepEqual(masquerade(rules1), masquerade(rules0), 'the masquerade for the subnet stays');
      const ports1 = await ports();
      assert.equal(ports1.length, 1, "web's host end is gone");
      assert.ok(ports0.includes(ports1[0]!), "db's host end is the one it had");
      assert.ok(link(await readState('sandbox'), br), 'the bridge stays');
      assert.deepEqual(await addrOf(db.pid), ['203.0.113.101/24'], 'db untouched');
      assert.ok(await ping({ pid: db.pid }, '203.0.113.1'), 'db still reaches the bridge');
      // the recipe's state: web released, db its only target
      const state = await stateOf();
      assert.deepEqual(
        state.targets.map((x) => x.spec),
        [`docker:${db.name}`],
      );
      assert.deepEqual(
        state.released?.map((r) => [r.container, r.addresses]),
        [['web', ['203.0.113.100']]],
      );
      // status: in sync, web listed as removed and released
      const st = await cli(['status', file, '--json'], env);
      assert.equal(st.code, 0, st.stdout + st.stderr);
      const sj = JSON.parse(st.stdout) as {
        inSync: boolean;
        drift: unknown[];
        missing: { container: string; released?: { addresses: string[] } }[];
      };
      assert.equal(sj.inSync, true);
      assert.deepEqual(sj.drift, []);
      assert.deepEqual(
        sj.missing.map((m) => [m.container, m.released?.addresses]),
        [['web', ['203.0.113.100']]],
      );
      // a drift check of watch finds nothing to do (the published port is not put back)
      const once = await cli(['watch', '--once', '--json'], env);
      assert.equal(once.code, 0, once.stderr);
      assert.ok(
        (JSON.parse(once.stdout) as { events: { event: string; message: string }[] }).events.some(
          (e) => e.event === 'in-sync' && e.message.startsWith(`recipe ${name}`),
        ),
        once.stdout,
      );
      assert.deepEqual(dnatToWeb(await natRules()), []);

      // web made again under its name: apply gives it a lease and its published port again
      const web2 = await d().run(web.name, { network: 'none' });
      const again = await cli(['apply', file], env);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await leases(), {
        [`${name}/web/eth1`]: '203.0.113.100/24',
        [`${name}/db/eth1`]: '203.0.113.101/24',
      });
      assert.deepEqual(await addrOf(web2.pid), ['203.0.113.100/24']);
      assert.equal(dnatToWeb(await natRules()).length, 2, 'the published port is back');
      assert.ok(await ping({ pid: web2.pid }, '203.0.113.101'), 'web reaches db again');
      const st2 = await cli(['status', file, '--json'], env);
      assert.equal(st2.code, 0, st2.stdout);
      assert.deepEqual((JSON.parse(st2.stdout) as { missing: unknown[] }).missing, []);
      assert.equal((await stateOf()).released, undefined, 'nothing released any more');
      await w.stop();
      const destroyed = await cli(['destroy', file], env);
      assert.equal(destroyed.code, 0, destroyed.stderr);
      assert.deepEqual(await leases(), {});
      await d().remove(web.name);
      await d().remove(db.name);
    }),
);

test(
  "watch --report-only: a recipe's container removed is reported, its lease and published port kept",
  { skip, timeout: 120_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      await needTools('iptables', 'nft');
      const { env } = await watchEnv(t, 'watchgoner', { DOCKER_HOST: d().dockerHost });
      const web = await d().run(sb.name('rweb'), { network: 'none' });
      const br = sb.name('rbr').slice(0, 15);
      const name = sb.name('goner');
      const file = await recipeFileText(t, name, publishedRecipe(name, br, { web: web.name }));
      assert.equal((await cli(['apply', file], env)).code, 0);
      const before = (await cli(['ipam', 'ls', '--json'], env)).stdout;
      const nft = async (): Promise<string> =>
        (await execa('nft', ['list', 'table', 'ip', `pf_${name}`])).stdout;
      const rules = await nft();
      await d().remove(web.name);
      const r = await cli(['watch', '--once', '--report-only', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        (JSON.parse(r.stdout) as { events: { event: string; message: string }[] }).events.some(
          (e) => e.event === 'gone' && e.message.startsWith(`recipe ${name}`),
        ),
        r.stdout,
      );
      assert.equal((await cli(['ipam', 'ls', '--json'], env)).stdout, before, 'the lease is kept');
      assert.equal(await nft(), rules, 'the NAT rules are kept');
      const destroyed = await cli(['destroy', file], env);
      assert.equal(destroyed.code, 0, destroyed.stderr);
    }),
);
