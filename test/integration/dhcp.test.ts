/**
 * DHCP through pipefitter: a real dnsmasq serves the bridge inside the sandbox; the container
 * gets a lease from its range; the host's /etc/resolv.conf is never touched; detach stops any
 * client pipefitter started and removes its state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { dhcpStateDir } from '../../src/plan/dhcp.js';
import { DHCP_RUNNER } from '../../src/libexec.js';
import { cli } from '../helpers/cli.js';
import { dhcpLan } from '../helpers/dnsmasq.js';
import { link, readState, routes } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';
import { expectState, snapshot } from '../helpers/round-trip.js';

const inRange = (cidr: string | undefined): boolean => {
  const m = /^192\.0\.2\.(\d+)\/24$/.exec(cidr ?? '');
  return m !== null && Number(m[1]) >= 100 && Number(m[1]) <= 150;
};

const hostResolv = async () => {
  const s = await stat('/etc/resolv.conf');
  return { bytes: await readFile('/etc/resolv.conf', 'utf8'), mtime: s.mtimeMs, ino: s.ino };
};

for (const client of ['udhcpc', 'dhclient', 'dhcpcd'] as const) {
  test(`attach --dhcp ${client}: a lease from the range, one default route, the host untouched; detach cleans up`, (t) =>
    withSandbox(t, async (sb) => {
      await needTools(client, 'dnsmasq');
      const { br } = await dhcpLan(sb, { dns: ['192.0.2.53'] });
      const c = await sb.container();
      const resolvBefore = await hostResolv();
      const out = await attach({ target: `pid:${c.pid}`, bridge: br, dhcp: client });
      assert.equal(out.leases?.length, 1);
      assert.ok(inRange(out.leases?.[0]?.lease.ip), `leased ${out.leases?.[0]?.lease.ip}`);
      assert.equal(out.leases?.[0]?.lease.router, '192.0.2.1');
      const inside = await readState({ pid: c.pid });
      assert.ok(inRange(link(inside, 'eth1')?.addrs.find((a) => !a.startsWith('fe80'))));
      assert.deepEqual(
        routes(inside)
          .filter((r) => r.dst === 'default')
          .map((r) => [r.gateway, r.dev]),
        [['192.0.2.1', 'eth1']],
      );
      assert.deepEqual(await hostResolv(), resolvBefore, "the host's /etc/resolv.conf is untouched");
      // one-shot: no client left running, but its state (for detach) is kept
      assert.ok(existsSync(dhcpStateDir(`pid:${c.pid}`, 'eth1')));
      assert.equal(
        (await attach({ target: `pid:${c.pid}`, bridge: br, dhcp: client })).applied,
        false,
        'idempotent',
      );
      await detach({ target: `pid:${c.pid}` });
      assert.equal(link(await readState({ pid: c.pid }), 'eth1'), undefined);
      assert.ok(!existsSync(dhcpStateDir(`pid:${c.pid}`, 'eth1')), 'state removed');
      assert.deepEqual(await hostResolv(), resolvBefore);
    }));
}

test("pipework's udhcpc-f form: the client keeps running, tracked; detach stops it", (t) =>
  withSandbox(t, async (sb) => {
    const { br, server } = await dhcpLan(sb, { dns: ['192.0.2.53'] });
    const c = await sb.container();
    const resolvBefore = await hostResolv();
    // verbatim pipework syntax, options passed through to udhcpc
    const r = await cli([br, `pid:${c.pid}`, 'udhcpc-f:-x hostname:pfhost']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /leased 192\.0\.2\.1\d\d\/24, router 192\.0\.2\.1/);
    const state = dhcpStateDir(`pid:${c.pid}`, 'eth1');
    const pid = Number((await readFile(`${state}/client.pid`, 'utf8')).trim());
    assert.ok(pid > 0 && existsSync(`/proc/${pid}`), 'the client is running');
    assert.equal(
      (await stat(`/proc/${pid}/ns/net`)).ino,
      (await stat(`/proc/${c.pid}/ns/net`)).ino,
      "in the container's namespace",
    );
    assert.notEqual(
      (await stat(`/proc/${pid}/ns/mnt`)).ino,
      (await stat('/proc/self/ns/mnt')).ino,
      'in a private mount namespace',
    );
    assert.match(await server.leases(), /pfhost/, 'the option reached the server');
    const d = await cli(['detach', `pid:${c.pid}`]);
    assert.equal(d.code, 0, d.stderr);
    for (
      let i = 0;
      i < 50 &&
      existsSync(`/proc/${pid}/stat`) &&
      !(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).includes(') Z');
      i++
    )
      await new Promise((res) => setTimeout(res, 50));
    const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    assert.ok(st === '' || st.includes(') Z'), 'the client is stopped');
    assert.ok(!existsSync(state));
    assert.deepEqual(await hostResolv(), resolvBefore);
  }));

test("--dhcp-dns writes the lease's DNS into the container's resolv.conf only, and detach puts it back", (t) =>
  withSandbox(t, async (sb) => {
    const { br } = await dhcpLan(sb, { dns: ['192.0.2.53'] });
    const n = await sb.netns('dd');
    const resolvBefore = await hostResolv();
    assert.equal(existsSync(`/etc/netns/${n}`), false);
    await attach({ target: `netns:${n}`, bridge: br, dhcp: 'udhcpc', dhcpDns: true });
    assert.match(await readFile(`/etc/netns/${n}/resolv.conf`, 'utf8'), /nameserver 192\.0\.2\.53/);
    assert.deepEqual(await hostResolv(), resolvBefore);
    await detach({ target: `netns:${n}` });
    // it had none: detach leaves none, nor the directory made for it
    assert.equal(existsSync(`/etc/netns/${n}/resolv.conf`), false, 'the resolv.conf dns wrote is removed');
    assert.equal(existsSync(`/etc/netns/${n}`), false, 'and the directory made for it');
    // one that had its own resolv.conf gets it back, byte for byte, in its directory
    const m = await sb.netns('dm');
    const own = "# the namespace's own\nnameserver 198.51.100.53\n";
    await mkdir(`/etc/netns/${m}`, { recursive: true });
    t.after(() => rm(`/etc/netns/${m}`, { recursive: true, force: true }));
    await writeFile(`/etc/netns/${m}/resolv.conf`, own);
    await attach({ target: `netns:${m}`, bridge: br, dhcp: 'udhcpc', dhcpDns: true });
    assert.match(await readFile(`/etc/netns/${m}/resolv.conf`, 'utf8'), /nameserver 192\.0\.2\.53/);
    await detach({ target: `netns:${m}` });
    assert.equal(await readFile(`/etc/netns/${m}/resolv.conf`, 'utf8'), own);
    assert.deepEqual(await hostResolv(), resolvBefore);
    // a "container" that shares the host's file system: refused before anything is touched
    const c = await sb.container();
    await assert.rejects(
      attach({ target: `pid:${c.pid}`, bridge: br, dhcp: 'udhcpc', dhcpDns: true }),
      /resolv\.conf is the host's/,
    );
    assert.equal(link(await readState({ pid: c.pid }), 'eth1'), undefined);
  }));

test('no DHCP server: the attach fails and is rolled back', (t) =>
  withSandbox(t, async (sb) => {
    const br = sb.name('nd').slice(0, 15);
    const c = await sb.container();
    const before = await snapshot(['sandbox', { pid: c.pid }]);
    const r = await cli(['attach', `pid:${c.pid}`, '--bridge', br, '--dhcp', 'udhcpc'], {
      PIPEFITTER_DHCP_TIMEOUT: '2',
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /DHCP/);
    await expectState(['sandbox', { pid: c.pid }], before, 'rolled back: nothing changed');
    assert.ok(!existsSync(dhcpStateDir(`pid:${c.pid}`, 'eth1')));
  }));

/** A live process (a zombie is not). */
const alive = async (pid: number): Promise<boolean> => {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return st !== '' && !/\) [ZX] /.test(st);
};

