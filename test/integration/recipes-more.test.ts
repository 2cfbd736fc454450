/**
 * Recipes at scale and from other entry points: a 50-container lab kept short with anchors and
 * variables (progress shown, distinct pool addresses), the IPAM commands, the zx example, and
 * a recipe of real Docker containers whose restart is drift that apply repairs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { ping, readState } from '../helpers/read-back.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';
import type { DockerHarness } from '../helpers/docker.js';
import { dockerSkipReason, useDocker } from '../helpers/docker.js';

const dockerSkip = await dockerSkipReason();
let docker: DockerHarness | undefined;
before(async () => {
  if (!dockerSkip) docker = await useDocker();
});
after(async () => {
  await docker?.stop();
});

test('a 50-container lab in a short recipe: anchors, variables, progress, 50 distinct pool addresses; ipam ls/release/gc', (t) =>
  withSandbox(t, async (sb) => {
    const file = `/tmp/pf-${runId}-${sb.id}-big.yaml`;
    const lines = [
      'version: 1',
      `name: big${sb.id}`,
      'vars: { ns: lab, p: big }',
      'networks:',
      "  lan: { bridge: '${p}-lan', subnet: 192.0.2.0/24, gateway: 192.0.2.1, pool: 192.0.2.100-192.0.2.199 }",
      'containers:',
      "  c0: &c { target: 'netns:${ns}-c0', create: true, interfaces: { eth1: { network: lan, address: auto } } }",
      ...Array.from({ length: 49 }, (_, i) => `  c${i + 1}: { <<: *c, target: 'netns:\${ns}-c${i + 1}' }`),
    ];
    await writeFile(file, lines.join('\n') + '\n');
    t.after(() => rm(file, { force: true }));
    const set = ['--set', `ns=pf-${runId}-${sb.id}`, '--set', `p=b${sb.id}`];
    const r = await cli(['apply', file, ...set]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /… 25 steps done/, 'progress on a long apply');
    const ls = (
      JSON.parse((await cli(['ipam', 'ls', '--json'])).stdout) as {
        allocations: { key: string; address: string }[];
      }
    ).allocations;
    const mine = ls.filter((a) => a.key.startsWith(`big${sb.id}/`));
    assert.equal(mine.length, 50);
    assert.equal(new Set(mine.map((a) => a.address)).size, 50, 'no address twice');
    assert.ok(
      await ping(
        { netns: `pf-${runId}-${sb.id}-c0` },
        mine.find((a) => a.key.endsWith('/c49/eth1'))!.address.split('/')[0]!,
      ),
    );
    const again = await cli(['apply', file, ...set]);
    assert.match(again.stdout, /no changes/);
    // release/gc: while the recipe lives, gc keeps its addresses
    assert.match((await cli(['ipam', 'gc'])).stdout, /nothing to collect/);
    assert.equal((await cli(['destroy', file, ...set])).code, 0);
    assert.equal(
      (
        JSON.parse((await cli(['ipam', 'ls', '--json'])).stdout) as { allocations: { key: string }[] }
      ).allocations.filter((a) => a.key.startsWith(`big${sb.id}/`)).length,
      0,
      'destroy gives the addresses back',
    );
    const usage = await cli(['ipam', 'release']);
    assert.equal(usage.code, 2);
  }));

test('the zx example drives the library API (attach, show, detach, apply, destroy)', (t) =>
  withSandbox(t, async (sb) => {
    await needTools('ping');
    const r = await execa('node_modules/.bin/zx', ['recipes/lab.mjs'], {
      env: { ZXLAB_PREFIX: `pf-${runId}-${sb.id}`, ZXLAB_SHORT: `z${sb.id}` },
      reject: false,
    });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /router recipe: \d+ changes/);
  }));

test(
  'a recipe of real Docker containers: a restart loses the interface (drift), apply puts it back',
  { skip: dockerSkip },
  (t) =>
    withSandbox(t, async (sb) => {
      const d = docker!;
      const env = { DOCKER_HOST: d.dockerHost };
      const web = await d.run(sb.name('web'));
      const db = await d.run(sb.name('db'));
      const set = ['--set', `web=${web.name}`, '--set', `db=${db.name}`, '--set', `p=d${sb.id}`];
      assert.equal((await cli(['apply', 'recipes/docker-web.yaml', ...set], env)).code, 0);
      const addr = (await readState({ pid: web.pid })).links.find((l) => l.name === 'eth1')?.addrs[0];
      assert.match(addr ?? '', /^203\.0\.113\.1\d\d\/24$/);
      assert.ok(await ping({ pid: web.pid }, '203.0.113.5'));
      // Docker's own eth0 stays and keeps the default route
      assert.ok(
        (await readState({ pid: web.pid })).routes.some(
          (r) => r.includes('"dev":"eth0"') && r.includes('"dst":"default"'),
        ),
      );
      await d.stopContainer(db.name);
      const db2 = await d.start(db.name);
      const st = JSON.parse(
        (await cli(['status', 'recipes/docker-web.yaml', ...set, '--json'], env)).stdout,
      ) as { inSync: boolean; drift: { where: string; what: string }[] };
      assert.equal(st.inSync, false);
      assert.ok(
        st.drift.some((x) => /create veth .* with its peer "eth1" inside docker:/.test(x.what)),
        JSON.stringify(st.drift),
      );
      assert.equal((await cli(['apply', 'recipes/docker-web.yaml', ...set], env)).code, 0);
      assert.ok((await readState({ pid: db2.pid })).links.find((l) => l.name === 'eth1'));
      assert.ok(await ping({ pid: web.pid }, '203.0.113.5'), 'repaired');
      assert.equal((await cli(['destroy', 'recipes/docker-web.yaml', ...set], env)).code, 0);
      assert.equal(
        (await readState({ pid: web.pid })).links.find((l) => l.name === 'eth1'),
        undefined,
      );
    }),
);
