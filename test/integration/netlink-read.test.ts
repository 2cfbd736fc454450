/**
 * The in-process rtnetlink reader against `ip -j` on the same namespaces: the same links (kind
 * data included), addresses, routes of every table, neighbours and forwarding. And the namespace
 * switch: after every path out of openSocket, good or bad, the thread is back in its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipDstText } from '../helpers/route-text.js';
import { closeSync, openSync } from 'node:fs';
import { execa } from 'execa';
import {
  dumpAddrs,
  dumpLinks,
  dumpNeighs,
  dumpRoutes,
  getForwarding,
  getLink,
} from '../../src/netlink/dump.js';
import { NetlinkError } from '../../src/netlink/errno.js';
import type { Libc } from '../../src/netlink/socket.js';
import { NamespaceLost, loadLibc, openSocket, threadNetns } from '../../src/netlink/socket.js';
import { ipJson } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';

const libc = (): Libc => {
  const l = loadLibc();
  if ('error' in l) throw new Error(`koffi does not load here: ${l.error}`);
  return l;
};

type J = Record<string, unknown>;

test('links, addresses, routes, neighbours and forwarding read in-process equal ip -j', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.netns('nla');
    const b = await sb.netns('nlb');
    const ip = (...args: string[]) => execa('ip', ['-n', a, ...args]);
    await ip('link', 'add', 'br0', 'type', 'bridge');
    await ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', b);
    await ip('link', 'set', 'v0', 'master', 'br0', 'alias', 'pf1:k=veth-host', 'mtu', '1400', 'up');
    await ip('link', 'set', 'br0', 'up');
    await ip('link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    await ip('link', 'add', 'link', 'p0', 'name', 'mv0', 'type', 'macvlan', 'mode', 'private');
    await ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '198.51.100.1');
    await ip('addr', 'add', '192.0.2.1/24', 'brd', '192.0.2.255', 'dev', 'br0');
    await ip('addr', 'add', '2001:db8::1/64', 'dev', 'br0', 'nodad');
    await ip('addr', 'add', '198.51.100.1/24', 'dev', 'p0');
    await ip('link', 'set', 'p0', 'up');
    await ip('link', 'set', 'p1', 'up');
    await ip('route', 'add', '203.0.113.0/24', 'via', '192.0.2.254', 'dev', 'br0', 'metric', '7');
    await ip(
      'route',
      'add',
      '198.51.100.128/25',
      'via',
      '203.0.113.9',
      'dev',
      'p0',
      'onlink',
      'table',
      '100',
    );
    await ip('route', 'add', 'default', 'via', '2001:db8::fe', 'dev', 'br0');
    await ip('neigh', 'add', '192.0.2.7', 'lladdr', '02:00:00:00:00:07', 'dev', 'br0', 'nud', 'permanent');
    await execa('nsenter', [
      `--net=/run/netns/${a}`,
      '--',
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.conf.all.forwarding=1',
    ]);

    const s = openSocket(libc(), `/run/netns/${a}`);
    try {
      const links = dumpLinks(s);
      const jl = (await ipJson({ netns: a }, ['-d', 'link', 'show'])) as J[];
      const byIndex = new Map(links.map((l) => [l.index, l]));
      assert.deepEqual(links.map((l) => l.name).sort(), jl.map((l) => l.ifname as string).sort());
      for (const j of jl) {
        const l = links.find((x) => x.name === j.ifname)!;
        const info = (j.linkinfo ?? {}) as { info_kind?: string; info_data?: J };
        assert.equal(l.index, j.ifindex);
        assert.equal(l.mtu, j.mtu);
        assert.equal(l.mac, j.address ?? '');
        assert.equal(l.operstate, j.operstate);
        assert.equal(l.alias, j.ifalias);
        assert.equal(l.kind, info.info_kind);
        assert.equal(l.master !== undefined ? byIndex.get(l.master)?.name : undefined, j.master);
        assert.equal((l.flags & 1) !== 0, (j.flags as string[]).includes('UP'), `${l.name} UP`);
        assert.equal(
          (l.flags & 0x10000) !== 0,
          (j.flags as string[]).includes('LOWER_UP'),
          `${l.name} LOWER_UP`,
        );
        if (j.link_index !== undefined) assert.equal(l.link, j.link_index, `${l.name} peer index`);
        if (j.link_netnsid !== undefined) assert.equal(l.linkNetnsid, j.link_netnsid);
        if (typeof j.link === 'string')
          assert.equal(byIndex.get(l.link ?? -1)?.name, j.link, `${l.name} parent`);
        if (info.info_kind === 'bridge') assert.equal(l.vlanFiltering, info.info_data?.vlan_filtering === 1);
        if (info.info_kind === 'macvlan') assert.equal(l.macvlanMode, info.info_data?.mode);
        if (info.info_kind === 'vxlan') {
          assert.equal(l.vxlan?.id, info.info_data?.id);
          assert.equal(l.vxlan?.port, info.info_data?.port);
          assert.equal(l.vxlan?.local, info.info_data?.local);
        }
      }
      assert.equal(getLink(s, { name: 'br0' })?.kind, 'bridge');
      assert.equal(getLink(s, { name: 'nope0' }), undefined);

      const addrs = dumpAddrs(s);
      const ja = ((await ipJson({ netns: a }, ['addr', 'show'])) as J[]).flatMap((l) =>
        ((l.addr_info ?? []) as J[]).map((x): J => ({ ...x, ifindex: l.ifindex })),
      );
      const key = (x: {
        index: number;
        address: string;
        prefix: number;
        broadcast?: string;
        scope: string;
      }) => `${x.index} ${x.address}/${x.prefix} brd ${x.broadcast ?? '-'} ${x.scope}`;
      assert.deepEqual(
        addrs.map(key).sort(),
        ja
          .map((x) =>
            key({
              index: x.ifindex as number,
              address: x.local as string,
              prefix: x.prefixlen as number,
              broadcast: x.broadcast as string | undefined,
              scope: x.scope as string,
            }),
          )
          .sort(),
      );

      const routes = dumpRoutes(s);
      const jr = [
        ...((await ipJson({ netns: a }, ['-4', 'route', 'show', 'table', 'all'])) as J[]),
        ...((await ipJson({ netns: a }, ['-6', 'route', 'show', 'table', 'all'])) as J[]),
      ];
      const tableName = (n: number) => (n === 254 ? 'main' : n === 255 ? 'local' : String(n));
      const rkey = (r: {
        dst: string;
        gw?: string;
        dev?: string;
        table: string;
        type: string;
        onlink: boolean;
      }) =>
        `${r.type} ${r.dst} via ${r.gw ?? '-'} dev ${r.dev ?? '-'} table ${r.table}${r.onlink ? ' onlink' : ''}`;
      assert.deepEqual(
        routes
          .map((r) =>
            rkey({
              dst: ipDstText(r),
              gw: r.gateway,
              dev: r.oif !== undefined ? byIndex.get(r.oif)?.name : undefined,
              table: tableName(r.table),
              type: r.type,
              onlink: r.onlink,
            }),
          )
          .sort(),
        jr
          .map((r) =>
            rkey({
              dst: r.dst as string,
              gw: r.gateway as string | undefined,
              dev: r.dev as string | undefined,
              table: (r.table as string | undefined) ?? 'main',
              type: (r.type as string | undefined) ?? 'unicast',
              onlink: ((r.flags ?? []) as string[]).includes('onlink'),
            }),
          )
          .sort(),
      );
      assert.ok(routes.some((r) => r.table === 100 && r.onlink && r.gateway === '203.0.113.9'));
      assert.equal(routes.find((r) => r.dst === '203.0.113.0')?.priority, 7);

      const neigh = dumpNeighs(s).find((n) => n.address === '192.0.2.7');
      assert.equal(neigh?.lladdr, '02:00:00:00:00:07');
      assert.equal(neigh?.state, 0x80);
      assert.deepEqual(getForwarding(s), { 4: true, 6: false });
    } finally {
      s.close();
    }
  }));

test('after every way out of openSocket, the thread is in its own namespace again', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('nlh');
    const home = threadNetns();
    const real = libc();
    // a path that is not there; a file that is not a namespace
    assert.throws(() => openSocket(real, `/run/netns/${n}-nope`), NetlinkError);
    assert.equal(threadNetns(), home);
    assert.throws(
      () => openSocket(real, '/etc/hostname'),
      (e: unknown) => e instanceof NetlinkError && e.errno === 22,
    );
    assert.equal(threadNetns(), home);
    // the namespace was entered, then socket() failed
    let entered = '';
    const failingSocket: Libc = {
      ...real,
      socket: () => {
        entered = threadNetns();
        return -1;
      },
      errno: () => 24,
    };
    assert.throws(() => openSocket(failingSocket, `/run/netns/${n}`), NetlinkError);
    assert.notEqual(entered, home, 'it was inside the target when socket() ran');
    assert.equal(threadNetns(), home, 'and is back');
    // the way back fails: nothing more may happen, and the socket is not leaked
    const homeFd = openSync('/proc/thread-self/ns/net', 'r');
    t.after(() => closeSync(homeFd));
    let closed = 0;
    let calls = 0;
    const noWayBack: Libc = {
      ...real,
      setns: (fd, type) => (++calls === 2 ? -1 : real.setns(fd, type)),
      close: (fd) => {
        closed++;
        return real.close(fd);
      },
    };
    assert.throws(() => openSocket(noWayBack, `/run/netns/${n}`), NamespaceLost);
    assert.equal(closed, 1, 'the socket made inside was closed');
    // (the fake refused the way back without switching: go back for real, as pipefitter cannot)
    assert.notEqual(threadNetns(), home);
    assert.equal(real.setns(homeFd, 0x40000000), 0);
    const ok = openSocket(real, `/run/netns/${n}`);
    assert.equal(threadNetns(), home);
    ok.close();
  }));
