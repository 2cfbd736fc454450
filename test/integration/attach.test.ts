import { test } from 'node:test';
import { argvOf } from '../../src/render/ip.js';
import type { Step } from '../../src/model/step.js';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { show } from '../../src/api/show.js';
import { isPipefitterError } from '../../src/errors.js';
import { broadcasts, ipJson, link, ping, readState, routes } from '../helpers/read-back.js';
import { cli } from '../helpers/cli.js';
import { expectState, roundTrip, snapshot } from '../helpers/round-trip.js';
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

test('moving a host interface in (--phys): round trip; it comes home under its name, up, with its alias, addresses and routes', (t) =>
  withSandbox(t, async (sb) => {
    // the host's own alias, MTU, addresses and a route through it: moved out with it, put back by rollback and detach
    const nic = await sb.dressedHostNic('p');
    const n1 = await sb.netns('p1');
    await roundTrip({
      input: { target: `netns:${n1}`, phys: nic, ifname: 'wan0', ip: '203.0.113.2/30', mtu: 1400 },
      spaces: ['sandbox', { netns: n1 }],
      detach: [{ target: `netns:${n1}`, ifname: 'wan0' }],
      check: ([host, inside]) => {
        assert.equal(link(host!, nic), undefined);
        assert.ok(!routes(host!).some((r) => r.dst === '203.0.113.128/25'), 'its route left with it');
        const l = link(inside!, 'wan0');
        assert.equal(l?.mtu, 1400);
        assert.deepEqual(
          l?.addrs.filter((x) => !x.startsWith('fe80')),
          ['203.0.113.2/30'],
        );
      },
    });
    assert.deepEqual(await broadcasts('sandbox', nic), { '198.51.100.5/24': '198.51.100.255' });
  }));

test('--phys refuses a device with more addresses than it can remember, unless --force', (t) =>
  withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('q');
    for (let i = 1; i <= 12; i++)
      await execa('ip', ['addr', 'add', `2001:db8:77::${i}/64`, 'dev', nic, 'nodad']);
    const n1 = await sb.netns('q1');
    const before = await snapshot(['sandbox', { netns: n1 }]);
    const r = await cli(['attach', `netns:${n1}`, '--phys', nic, '--ip', '203.0.113.2/30']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /more addresses and routes than pipefitter can remember/);
    assert.match(r.stderr, /--force/);
    await expectState(['sandbox', { netns: n1 }], before, 'nothing touched');
    const f = await cli(['attach', `netns:${n1}`, '--phys', nic, '--ip', '203.0.113.2/30', '--force']);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stderr, /they are not put back/);
    assert.equal((await cli(['detach', `netns:${n1}`])).code, 0);
    assert.deepEqual(
      link(await readState('sandbox'), nic)?.addrs.filter((x) => !x.startsWith('fe80')),
      [],
    );
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

test('detach of one end of a pair puts back the default route the other end replaced (--peer-gateway)', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    // b has an uplink with its own default route, which the pair's --peer-gateway replaces
    const b = await sb.dockerLike();
    const spaces = ['sandbox', { pid: a.pid }, { pid: b.pid }] as const;
    const before = await snapshot(spaces);
    const l = await cli([
      'link',
      `pid:${a.pid}:p2p0`,
      `pid:${b.pid}:p2p0`,
      '--ip',
      '203.0.113.21/30',
      '--peer-ip',
      '203.0.113.22/30',
      '--peer-gateway',
      '203.0.113.21',
    ]);
    assert.equal(l.code, 0, l.stderr);
    const via = routes(await readState({ pid: b.pid }))
      .filter((r) => r.dst === 'default')
      .map((r) => r.dev);
    assert.deepEqual(via, ['p2p0'], 'the pair took the default route');
    const d = await cli(['detach', `pid:${a.pid}`, '--ifname', 'p2p0']);
    assert.equal(d.code, 0, d.stderr);
    await expectState(spaces, before, 'both ends gone and the default route through up0 back');
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
              if (argvOf(s)[1] === 'addr')
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
    await expectState(spaces, before, 'the state is as before');
  }));

