import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { show } from '../../src/api/show.js';
import { isPipefitterError } from '../../src/errors.js';
import { ipJson, link, ping, readState, routes } from '../helpers/read-back.js';
import { roundTrip, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';

test('veth into a new bridge (pid target): round trip, ping across, pipework host name', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const b = await sb.container();
    const br = sb.name('br').slice(0, 15);
    // b is on the bridge first, so a's attach adopts it and detach must leave it
    await attach({ target: `pid:${b.pid}`, bridge: br, ip: '192.0.2.11/24' });
    await roundTrip({
      input: {
        target: `pid:${a.pid}`,
        bridge: br,
        ip: ['192.0.2.10/24', '2001:db8::10/64'],
        gateway: '192.0.2.1',
        mtu: 1400,
        mac: '02:00:00:00:00:10',
        route: '198.51.100.0/24:192.0.2.254',
      },
      spaces: ['sandbox', { pid: a.pid }, { pid: b.pid }],
      detach: [{ target: `pid:${a.pid}`, ifname: 'eth1' }],
      check: async ([host, inside]) => {
        const h = link(host!, `veth1pl${a.pid}`);
        assert.equal(h?.master, br);
        assert.equal(h?.mtu, 1400);
        const e = link(inside!, 'eth1');
        assert.deepEqual(
          e?.addrs.filter((x) => !x.startsWith('fe80')),
          ['192.0.2.10/24', '2001:db8::10/64'],
        );
        assert.equal(e?.mac, '02:00:00:00:00:10');
        assert.equal(e?.up, true);
        const rs = routes(inside!);
        assert.ok(rs.some((r) => r.dst === 'default' && r.gateway === '192.0.2.1' && r.dev === 'eth1'));
        assert.ok(rs.some((r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.254'));
        assert.ok(await ping({ pid: a.pid }, '192.0.2.11'), 'a reaches b across the bridge');
      },
    });
    await detach({ target: `pid:${b.pid}` });
    assert.equal(
      link(await readState('sandbox'), br),
      undefined,
      'the bridge pipefitter made goes with its last port',
    );
  }));

test('macvlan on a host NIC (named netns targets): round trip, two macvlans reach each other', (t) =>
  withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('m');
    const n1 = await sb.netns('m1');
    const n2 = await sb.netns('m2');
    await attach({ target: `netns:${n2}`, macvlan: nic, ip: '198.51.100.8/24', ifname: 'lan0' });
    await roundTrip({
      input: { target: `netns:${n1}`, macvlan: nic, mode: 'bridge', ip: '198.51.100.7/24', ifname: 'lan0' },
      spaces: ['sandbox', { netns: n1 }],
      detach: [{ target: `netns:${n1}`, ifname: 'lan0' }],
      check: async ([, inside]) => {
        const l = link(inside!, 'lan0');
        assert.equal(l?.kind, 'macvlan');
        assert.deepEqual(
          l?.addrs.filter((x) => !x.startsWith('fe80')),
          ['198.51.100.7/24'],
        );
        assert.ok(await ping({ netns: n1 }, '198.51.100.8'));
      },
    });
  }));

test('moving a host interface in (--phys): round trip; it comes home under its name, up, with its alias', (t) =>
  withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('p');
    await execa('ip', ['link', 'set', 'dev', nic, 'alias', 'rack 3 uplink', 'mtu', '1450']);
    const n1 = await sb.netns('p1');
    await roundTrip({
      input: { target: `netns:${n1}`, phys: nic, ifname: 'wan0', ip: '203.0.113.2/30', mtu: 1400 },
      spaces: ['sandbox', { netns: n1 }],
      detach: [{ target: `netns:${n1}`, ifname: 'wan0' }],
      check: ([host, inside]) => {
        assert.equal(link(host!, nic), undefined);
        const l = link(inside!, 'wan0');
        assert.equal(l?.mtu, 1400);
        assert.deepEqual(
          l?.addrs.filter((x) => !x.startsWith('fe80')),
          ['203.0.113.2/30'],
        );
      },
    });
  }));

test('a veth straight between two containers (link): round trip and ping', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const n = await sb.netns('l2');
    await roundTrip({
      input: { a: `pid:${a.pid}:eth2`, b: `netns:${n}:eth2`, ip: '192.0.2.21/30', peerIp: '192.0.2.22/30' },
      spaces: ['sandbox', { pid: a.pid }, { netns: n }],
      detach: [{ target: `pid:${a.pid}`, ifname: 'eth2' }],
      check: async ([host, ia, ib]) => {
        assert.equal(host!.links.filter((l) => l.kind === 'veth').length, 0, 'nothing on the host');
        assert.equal(link(ia!, 'eth2')?.kind, 'veth');
        assert.equal(link(ib!, 'eth2')?.kind, 'veth');
        assert.ok(await ping({ pid: a.pid }, '192.0.2.22'));
      },
    });
  }));

