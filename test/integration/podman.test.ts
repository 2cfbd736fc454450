/**
 * Real Podman containers as targets (test/helpers/podman.ts: podman 4.3 run inside the sandbox,
 * its storage and configuration in a temporary directory, containers from a busybox rootfs).
 * pipefitter finds them with its own `podman container inspect`, which sees the same storage
 * through the environment the CLI is given (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { cli } from '../helpers/cli.js';
import { startPodman } from '../helpers/podman.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';
import { tempStateDir } from '../helpers/state-dir.js';

const globalAddrs = (l: { addrs: string[] } | undefined): string[] =>
  (l?.addrs ?? []).filter((a) => !a.startsWith('fe80')).sort();

const errorCode = (stdout: string): string => (JSON.parse(stdout) as { error: { code: string } }).error.code;

test('attach to podman containers by podman:NAME and podman:ID, read back, ping across, detach', (t) =>
  withSandbox(t, async (sb) => {
    const p = await startPodman(sb);
    const stateDir = await tempStateDir(t, 'podman');
    const env = { ...p.env, PIPEFITTER_STATE_DIR: stateDir, PATH: process.env.PATH ?? '' };
    const web = await p.run(sb.name('web'));
    const db = await p.run(sb.name('db'));
    const br = sb.name('br').slice(0, 15);
    const mac = '02:00:c0:00:02:14';
    const spaces = ['sandbox', { pid: web.pid }, { pid: db.pid }] as const;
    const before = await snapshot(spaces);

    const a = await cli(
      [
        'attach',
        `podman:${web.name}`,
        '--bridge',
        br,
        '--bridge-ip',
        '192.0.2.1/24',
        '--ip',
        '192.0.2.20/24',
        '--mac',
        mac,
        '--gateway',
        '192.0.2.1',
        '--json',
      ],
      env,
    );
    assert.equal(a.code, 0, a.stderr);
    // a short ID names the same container; the record keeps the full ID
    const b = await cli(
      ['attach', `podman:${db.id.slice(0, 12)}`, '--bridge', br, '--ip', '192.0.2.21/24'],
      env,
    );
    assert.equal(b.code, 0, b.stderr);
    const records = await Promise.all(
      (await readdir(`${stateDir}/attachments`)).map(
        async (f) =>
          JSON.parse(await readFile(`${stateDir}/attachments/${f}`, 'utf8')) as { target: { id: string } },
      ),
    );
    assert.deepEqual(records.map((r) => r.target.id).sort(), [`podman:${db.id}`, `podman:${web.id}`].sort());

    const inWeb = await readState({ pid: web.pid });
    const eth1 = inWeb.links.filter((l) => l.name === 'eth1');
    assert.equal(eth1.length, 1);
    assert.equal(eth1[0]!.mac, mac);
    assert.deepEqual(globalAddrs(eth1[0]), ['192.0.2.20/24']);
    assert.deepEqual(
      routes(inWeb)
        .filter((r) => r.dst === 'default')
        .map((r) => [r.gateway, r.dev]),
      [['192.0.2.1', 'eth1']],
    );
    assert.deepEqual(globalAddrs(link(await readState({ pid: db.pid }), 'eth1')), ['192.0.2.21/24']);
    assert.equal((await readState('sandbox')).links.filter((l) => l.master === br).length, 2);
    assert.ok(await ping({ pid: web.pid }, '192.0.2.21'), 'ping across the bridge');
    assert.ok(await ping({ pid: db.pid }, '192.0.2.1'), "ping the bridge's own address");

    const shown = await cli(['show', `podman:${web.name}`, '--json'], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /"eth1"/);

    assert.equal((await cli(['detach', `podman:${web.name}`], env)).code, 0);
    const d = await cli(['detach', `podman:${db.id}`], env);
    assert.equal(d.code, 0, d.stderr);
    await expectState(spaces, before, 'detach leaves both containers and the host as before');
    assert.deepEqual(await readdir(`${stateDir}/attachments`), [], 'no record left');
  }));

test('podman: a stopped container is E_TARGET_STOPPED, a missing one E_TARGET_NOT_FOUND; nothing is touched (exit 2)', (t) =>
  withSandbox(t, async (sb) => {
    const p = await startPodman(sb);
    const stateDir = await tempStateDir(t, 'podmanerr');
    const env = { ...p.env, PIPEFITTER_STATE_DIR: stateDir, PATH: process.env.PATH ?? '' };
    const c = await p.run(sb.name('off'));
    await p.stop(c.name);
    assert.equal((await p.inspect(c.name)).running, false);
    const br = sb.name('br').slice(0, 15);
    const before = await snapshot(['sandbox']);

    const stopped = await cli(
      ['attach', `podman:${c.name}`, '--bridge', br, '--ip', '192.0.2.30/24', '--json'],
      env,
    );
    assert.equal(stopped.code, 2, stopped.stderr);
    assert.equal(errorCode(stopped.stdout), 'E_TARGET_STOPPED');
    const human = await cli(['attach', `podman:${c.name}`, '--bridge', br, '--ip', '192.0.2.30/24'], env);
    assert.equal(human.code, 2);
    assert.match(human.stderr, new RegExp(`podman start ${c.name}`), 'the hint says how to start it');

    const missing = await cli(
      ['attach', `podman:${sb.name('nosuch')}`, '--bridge', br, '--ip', '192.0.2.31/24', '--json'],
      env,
    );
    assert.equal(missing.code, 2, missing.stderr);
    assert.equal(errorCode(missing.stdout), 'E_TARGET_NOT_FOUND');

    await expectState(['sandbox'], before, 'the refusals leave the host as before');

    // its name again once it runs: attached, then detached
    const on = await p.start(c.name);
    const started = await snapshot(['sandbox']);
    const ok = await cli(['attach', `podman:${c.name}`, '--bridge', br, '--ip', '192.0.2.30/24'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(globalAddrs(link(await readState({ pid: on.pid }), 'eth1')), ['192.0.2.30/24']);
    assert.equal((await cli(['detach', `podman:${c.name}`], env)).code, 0);
    await expectState(['sandbox'], started, 'the detach leaves the host as before');
  }));