test('detach after a restart (the namespace made anew, eth1 gone with the old one): the DHCP clients are stopped and their state removed', (t) =>
  withSandbox(t, async (sb) => {
    const { br } = await dhcpLan(sb);
    // kept running (udhcpc -f), and one-shot (its state kept for detach)
    const fg = await sb.netns('rf');
    const once = await sb.netns('ro');
    await attach({ target: `netns:${fg}`, bridge: br, dhcp: 'udhcpc', dhcpForeground: true });
    await attach({ target: `netns:${once}`, bridge: br, dhcp: 'udhcpc' });
    const fgState = dhcpStateDir(`netns:${fg}`, 'eth1');
    const onceState = dhcpStateDir(`netns:${once}`, 'eth1');
    // whatever happens below, no client outlives the test
    t.after(async () => {
      for (const st of [fgState, onceState]) await execa(DHCP_RUNNER, ['stop', st], { reject: false });
    });
    const pid = Number((await readFile(`${fgState}/client.pid`, 'utf8')).trim());
    assert.ok(await alive(pid));
    const hostBefore = await readState('sandbox');
    const ports = () => hostBefore.links.filter((l) => l.master === br).map((l) => l.name);
    assert.equal(ports().length, 2);

    // what a container's restart does to its namespace: gone, and a new one under the name
    for (const n of [fg, once]) {
      await execa('ip', ['netns', 'del', n]);
      await execa('ip', ['netns', 'add', n]);
    }
    assert.equal(link(await readState({ netns: fg }), 'eth1'), undefined);
    assert.ok(
      await alive(pid),
      'the client lives on in the old namespace, and keeps it (and its port) alive',
    );
    assert.ok(existsSync(fgState) && existsSync(onceState));

    const d = await detach({ target: `netns:${fg}` });
    assert.equal(d.applied, true, 'a plan, although eth1 is gone');
    assert.match(d.script, /pipefitter-dhcp' stop |pipefitter-dhcp stop /);
    assert.equal(await alive(pid), false, 'the client is stopped');
    assert.equal(existsSync(fgState), false, 'its state is removed');
    // with its client gone, the old namespace goes, and its port leaves the bridge
    const deadline = Date.now() + 10_000;
    while ((await readState('sandbox')).links.some((l) => l.master === br && l.name === ports()[0])) {
      assert.ok(Date.now() < deadline, `the old port ${ports()[0]} is still in ${br}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await detach({ target: `netns:${once}` })).applied, true);
    assert.equal(existsSync(onceState), false, "the one-shot lease's state is removed");
    // nothing left: detach again plans nothing
    for (const n of [fg, once]) assert.equal((await detach({ target: `netns:${n}` })).applied, false);
  }));