test('a real failure in the middle of a batch rolls back to the exact state before', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const br = sb.name('rb').slice(0, 15);
    const spaces = ['sandbox', { pid: a.pid }] as const;
    const before = await snapshot(spaces);
    // Right before the address step, put the same address there: the kernel answers "File exists".
    await assert.rejects(
      attach(
        { target: `pid:${a.pid}`, bridge: br, ip: '192.0.2.10/24', gateway: '192.0.2.1' },
        {
          hooks: {
            beforeStep: async (s) => {
              if (s.argv[1] === 'addr')
                await execa('nsenter', [
                  `--net=/proc/${a.pid}/ns/net`,
                  'ip',
                  'addr',
                  'add',
                  '192.0.2.10/24',
                  'dev',
                  'eth1',
                ]);
            },
          },
        },
      ),
      (e: unknown) =>
        isPipefitterError(e) &&
        e.code === 'E_STEP_FAILED' &&
        e.failure?.reason === 'exists' &&
        /already assigned|File exists/.test(e.message) &&
        (e.rolledBack ?? 0) > 0,
    );
    assert.deepEqual(await snapshot(spaces), before);
  }));

test('conflicts: same ifname with other settings is refused (nothing changes) unless --replace', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const br = sb.name('cf').slice(0, 15);
    await attach({ target: `pid:${a.pid}`, bridge: br, ip: '192.0.2.10/24' });
    const spaces = ['sandbox', { pid: a.pid }] as const;
    const before = await snapshot(spaces);
    await assert.rejects(
      attach({ target: `pid:${a.pid}`, bridge: br, ip: '192.0.2.20/24' }),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_CONFLICT',
    );
    assert.deepEqual(await snapshot(spaces), before);
    await attach({ target: `pid:${a.pid}`, bridge: br, ip: '192.0.2.20/24' }, { replace: true });
    assert.deepEqual(
      link(await readState({ pid: a.pid }), 'eth1')?.addrs.filter((x) => !x.startsWith('fe80')),
      ['192.0.2.20/24'],
    );
    // a foreign interface is not removed by detach
    await execa('nsenter', [
      `--net=/proc/${a.pid}/ns/net`,
      'ip',
      'link',
      'add',
      'eth7',
      'type',
      'veth',
      'peer',
      'name',
      'eth8',
    ]);
    await assert.rejects(
      detach({ target: `pid:${a.pid}`, ifname: 'eth7' }),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_NOT_OWNED',
    );
    await detach({ target: `pid:${a.pid}` });
  }));

test('the gateway replaces the default route; detach puts the old one back', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const ns = { pid: a.pid };
    const enter = ['nsenter', `--net=/proc/${a.pid}/ns/net`, '--'];
    // a Docker-like eth0 with its default route
    await execa(enter[0]!, [
      ...enter.slice(1),
      'ip',
      'link',
      'add',
      'eth0',
      'type',
      'veth',
      'peer',
      'name',
      'eth0p',
    ]);
    await execa(enter[0]!, [...enter.slice(1), 'ip', 'addr', 'add', '203.0.113.5/24', 'dev', 'eth0']);
    await execa(enter[0]!, [...enter.slice(1), 'ip', 'link', 'set', 'dev', 'eth0', 'up']);
    await execa(enter[0]!, [
      ...enter.slice(1),
      'ip',
      'route',
      'add',
      'default',
      'via',
      '203.0.113.1',
      'dev',
      'eth0',
      'onlink',
    ]);
    const before = await readState(ns);
    const out = await attach({
      target: `pid:${a.pid}`,
      bridge: sb.name('gw').slice(0, 15),
      ip: '192.0.2.10/24',
      gateway: '192.0.2.1',
    });
    assert.ok(
      out.plan.notes.some((n) => /default route via 203\.0\.113\.1 dev eth0 is replaced/.test(n)),
      'says what a gateway change does',
    );
    const defaults = routes(await readState(ns)).filter((r) => r.dst === 'default');
    assert.deepEqual(
      defaults.map((r) => [r.gateway, r.dev]),
      [['192.0.2.1', 'eth1']],
      'exactly one default route',
    );
    await detach({ target: `pid:${a.pid}` });
    assert.deepEqual(await readState(ns), before);
  }));