test('another MTU, MAC or address is changed in place (same ifindex); another bridge needs --replace', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const br = sb.name('cf').slice(0, 15);
    const br2 = sb.name('cg').slice(0, 15);
    await attach({ target: `pid:${a.pid}`, bridge: br, ip: '192.0.2.10/24' });
    await attach({ target: `pid:${a.pid}`, bridge: br2, ifname: 'eth9', ip: '198.51.100.9/24' });
    const ifindex = async (): Promise<number> =>
      ((await ipJson({ pid: a.pid }, ['link', 'show', 'dev', 'eth1'])) as { ifindex: number }[])[0]!.ifindex;
    const first = await ifindex();
    // an address added by hand, which the attach did not ask for
    await execa('nsenter', [
      `--net=/proc/${a.pid}/ns/net`,
      'ip',
      'addr',
      'add',
      '192.0.2.99/24',
      'dev',
      'eth1',
    ]);
    const changed = await attach({
      target: `pid:${a.pid}`,
      bridge: br,
      ip: '192.0.2.20/24',
      mtu: 1400,
      mac: '02:00:00:00:00:20',
    });
    assert.equal(changed.applied, true);
    assert.ok(changed.plan.notes.some((n) => /MTU of eth1 changes from 1500 to 1400 in place/.test(n)));
    assert.ok(changed.plan.notes.some((n) => /192\.0\.2\.99\/24 is removed from eth1/.test(n)));
    assert.equal(await ifindex(), first, 'the same link, changed in place');
    const e = link(await readState({ pid: a.pid }), 'eth1');
    assert.deepEqual(
      e?.addrs.filter((x) => !x.startsWith('fe80')),
      ['192.0.2.20/24'],
    );
    assert.equal(e?.mtu, 1400);
    assert.equal(e?.mac, '02:00:00:00:00:20');
    assert.equal(link(await readState('sandbox'), `veth1pl${a.pid}`)?.mtu, 1400, 'the host end follows');
    assert.equal(
      (
        await attach({
          target: `pid:${a.pid}`,
          bridge: br,
          ip: '192.0.2.20/24',
          mtu: 1400,
          mac: '02:00:00:00:00:20',
        })
      ).applied,
      false,
      'and then it is in place',
    );

    // a port of another bridge is not something to change in place
    const spaces = ['sandbox', { pid: a.pid }] as const;
    const before = await snapshot(spaces);
    await assert.rejects(
      attach({ target: `pid:${a.pid}`, bridge: br2, ip: '192.0.2.20/24' }),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_CONFLICT' && /--replace/.test(e.hint ?? ''),
    );
    await expectState(spaces, before, 'the state is as before');
    await attach({ target: `pid:${a.pid}`, bridge: br2, ip: '192.0.2.20/24' }, { replace: true });
    assert.equal(link(await readState('sandbox'), `veth1pl${a.pid}`)?.master, br2);
    assert.notEqual(await ifindex(), first, '--replace makes a new link');
    await detach({ target: `pid:${a.pid}`, ifname: 'eth9' });
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
    const before = await snapshot([ns]);
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
    await expectState([ns], before, 'detach puts the old default route back');
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
    const announces = (r: { plan: { steps: readonly Step[] } }): boolean =>
      r.plan.steps.some((s) => argvOf(s)[0] === 'arping');

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

test('--bridge-ip on a bridge pipefitter did not make: detach removes exactly what was added', (t) =>
  withSandbox(t, async (sb) => {
    const [a, b] = [await sb.container(), await sb.container()];
    const br = sb.name('bi').slice(0, 15);
    await execa('ip', ['link', 'add', 'name', br, 'type', 'bridge']);
    await execa('ip', ['addr', 'add', '198.51.100.1/24', 'dev', br]); // the operator's own
    await execa('ip', ['link', 'set', 'dev', br, 'up']);
    const before = await snapshot(['sandbox']);
    const ask = { bridge: br, bridgeIp: ['192.0.2.1/24', '198.51.100.1/24'] };
    await attach({ target: `pid:${a.pid}`, ip: '192.0.2.10/24', ...ask });
    await attach({ target: `pid:${b.pid}`, ip: '192.0.2.11/24', ...ask });
    assert.deepEqual(
      link(await readState('sandbox'), br)?.addrs.filter((x) => !x.startsWith('fe80')),
      ['192.0.2.1/24', '198.51.100.1/24'],
    );
    await detach({ target: `pid:${a.pid}` });
    assert.ok(link(await readState('sandbox'), br)?.addrs.includes('192.0.2.1/24'), 'still asked for by b');
    const last = await detach({ target: `pid:${b.pid}` });
    assert.ok(
      last.plan.notes.some((n) => n.includes('192.0.2.1/24 was added to bridge')),
      last.plan.notes.join('\n'),
    );
    // (the bridge's MAC and carrier follow its ports, a kernel rule: the snapshot leaves them out)
    await expectState(['sandbox'], before, "the added address is gone, the operator's stays");
    await execa('ip', ['link', 'del', 'dev', br]);
  }));

test('one target spelled two ways is one target: pid:N and /proc/N/ns/net, netns:X and /run/netns/X', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const n = await sb.netns('sp');
    const br = sb.name('sp').slice(0, 15);
    const before = await snapshot(['sandbox', { pid: a.pid }, { netns: n }]);
    const spellings = [
      [`pid:${a.pid}`, `/proc/${a.pid}/ns/net`],
      [`netns:${n}`, `/run/netns/${n}`],
    ] as const;
    for (const [one, other] of spellings) {
      await attach({ target: one, bridge: br, ip: '192.0.2.10/24', bridgeIp: '192.0.2.1/24' });
      const again = await attach({
        target: other,
        bridge: br,
        ip: '192.0.2.10/24',
        bridgeIp: '192.0.2.1/24',
      });
      assert.equal(again.applied, false, `${other} is ${one}: already in place`);
      const shown = await cli(['show', other, '--json']);
      const eth1 = (
        JSON.parse(shown.stdout) as {
          interfaces: { name: string; managed: boolean; hostSide?: { name: string } }[];
        }
      ).interfaces.find((i) => i.name === 'eth1');
      assert.ok(eth1?.managed && eth1.hostSide?.name, `show ${other} finds the host side: ${shown.stdout}`);
      const d = await cli(['detach', other]);
      assert.equal(d.code, 0, d.stderr);
    }
    await expectState(
      ['sandbox', { pid: a.pid }, { netns: n }],
      before,
      'nothing left: host ends and the bridge went too',
    );
  }));

