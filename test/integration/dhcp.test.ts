/**
 * DHCP through pipefitter: a real dnsmasq serves the bridge inside the sandbox; the container
 * gets a lease from its range; the host's /etc/resolv.conf is never touched; detach stops any
 * client pipefitter started and removes its state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { dhcpStateDir } from '../../src/plan/dhcp.js';
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
    await attach({ target: `netns:${n}`, bridge: br, dhcp: 'udhcpc', dhcpDns: true });
    assert.match(await readFile(`/etc/netns/${n}/resolv.conf`, 'utf8'), /nameserver 192\.0\.2\.53/);
    assert.deepEqual(await hostResolv(), resolvBefore);
    await detach({ target: `netns:${n}` });
    assert.equal(
      (await readFile(`/etc/netns/${n}/resolv.conf`, 'utf8').catch(() => '')).includes('192.0.2.53'),
      false,
    );
    await execa('rm', ['-rf', `/etc/netns/${n}`]);
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
