/**
 * Links tagged by an earlier pipefitter carry a version 1 tag (`pf1:`, URL-encoded, routes and
 * addresses as `ip` words). Detach must still read it and put back what the attachment replaced
 * or took away. The old tag is written by hand with `ip link set … alias`, as that version did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { readTag } from '../../src/model/owner.js';
import { link, readState, routes } from '../helpers/read-back.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';

/** What pipefitter 1 wrote: `pf1:` and URL-encoded fields. */
const v1Alias = (fields: Record<string, string>): string => `pf1:${new URLSearchParams(fields).toString()}`;

const inNs = (pid: number, ...args: string[]) =>
  execa('nsenter', [`--net=/proc/${pid}/ns/net`, '--', ...args]);

test('an attach tagged by version 1 (default route saved as `ip route` words) is detached: the old defaults come back', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const ns = { pid: a.pid };
    // a Docker-like eth0 with default routes of both families, one at a metric
    await inNs(a.pid, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    await inNs(a.pid, 'ip', 'addr', 'add', '203.0.113.5/24', 'dev', 'eth0');
    await inNs(a.pid, 'ip', 'addr', 'add', '2001:db8:5::5/64', 'dev', 'eth0', 'nodad');
    await inNs(a.pid, 'ip', 'link', 'set', 'dev', 'eth0', 'up');
    await inNs(a.pid, 'ip', 'link', 'set', 'dev', 'eth0p', 'up');
    await inNs(a.pid, 'ip', 'route', 'add', 'default', 'via', '203.0.113.1', 'dev', 'eth0', 'metric', '100');
    await inNs(a.pid, 'ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:5::1', 'dev', 'eth0');
    const before = await snapshot([ns]);
    const br = sb.name('v1').slice(0, 15);
    await attach({
      target: `pid:${a.pid}`,
      bridge: br,
      ip: ['192.0.2.10/24', '2001:db8::10/64'],
      gateway: ['192.0.2.1', '2001:db8::1'],
    });
    const eth1 = link(await readState(ns), 'eth1');
    const now = readTag(eth1?.alias);
    assert.equal(now.status, 'ours');
    assert.match(eth1?.alias ?? '', /^pf2:/, 'written as version 2');
    assert.deepEqual(
      now.status === 'ours' ? now.tag.prevDefaults?.map((r) => [r.family, r.gateway, r.dev, r.metric]) : [],
      [
        [4, '203.0.113.1', 'eth0', 100],
        [6, '2001:db8:5::1', 'eth0', 1024],
      ],
    );
    // what version 1 wrote for the same attachment
    const old = v1Alias({
      k: 'veth',
      t: `pid:${a.pid}`,
      i: 'eth1',
      b: br,
      d4: 'via 203.0.113.1 dev eth0 metric 100',
      d6: 'via 2001:db8:5::1 dev eth0',
    });
    await inNs(a.pid, 'ip', 'link', 'set', 'dev', 'eth1', 'alias', old);
    assert.equal(link(await readState(ns), 'eth1')?.alias, old);
    await detach({ target: `pid:${a.pid}`, ifname: 'eth1' });
    const defaults = routes(await readState(ns)).filter((r) => r.dst === 'default');
    assert.deepEqual(
      defaults.map((r) => [r.gateway, r.dev, r.metric]).sort(),
      [
        ['2001:db8:5::1', 'eth0', 1024],
        ['203.0.113.1', 'eth0', 100],
      ],
      'the defaults are back, the IPv4 one at its metric',
    );
    await expectState([ns], before, 'detach of a version 1 tag leaves the container as it was');
    assert.equal(link(await readState('sandbox'), br), undefined, 'the bridge went with its last port');
  }));

test('a NIC moved in under a version 1 tag goes home with its MTU, alias, addresses and routes', (t) =>
  withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('o');
    await execa('ip', ['link', 'set', 'dev', nic, 'alias', 'rack 3 uplink', 'mtu', '1450']);
    await execa('ip', ['addr', 'add', '198.51.100.5/24', 'brd', '198.51.100.255', 'dev', nic]);
    await execa('ip', ['addr', 'add', '2001:db8:5::5/64', 'dev', nic, 'nodad']);
    await execa('ip', [
      'route',
      'add',
      '203.0.113.128/25',
      'via',
      '198.51.100.1',
      'dev',
      nic,
      'proto',
      'static',
    ]);
    const n1 = await sb.netns('o1');
    const spaces = ['sandbox', { netns: n1 }] as const;
    const before = await snapshot(spaces);
    await attach({ target: `netns:${n1}`, phys: nic, ifname: 'wan0', ip: '203.0.113.2/30', mtu: 1400 });
    const old = v1Alias({
      k: 'phys',
      t: `netns:${n1}`,
      i: 'wan0',
      o: nic,
      pa: 'rack 3 uplink',
      om: '1450',
      ou: '1',
      ha: '198.51.100.5/24 brd 198.51.100.255;2001:db8:5::5/64 nodad',
      hr: `203.0.113.128/25 via 198.51.100.1 dev ${nic} proto static`,
    });
    await execa('ip', ['-n', n1, 'link', 'set', 'dev', 'wan0', 'alias', old]);
    await detach({ target: `netns:${n1}`, ifname: 'wan0' });
    await expectState(spaces, before, 'home again as it was, from a version 1 tag');
  }));

test('a version 1 tag that does not read is refused by detach, nothing touched; --force removes it', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const ns = { pid: a.pid };
    const nic = await sb.hostNic('b');
    await attach({ target: `pid:${a.pid}`, macvlan: nic, ip: '192.0.2.10/24' });
    await inNs(
      a.pid,
      'ip',
      'link',
      'set',
      'dev',
      'eth1',
      'alias',
      v1Alias({ k: 'macvlan', d4: 'via 1.2.3.4 metric x' }),
    );
    const before = await snapshot(['sandbox', ns]);
    await assert.rejects(detach({ target: `pid:${a.pid}`, ifname: 'eth1' }), (e: Error) =>
      /tag that cannot be read \(ownership tag: field d4 "via 1\.2\.3\.4 metric x" has a metric that is not a number\)/.test(
        e.message,
      ),
    );
    await expectState(['sandbox', ns], before, 'a refused detach touches nothing');
    await detach({ target: `pid:${a.pid}`, ifname: 'eth1', force: true });
    assert.equal(link(await readState(ns), 'eth1'), undefined);
  }));