test('routes: a second route to one destination is refused; a gateway outside the subnet is onlink, and said', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const br = sb.name('rt').slice(0, 15);
    const spaces = ['sandbox', { pid: a.pid }] as const;
    const before = await snapshot(spaces);
    const base = ['attach', `pid:${a.pid}`, '--bridge', br, '--ip', '192.0.2.10/24'];
    const twice = await cli([
      ...base,
      '--route',
      '198.51.100.0/24:192.0.2.254',
      '--route',
      '198.51.100.0/24@192.0.2.253',
    ]);
    assert.equal(twice.code, 2, twice.stderr);
    assert.match(
      twice.stderr,
      /--route "198\.51\.100\.0\/24@192\.0\.2\.253": a second route to 198\.51\.100\.0\/24/,
    );
    await expectState(spaces, before, 'nothing touched');
    const onlink = await cli([...base, '--route', '198.51.100.0/24:203.0.113.1']);
    assert.equal(onlink.code, 0, onlink.stderr);
    assert.match(
      onlink.stderr,
      /203\.0\.113\.1 is outside the subnets of eth1; the route .* is added with onlink/,
    );
    const r = routes(await readState({ pid: a.pid })).find((x) => x.dst === '198.51.100.0/24');
    assert.equal(r?.gateway, '203.0.113.1');
    assert.ok((r?.flags as string[] | undefined)?.includes('onlink'), JSON.stringify(r));
    await detach({ target: `pid:${a.pid}` });
    await expectState(spaces, before, 'the state is as before');
  }));
