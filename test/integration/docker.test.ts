/**
 * Real Docker containers, from a dockerd started inside the sandbox (test/helpers/docker.ts).
 * The busybox image is made with the Engine API's import from a busybox-static rootfs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { show } from '../../src/api/show.js';
import { createRunner } from '../../src/exec/runner.js';
import type { Runner } from '../../src/exec/runner.js';
import { isPipefitterError } from '../../src/errors.js';
import type { DockerHarness } from '../helpers/docker.js';
import { dockerSkipReason, useDocker } from '../helpers/docker.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';

const skip = await dockerSkipReason();
if (skip) console.log(`# docker tests skipped: ${skip}`);
let docker: DockerHarness | undefined;
const savedHost = process.env.DOCKER_HOST;

before(async () => {
  if (skip) return;
  docker = await useDocker();
  // pipefitter finds Docker the way users point it there: DOCKER_HOST.
  process.env.DOCKER_HOST = docker.dockerHost;
});
after(async () => {
  await docker?.stop();
  if (savedHost === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = savedHost;
});

const d = (): DockerHarness => {
  if (!docker) throw new Error('docker harness not started');
  return docker;
};

test('attach to containers by bare name and docker:ID, ping across the bridge, detach', { skip }, (t) =>
  withSandbox(t, async (sb) => {
    await needTools('iptables');
    const web = await d().run(sb.name('web'));
    const db = await d().run(sb.name('db'));
    const br = sb.name('br').slice(0, 15);
    const spaces = ['sandbox', { pid: web.pid }, { pid: db.pid }] as const;
    const before = await snapshot(spaces);
    const a = await attach({ target: web.name, bridge: br, ip: '192.0.2.10/24' });
    assert.equal(a.targets[0]?.id, `docker:${web.id}`);
    await attach({ target: `docker:${db.id.slice(0, 12)}`, bridge: br, ip: '192.0.2.11/24' });
    const host = await readState('sandbox');
    assert.equal(link(host, `veth1pl${web.pid}`)?.master, br, 'pipework host-side name');
    assert.deepEqual(
      link(await readState({ pid: web.pid }), 'eth1')?.addrs.filter((x) => !x.startsWith('fe80')),
      ['192.0.2.10/24'],
    );
    // Docker set FORWARD to DROP and br_netfilter is on: without pipefitter's accept rule this ping is lost.
    assert.ok(await ping({ pid: web.pid }, '192.0.2.11'));
    const rules = (await execa('iptables', ['-S', 'DOCKER-USER'])).stdout;
    assert.match(rules, new RegExp(`-i ${br} -o ${br} .*pf1:bridge=${br}.* -j ACCEPT`));
    // Docker's own eth0 and default route are untouched without --gateway
    const r = routes(await readState({ pid: web.pid })).filter((x) => x.dst === 'default');
    assert.deepEqual(
      r.map((x) => x.dev),
      ['eth0'],
    );
    const v = await show(web.name);
    assert.deepEqual(
      v.interfaces.filter((i) => i.managed).map((i) => i.name),
      ['eth1'],
    );
    assert.equal(
      (await attach({ target: web.name, bridge: br, ip: '192.0.2.10/24' })).applied,
      false,
      'idempotent',
    );
    await detach({ target: web.name });
    await detach({ target: db.name });
    await expectState(spaces, before, 'detach leaves both containers and the host as before');
    assert.doesNotMatch(
      (await execa('iptables', ['-S', 'DOCKER-USER'])).stdout,
      new RegExp(br),
      'the accept rule goes with the bridge',
    );
  }),
);

test("--gateway replaces Docker's default route and says so; detach restores it", { skip }, (t) =>
  withSandbox(t, async (sb) => {
    const web = await d().run(sb.name('gw'));
    const before = await snapshot([{ pid: web.pid }]);
    const out = await attach({
      target: web.name,
      bridge: sb.name('gw').slice(0, 15),
      ip: '198.51.100.10/24',
      gateway: '198.51.100.1',
    });
    assert.ok(
      out.plan.notes.some((n) => /dev eth0 is replaced/.test(n) && /ports published through eth0/.test(n)),
    );
    const defaults = routes(await readState({ pid: web.pid })).filter((x) => x.dst === 'default');
    assert.deepEqual(
      defaults.map((x) => [x.gateway, x.dev]),
      [['198.51.100.1', 'eth1']],
    );
    await detach({ target: web.name });
    await expectState([{ pid: web.pid }], before, "detach puts Docker's default route back");
  }),
);

test('a stopped container, an unknown one, and one that restarted', { skip }, (t) =>
  withSandbox(t, async (sb) => {
    const c = await d().run(sb.name('st'));
    const br = sb.name('st').slice(0, 15);
    await attach({ target: c.name, bridge: br, ip: '192.0.2.10/24' });
    await d().stopContainer(c.name);
    await assert.rejects(
      attach({ target: c.name, bridge: br }),
      (e: unknown) =>
        isPipefitterError(e) && e.code === 'E_TARGET_STOPPED' && /docker start/.test(e.hint ?? ''),
    );
    await assert.rejects(
      attach({ target: `docker:${sb.name('nope')}`, bridge: br }),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_TARGET_NOT_FOUND',
    );
    // After a restart the interface is gone with the old namespace; attach puts it back.
    const again = await d().start(c.name);
    assert.equal(link(await readState({ pid: again.pid }), 'eth1'), undefined);
    assert.equal((await detach({ target: c.name })).applied, false);
    await attach({ target: c.name, bridge: br, ip: '192.0.2.10/24' });
    assert.ok(link(await readState({ pid: again.pid }), 'eth1'));
    await detach({ target: c.name });
  }),
);

test(
  'the target is resolved again right before acting: a restart in between changes nothing',
  { skip },
  (t) =>
    withSandbox(t, async (sb) => {
      const c = await d().run(sb.name('rr'));
      const br = sb.name('rr').slice(0, 15);
      // A runner that restarts the container as soon as its namespace has been observed, so the
      // restart falls between observation and the first change.
      const real = createRunner();
      let restarted = false;
      const mutations: string[] = [];
      const runner: Runner = {
        get spawned() {
          return real.spawned;
        },
        async run(argv, o) {
          const observing = argv.includes('-S') || (o.input ?? '').startsWith('addr show');
          if (!observing) mutations.push(argv.map((a) => (typeof a === 'string' ? a : '<netns>')).join(' '));
          const r = await real.run(argv, o);
          if (!restarted && o.netns.kind === 'pid' && o.netns.pid === c.pid) {
            restarted = true;
            await d().stopContainer(c.name);
            await d().start(c.name);
          }
          return r;
        },
      };
      // A Docker target is its process's namespace (/proc/PID/ns/net): after the restart that
      // process is gone, so the re-check says so. (A namespace made anew under the same name, the
      // identity check proper, is test/integration/target-recheck.test.ts.)
      await assert.rejects(
        attach({ target: c.name, bridge: br, ip: '192.0.2.10/24' }, { runner }),
        (e: unknown) =>
          isPipefitterError(e) &&
          e.code === 'E_TARGET_STOPPED' &&
          e.message ===
            `docker:${c.name}: went away before anything was changed (stopped, or restarted: its process is gone)`,
      );
      assert.ok(restarted);
      assert.deepEqual(mutations, [], 'nothing ran after the observations');
      const host = await readState('sandbox');
      assert.equal(link(host, br), undefined, 'no bridge was made');
      assert.ok(!host.links.some((l) => l.name.startsWith('veth1pl')), 'no host-side veth was made');
    }),
);

test('macvlan into a Docker container, reachable from a second macvlan container', { skip }, (t) =>
  withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('d');
    const a = await d().run(sb.name('ma'), { network: 'none' });
    const b = await d().run(sb.name('mb'), { network: 'none' });
    await attach({ target: a.name, macvlan: nic, ip: '203.0.113.20/24', ifname: 'lan0' });
    await attach({ target: b.name, macvlan: nic, ip: '203.0.113.21/24', ifname: 'lan0' });
    assert.ok(await ping({ pid: a.pid }, '203.0.113.21'));
    const { stdout } = await execa('nsenter', [
      `--net=/proc/${a.pid}/ns/net`,
      '--',
      'ip',
      '-br',
      'addr',
      'show',
      'lan0',
    ]);
    assert.match(stdout, /203\.0\.113\.20\/24/);
    await detach({ target: a.name, ifname: 'lan0' });
    await detach({ target: b.name, ifname: 'lan0' });
  }),
);
