/**
 * Each change over rtnetlink against the same change made by `ip`, on twin namespaces: the same
 * commands, one twin through `ip`, the other in-process; then both read back with `ip -j -d`
 * and compared (ifindexes and random MACs aside). Errors come back with the reason `ip`'s
 * stderr would have been classified as.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { NetlinkSession } from '../../src/netlink/session.js';
import { loadLibc, writeSysctl } from '../../src/netlink/socket.js';
import type { Libc } from '../../src/netlink/socket.js';
import {
  addrAdd,
  addrDel,
  linkAdd,
  linkDel,
  linkSet,
  routeAdd,
  routeDel,
} from '../../src/netlink/requests.js';
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

test('every change in-process leaves what the same ip command leaves', (t) =>
  withSandbox(t, async (sb) => {
    const [ia, ib, pa, pb] = [
      await sb.netns('wia'),
      await sb.netns('wib'),
      await sb.netns('wpa'),
      await sb.netns('wpb'),
    ];
    const run = (...lines: string[]) =>
      execa('ip', ['-n', ia, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    await run(
      'link add br0 type bridge',
      'link set dev br0 mtu 1400 alias pf1:k=bridge up',
      `link add name v0 mtu 1400 type veth peer name eth1 mtu 1400 address 02:00:00:00:00:10 netns ${pa}`,
      'link set dev v0 master br0 alias host-end up',
      'link add name n0 type veth peer name n1',
      'link set dev n0 up',
      'link add name mv0 link n0 type macvlan mode private',
      'link add name vx0 type vxlan id 42 dstport 4789 local 198.51.100.1 nolearning',
      'addr add 192.0.2.1/24 brd 192.0.2.255 dev br0',
      'addr add 2001:db8::1/64 dev br0 nodad',
      'addr add 198.51.100.1/24 dev n0',
      'addr add 198.51.100.9/24 dev n0',
      'route add 203.0.113.0/24 via 192.0.2.254 dev br0 metric 7',
      'route add 198.51.100.128/25 via 203.0.113.9 dev n0 onlink table 100',
      'route add ::/0 via 2001:db8::fe dev br0',
      'route add 203.0.112.0/24 dev n0',
      'link set dev n1 up',
      'link set dev mv0 mtu 1300 address 02:00:00:00:00:33 alias shim up',
      'link set dev mv0 name mvx',
      'addr del 198.51.100.9/24 dev n0',
      'route del 203.0.112.0/24 dev n0',
      'link set dev v0 nomaster',
      'link del dev vx0',
    );

    const session = new NetlinkSession(libc());
    try {
      const s = session.socket(`/run/netns/${ib}`);
      linkAdd(s, { name: 'br0', link: { kind: 'bridge' } });
      linkSet(s, 'br0', { mtu: 1400, alias: 'pf1:k=bridge', up: true });
      linkAdd(s, {
        name: 'v0',
        mtu: 1400,
        link: {
          kind: 'veth',
          peer: {
            name: 'eth1',
            mtu: 1400,
            mac: '02:00:00:00:00:10',
            netns: session.nsFd(`/run/netns/${pb}`),
          },
        },
      });
      linkSet(s, 'v0', { master: 'br0', alias: 'host-end', up: true });
      linkAdd(s, { name: 'n0', link: { kind: 'veth', peer: { name: 'n1' } } });
      linkSet(s, 'n0', { up: true });
      linkAdd(s, { name: 'mv0', link: { kind: 'macvlan', parent: 'n0', mode: 'private' } });
      linkAdd(s, {
        name: 'vx0',
        link: { kind: 'vxlan', id: 42, port: 4789, local: '198.51.100.1', learning: false },
      });
      addrAdd(s, { dev: 'br0', family: 4, address: '192.0.2.1', prefix: 24, broadcast: '192.0.2.255' });
      addrAdd(s, { dev: 'br0', family: 6, address: '2001:db8::1', prefix: 64, nodad: true });
      addrAdd(s, { dev: 'n0', family: 4, address: '198.51.100.1', prefix: 24 });
      addrAdd(s, { dev: 'n0', family: 4, address: '198.51.100.9', prefix: 24 });
      routeAdd(s, {
        family: 4,
        dst: { address: '203.0.113.0', prefix: 24 },
        gateway: '192.0.2.254',
        dev: 'br0',
        metric: 7,
      });
      routeAdd(s, {
        family: 4,
        dst: { address: '198.51.100.128', prefix: 25 },
        gateway: '203.0.113.9',
        dev: 'n0',
        onlink: true,
        table: 100,
      });
      routeAdd(s, { family: 6, gateway: '2001:db8::fe', dev: 'br0' });
      routeAdd(s, { family: 4, dst: { address: '203.0.112.0', prefix: 24 }, dev: 'n0' });
      linkSet(s, 'n1', { up: true });
      linkSet(s, 'mv0', { mtu: 1300, mac: '02:00:00:00:00:33', alias: 'shim', up: true });
      linkSet(s, 'mv0', { name: 'mvx' });
      addrDel(s, { dev: 'n0', family: 4, address: '198.51.100.9', prefix: 24 });
      routeDel(s, { family: 4, dst: { address: '203.0.112.0', prefix: 24 }, dev: 'n0' });
      linkSet(s, 'v0', { master: null });
      linkDel(s, 'vx0');

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
          linkAdd(s, { name: 'ipv0', link: { kind: 'ipvlan', parent: 'n0', mode: 'l2', flag: 'bridge' } }),
        ),
        'unsupported',
      );
      assert.equal(
        reason(() => addrAdd(s, { dev: 'br0', family: 4, address: '192.0.2.1', prefix: 24 })),
        'exists',
      );
      const gw = (() => {
        try {
          routeAdd(s, {
            family: 4,
            dst: { address: '198.18.0.0', prefix: 15 },
            gateway: '203.0.113.77',
            dev: 'br0',
          });
        } catch (e) {
          return e instanceof NetlinkError ? e.message : '';
        }
        return '';
      })();
      assert.match(gw, /Nexthop has invalid gateway/, "the kernel's own words (extended ack)");

      writeSysctl(
        session['libc' as never] ?? libc(),
        `/run/netns/${ib}`,
        'net/ipv6/conf/n0/disable_ipv6',
        '1',
      );
      await execa('nsenter', [
        `--net=/run/netns/${ia}`,
        '--',
        'sysctl',
        '-q',
        '-w',
        'net.ipv6.conf.n0.disable_ipv6=1',
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
          'net.ipv6.conf.n0.disable_ipv6',
        ])
      ).stdout;
    assert.equal(await sysctl(ib), '1');
    assert.equal(await sysctl(ia), '1');
  }));