test('gratuitous ARP: a neighbour learns the new address without waiting or asking', (t) =>
  withSandbox(t, async (sb) => {
    await needTools('arping');
    const a = await sb.container();
    const b = await sb.container();
    const br = sb.name('ga').slice(0, 15);
    await attach({ target: `pid:${b.pid}`, bridge: br, ip: '192.0.2.11/24' });
    await execa('nsenter', [
      `--net=/proc/${b.pid}/ns/net`,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.conf.eth1.arp_accept=1',
    ]);
    const started = performance.now();
    await attach({ target: `pid:${a.pid}`, bridge: br, ip: '192.0.2.10/24', mac: '02:00:00:00:0a:0a' });
    const took = performance.now() - started;
    let entry: unknown;
    for (let i = 0; i < 50 && !entry; i++) {
      const neigh = JSON.parse(
        (await execa('nsenter', [`--net=/proc/${b.pid}/ns/net`, 'ip', '-j', 'neigh', 'show', 'dev', 'eth1']))
          .stdout,
      ) as { dst: string; lladdr?: string }[];
      entry = neigh.find((n) => n.dst === '192.0.2.10' && n.lladdr === '02:00:00:00:0a:0a');
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(entry, 'b has a neighbour entry for a from its gratuitous ARP');
    t.diagnostic(`attach with announce took ${took.toFixed(0)} ms`);
    await detach({ target: `pid:${a.pid}` });
    await detach({ target: `pid:${b.pid}` });
  }));

test("gratuitous ARP only where a cache may hold the address: the host's stale entry is corrected", (t) =>
  withSandbox(t, async (sb) => {
    await needTools('arping');
    const a = await sb.container();
    const c = await sb.container();
    // a bridge with the host on it (its address) and no ports, as an admin made it, with a fixed
    // MAC (one taken from its first port would change then, and the kernel flush its neighbours)
    const br = sb.name('gs').slice(0, 15);
    for (const args of [
      ['link', 'add', br, 'address', '02:00:00:00:0b:01', 'type', 'bridge'],
      ['addr', 'add', '192.0.2.1/24', 'dev', br],
      ['link', 'set', br, 'up'],
    ])
      await execa('ip', args);
    t.after(() => execa('ip', ['link', 'del', br], { reject: false }));
    // the host still holds 192.0.2.10 with the MAC of a container that is gone
    await execa('ip', [
      'neigh',
      'replace',
      '192.0.2.10',
      'lladdr',
      '02:00:00:00:00:99',
      'dev',
      br,
      'nud',
      'stale',
    ]);
    const hostEntry = async (): Promise<string | undefined> =>
      ((await ipJson('sandbox', ['neigh', 'show', '192.0.2.10', 'dev', br])) as { lladdr?: string }[])[0]
        ?.lladdr;
    const announces = (r: { plan: { steps: readonly { argv: readonly unknown[] }[] } }): boolean =>
      r.plan.steps.some((s) => s.argv[0] === 'arping');

    // 192.0.2.12: no port was there before and no cache holds it — nobody to tell
    // (planned only: a port made now would be an earlier port for the next attach)
    const quiet = await attach({ target: `pid:${c.pid}`, bridge: br, ip: '192.0.2.12/24' }, { dryRun: true });
    assert.equal(announces(quiet), false);
    assert.equal(await hostEntry(), '02:00:00:00:00:99');

    // 192.0.2.10: the host's cache holds it with another MAC — announced, and the kernel takes it
    const told = await attach({
      target: `pid:${a.pid}`,
      bridge: br,
      ip: '192.0.2.10/24',
      mac: '02:00:00:00:0a:0b',
    });
    assert.equal(announces(told), true);
    let mac = await hostEntry();
    for (let i = 0; i < 50 && mac !== '02:00:00:00:0a:0b'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      mac = await hostEntry();
    }
    assert.equal(mac, '02:00:00:00:0a:0b', "the host's neighbour entry now names the new MAC");
    await detach({ target: `pid:${a.pid}` });
    assert.ok(link(await readState('sandbox'), br), 'a bridge pipefitter did not make stays');
  }));

test("show: interfaces, addresses, routes, and which are pipefitter's", (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('sh');
    await attach({
      target: `netns:${n}`,
      bridge: sb.name('sh').slice(0, 15),
      ip: '192.0.2.10/24',
      gateway: '192.0.2.1',
    });
    const v = await show(`netns:${n}`);
    const e = v.interfaces.find((i) => i.name === 'eth1');
    assert.equal(e?.managed, true);
    assert.equal(e?.owner?.bridge, sb.name('sh').slice(0, 15));
    assert.ok(e?.hostSide?.name);
    assert.equal(v.interfaces.find((i) => i.name === 'lo')?.managed, false);
    assert.ok(v.routes.some((r) => r.dst === 'default' && r.via === '192.0.2.1'));
    await detach({ target: `netns:${n}` });
  }));

test('targets: path, bare netns name, unknown and gone ones', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('tg');
    const br = sb.name('tg').slice(0, 15);
    const byPath = await attach(
      { target: `/run/netns/${n}`, bridge: br, ip: '192.0.2.10/24' },
      { dryRun: true },
    );
    assert.ok(byPath.plan.steps.length > 0);
    const bare = await attach(
      { target: n, bridge: br, ip: '192.0.2.10/24' },
      { dryRun: true, docker: { socketPath: '/nonexistent/docker.sock', text: 'none' } },
    );
    assert.equal(bare.targets[0]?.label, `netns:${n}`);
    for (const target of ['netns:pf-nope', 'pid:999999', '/tmp', 'pf-no-such-thing'])
      await assert.rejects(
        attach({ target, bridge: br }, { docker: { socketPath: '/nonexistent/docker.sock', text: 'none' } }),
        (e: unknown) => isPipefitterError(e) && e.code === 'E_TARGET_NOT_FOUND',
        target,
      );
    // the host's own namespace is refused as a target
    await assert.rejects(
      attach({ target: `pid:${process.pid}`, bridge: br }),
      (e: unknown) => isPipefitterError(e) && /own network namespace/.test(e.message),
    );
  }));
