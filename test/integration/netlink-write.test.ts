/**
 * Each operation run in-process (exec/netlink-backend.ts) against its `ip` command
 * (plan/ip-argv.ts), on twin namespaces: the same operations, one twin through `ip`, the other
 * over rtnetlink; then both read back with `ip -j -d` and compared (ifindexes and random MACs
 * aside). Errors come back with the reason `ip`'s stderr would have been classified as.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { NetlinkSession } from '../../src/netlink/session.js';
import { loadLibc } from '../../src/netlink/socket.js';
import type { Libc } from '../../src/netlink/socket.js';
import { addrAdd, linkAdd, linkDel, routeAdd } from '../../src/netlink/requests.js';
import { createRunner } from '../../src/exec/runner.js';
import { runNetlinkOp } from '../../src/exec/netlink-backend.js';
import { shellJoin } from '../../src/render/quote.js';
import type { Op } from '../../src/model/op.js';
import type { ObservedRoute } from '../../src/model/observed.js';
import { ipArgv } from '../../src/render/ip.js';
import { NetlinkError } from '../../src/netlink/errno.js';
import { ipJson } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';

const libc = (): Libc => {
  const l = loadLibc();
  if ('error' in l) throw new Error(`koffi does not load here: ${l.error}`);
  return l;
};

type J = Record<string, unknown>;
/** What both twins must agree on: links by name (kind, master, mtu, flags, alias, kind data), addresses, routes. */
const shape = async (ns: string, peerNs: string): Promise<unknown> => {
  const links = (await ipJson({ netns: ns }, ['-d', 'addr', 'show'])) as J[];
  const names = new Map(links.map((l) => [l.ifindex, l.ifname]));
  const routes = [
    ...((await ipJson({ netns: ns }, ['-4', 'route', 'show', 'table', 'all'])) as J[]),
    ...((await ipJson({ netns: ns }, ['-6', 'route', 'show', 'table', 'all'])) as J[]),
  ];
  const peer = (await ipJson({ netns: peerNs }, ['-d', 'link', 'show'])) as J[];
  const info = (l: J) => (l.linkinfo ?? {}) as { info_kind?: string; info_data?: J };
  return {
    links: links
      .map((l) => ({
        name: l.ifname,
        kind: info(l).info_kind,
        data: ['macvlan', 'ipvlan', 'vlan', 'vxlan'].includes(info(l).info_kind ?? '')
          ? JSON.stringify(info(l).info_data)
          : info(l).info_kind === 'bridge'
            ? String(info(l).info_data?.vlan_filtering)
            : undefined,
        master: l.master,
        parent: typeof l.link === 'string' ? l.link : undefined,
        mtu: l.mtu,
        alias: l.ifalias,
        up: (l.flags as string[]).includes('UP'),
        mac: String(l.address).startsWith('02:00:') ? l.address : 'random',
        addrs: ((l.addr_info ?? []) as J[])
          .filter((a) => a.scope !== 'link')
          .map(
            (a) =>
              `${String(a.local)}/${String(a.prefixlen)} brd ${typeof a.broadcast === 'string' ? a.broadcast : '-'} ${String(a.scope)}${a.nodad ? ' nodad' : ''}`,
          )
          .sort(),
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    routes: routes
      .filter((r) => !String(r.dst).startsWith('fe80') && r.dst !== 'ff00::/8')
      // a bridge's carrier (so "linkdown") follows its ports asynchronously: not the change's doing
      .map((r) =>
        JSON.stringify({
          ...r,
          dev: r.dev ?? names.get(r.oif),
          flags: ((r.flags ?? []) as string[]).filter((f) => f !== 'linkdown'),
        }),
      )
      .sort(),
    peer: peer
      .map(
        (l) =>
          `${String(l.ifname)} ${String(l.mtu)} ${String(l.address).startsWith('02:00:') ? String(l.address) : 'random'}`,
      )
      .sort(),
  };
};

/** The same operations for each twin; `peer` is where the veth's peer is born. */
const ops = (peer: string): Op[] => {
  const dev = (name: string) => name;
  const pns = { kind: 'name' as const, name: peer };
  const a4 = (d: string, address: string, prefix: number, broadcast?: string) => ({
    dev: dev(d),
    family: 4 as const,
    address,
    prefix,
    broadcast,
  });
  const r = (p: Partial<ObservedRoute> & { dst: string }): ObservedRoute => ({
    family: 4,
    onlink: false,
    type: 'unicast',
    ...p,
  });
  return [
    { op: 'link.add', name: 'br0', spec: { kind: 'bridge' } },
    { op: 'link.set', name: 'br0', patch: { mtu: 1400, alias: 'pf1:k=bridge', up: true } },
    {
      op: 'link.add',
      name: 'v0',
      mtu: 1400,
      spec: { kind: 'veth', peer: { name: 'eth1', mtu: 1400, mac: '02:00:00:00:00:10', netns: pns } },
    },
    { op: 'link.set', name: 'v0', patch: { master: 'br0', alias: 'host-end', up: true } },
    { op: 'link.add', name: 'n0', spec: { kind: 'veth', peer: { name: 'n1' } } },
    { op: 'link.set', name: 'n0', patch: { up: true } },
    { op: 'link.add', name: 'mv0', spec: { kind: 'macvlan', parent: 'n0', mode: 'private' } },
    { op: 'addr.add', addr: a4('br0', '192.0.2.1', 24, '192.0.2.255') },
    { op: 'addr.add', addr: { dev: 'br0', family: 6, address: '2001:db8::1', prefix: 64, flags: ['nodad'] } },
    { op: 'addr.add', addr: a4('n0', '198.51.100.1', 24) },
    { op: 'addr.add', addr: a4('n0', '198.51.100.9', 24) },
    { op: 'route.add', route: r({ dst: '203.0.113.0/24', gateway: '192.0.2.254', dev: 'br0', metric: 7 }) },
    {
      op: 'route.add',
      route: r({ dst: '198.51.100.128/25', gateway: '203.0.113.9', dev: 'n0', onlink: true }),
    },
    {
      op: 'route.add',
      route: r({ family: 6, dst: 'default', gateway: '2001:db8::fe', dev: 'br0', metric: 1024 }),
    },
    { op: 'route.add', route: r({ dst: '203.0.112.0/24', dev: 'n0', scope: 'link' }) },
    {
      op: 'route.replace',
      route: r({ dst: '203.0.113.0/24', gateway: '192.0.2.253', dev: 'br0', metric: 7 }),
    },
    { op: 'link.set', name: 'n1', patch: { up: true } },
    { op: 'link.set', name: 'mv0', patch: { mtu: 1300, mac: '02:00:00:00:00:33', alias: 'shim', up: true } },
    { op: 'link.set', name: 'mv0', patch: { name: 'mvx' } },
    { op: 'addr.del', addr: a4('n0', '198.51.100.9', 24) },
    { op: 'route.del', route: r({ dst: '203.0.112.0/24', dev: 'n0', scope: 'link' }) },
    { op: 'link.set', name: 'v0', patch: { master: null, alias: '' } },
    {
      op: 'sysctl',
      set: [
        { key: 'net/ipv4/conf/br0/forwarding', value: '1' },
        { key: 'net/ipv6/conf/nope0/disable_ipv6', value: '1' },
      ],
      missingOk: true,
    },
    { op: 'link.del', name: 'n1' },
  ];
};

test('every operation in-process leaves what its ip command leaves (twin namespaces)', (t) =>
  withSandbox(t, async (sb) => {
    const [ia, ib, pa, pb] = [
      await sb.netns('wia'),
      await sb.netns('wib'),
      await sb.netns('wpa'),
      await sb.netns('wpb'),
    ];
    const runner = createRunner();
    for (const o of ops(pa)) {
      const r = await runner.run(ipArgv(o), { netns: { kind: 'name', name: ia } });
      assert.equal(r.failed, false, `${shellJoin(ipArgv(o).map(String))}: ${r.stderr}`);
    }
    const l = libc();
    const session = new NetlinkSession(l);
    try {
      for (const o of ops(pb)) runNetlinkOp(session, l, { kind: 'name', name: ib }, o);
      const s = session.socket(`/run/netns/${ib}`);
      // errors carry the reason ip's stderr would have
      const reason = (f: () => void) => {
        try {
          f();
        } catch (e) {
          return e instanceof NetlinkError ? e.reason : 'not a NetlinkError';
        }
        return 'no error';
      };
      assert.equal(
        reason(() => linkAdd(s, { name: 'br0', link: { kind: 'bridge' } })),
        'exists',
      );
      assert.equal(
        reason(() => linkDel(s, 'nope0')),
        'not-found',
      );
      assert.equal(
        reason(() =>
          linkAdd(s, { name: 'ipv0', link: { kind: 'ipvlan', parent: 'br0', mode: 'l2', flag: 'bridge' } }),
        ),
        'unsupported',
      );
      assert.equal(
        reason(() => addrAdd(s, { dev: 'br0', family: 4, address: '192.0.2.1', prefix: 24 })),
        'exists',
      );
      let gw = '';
      try {
        routeAdd(s, {
          family: 4,
          dst: { address: '198.18.0.0', prefix: 15 },
          gateway: '203.0.113.77',
          dev: 'br0',
        });
      } catch (e) {
        gw = e instanceof NetlinkError ? e.message : '';
      }
      assert.match(gw, /Nexthop has invalid gateway/, "the kernel's own words (extended ack)");
      // a vxlan (no planner kind yet): the request alone, against ip
      linkAdd(s, {
        name: 'vx0',
        link: { kind: 'vxlan', id: 42, port: 4789, local: '198.51.100.1', learning: false },
      });
      await execa('ip', [
        '-n',
        ia,
        'link',
        'add',
        'vx0',
        'type',
        'vxlan',
        'id',
        '42',
        'dstport',
        '4789',
        'local',
        '198.51.100.1',
        'nolearning',
      ]);
    } finally {
      session.close();
    }
    assert.deepEqual(await shape(ib, pb), await shape(ia, pa));
    const sysctl = async (ns: string) =>
      (
        await execa('nsenter', [
          `--net=/run/netns/${ns}`,
          '--',
          'sysctl',
          '-n',
          'net.ipv4.conf.br0.forwarding',
        ])
      ).stdout;
    assert.equal(await sysctl(ib), '1');
    assert.equal(await sysctl(ia), '1');
  }));
