/**
 * The codec on real kernel replies (test/fixtures/netlink/, captured by
 * scripts/capture-netlink-fixtures.ts): each dump decoded and compared, object by object, with
 * what `ip -d -j` printed of the same namespace at the same moment, and the values the capture
 * made asserted by hand. No root, no kernel: bytes in, values out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipDstText } from '../../helpers/route-text.js';
import { decodeError, decodeMessages, encodeMessage, isDone, isError } from '../../../src/netlink/codec.js';
import { IFA_F, IFF, NLMSG, NLM_F, RTM, NUD } from '../../../src/netlink/constants.js';
import { NetlinkError } from '../../../src/netlink/errno.js';
import type { NlAddr, NlLink, NlRoute } from '../../../src/netlink/messages.js';
import {
  decodeAddr,
  decodeLink,
  decodeNeigh,
  decodeNetconf,
  decodeRoute,
} from '../../../src/netlink/messages.js';
import { fixture, messages, objects } from './fixtures.js';

const defined = <T>(x: T | undefined): x is T => x !== undefined;

test('every captured dump is well formed: one sequence number, every message its request’s, ended by NLMSG_DONE', () => {
  for (const name of ['links', 'addrs', 'routes4', 'routes6', 'neigh']) {
    const f = fixture(name);
    const [req] = decodeMessages(f.requests[0] ?? Buffer.alloc(0));
    assert.ok(req, `${name}: the request decodes`);
    assert.equal(req.flags & NLM_F.DUMP, NLM_F.DUMP, `${name}: the request is a dump`);
    const all = messages(f);
    assert.ok(all.length > 2, `${name}: several messages`);
    assert.ok(
      all.every((m) => m.seq === req.seq),
      `${name}: every message answers the request's sequence number`,
    );
    const last = all.at(-1);
    assert.ok(last && isDone(last), `${name}: the last message is NLMSG_DONE`);
    assert.equal(all.filter(isDone).length, 1, `${name}: one NLMSG_DONE`);
    assert.ok(
      all.slice(0, -1).every((m) => (m.flags & NLM_F.MULTI) !== 0),
      `${name}: the objects are parts of a multi-part answer`,
    );
    // the datagram boundaries fall between messages: re-encoding them gives the same bytes
    for (const d of f.datagrams) {
      const again = Buffer.concat(
        decodeMessages(d).map((m) => encodeMessage(m.type, m.flags, m.seq, m.body)),
      );
      // encodeMessage writes a zero port id; the kernel's is this socket's: compare the rest
      const strip = (b: Buffer): Buffer => {
        const c = Buffer.from(b);
        for (let at = 0; at + 16 <= c.length; at += c.readUInt32LE(at) + 3 - ((c.readUInt32LE(at) + 3) % 4))
          c.fill(0, at + 12, at + 16);
        return c;
      };
      assert.deepEqual(strip(again), strip(d), `${name}: messages re-encode to the kernel's bytes`);
    }
  }
});

test('links: the RTM_NEWLINK dump decodes to what ip -d -j link show printed', () => {
  const f = fixture('links');
  const links = objects(f, RTM.NEWLINK).map((m) => decodeLink(m.body));
  assert.equal(links.length, f.ip.length, 'as many links as ip printed');
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const nameOf = new Map(links.map((l) => [l.index, l.name]));
  for (const want of f.ip) {
    const got = byIndex.get(want.ifindex as number);
    assert.ok(got, `link ${String(want.ifname)} decoded`);
    const info = (want.linkinfo ?? {}) as { info_kind?: string; info_data?: Record<string, unknown> };
    assert.deepEqual(
      {
        name: got.name,
        mtu: got.mtu,
        mac: got.mac,
        operstate: got.operstate,
        up: (got.flags & IFF.UP) !== 0,
        alias: got.alias,
        master: got.master === undefined ? undefined : nameOf.get(got.master),
        kind: got.kind,
        linkNetnsid: got.linkNetnsid,
      },
      {
        name: want.ifname,
        mtu: want.mtu,
        mac: want.address,
        operstate: want.operstate,
        up: (want.flags as string[]).includes('UP'),
        alias: want.ifalias,
        master: want.master,
        kind: info.info_kind,
        linkNetnsid: want.link_netnsid,
      },
      `link ${String(want.ifname)}`,
    );
    // IFLA_LINK: a local peer or parent by name; one in another namespace is only an index
    if (typeof want.link === 'string') assert.equal(nameOf.get(got.link ?? -1), want.link);
    if (info.info_kind === 'macvlan') assert.equal(got.macvlanMode, info.info_data?.mode);
    if (info.info_kind === 'bridge') assert.equal(got.vlanFiltering, info.info_data?.vlan_filtering === 1);
    if (info.info_kind === 'vxlan')
      assert.deepEqual(
        { id: got.vxlan?.id, port: got.vxlan?.port, local: got.vxlan?.local },
        { id: info.info_data?.id, port: info.info_data?.port, local: info.info_data?.local },
      );
  }
});

test('links: the values the capture made, by hand', () => {
  const links = objects(fixture('links'), RTM.NEWLINK).map((m) => decodeLink(m.body));
  const get = (name: string): NlLink => {
    const l = links.find((x) => x.name === name);
    assert.ok(l, name);
    return l;
  };
  assert.equal(get('lo').flags & IFF.LOOPBACK, IFF.LOOPBACK);
  assert.equal(get('br0').kind, 'bridge');
  assert.equal(get('br0').vlanFiltering, false);
  const h0 = get('h0');
  assert.deepEqual(
    { kind: h0.kind, alias: h0.alias, master: h0.master, elsewhere: h0.linkNetnsid !== undefined },
    { kind: 'veth', alias: 'pipefitter:v2 fixture', master: get('br0').index, elsewhere: true },
  );
  assert.deepEqual(
    { mtu: get('v0').mtu, mac: get('v0').mac, peer: get('v0').link, back: get('v1').link },
    { mtu: 1400, mac: '02:00:00:00:00:10', peer: get('v1').index, back: get('v0').index },
  );
  assert.deepEqual(
    {
      kind: get('mv0').kind,
      mode: get('mv0').macvlanMode,
      parent: get('mv0').link,
      up: get('mv0').flags & IFF.UP,
    },
    { kind: 'macvlan', mode: 'bridge', parent: get('v1').index, up: 0 },
  );
  assert.deepEqual(get('vx0').vxlan, { id: 42, port: 4789, local: '198.51.100.7', group: undefined });
  assert.equal(get('v0').operstate, 'UP');
  assert.equal(get('mv0').operstate, 'DOWN');
});

test('addresses: the RTM_NEWADDR dump decodes to what ip -d -j addr show printed', () => {
  const f = fixture('addrs');
  const got = objects(f, RTM.NEWADDR)
    .map((m) => decodeAddr(m.body))
    .filter(defined);
  const want = f.ip.flatMap((l) =>
    (l.addr_info as Record<string, unknown>[]).map((a): Record<string, unknown> => ({
      ...a,
      index: l.ifindex,
    })),
  );
  assert.equal(got.length, want.length, 'as many addresses as ip printed');
  for (const w of want) {
    const g = got.find((a) => a.index === w.index && a.address === w.local);
    assert.ok(g, `${String(w.local)} on #${String(w.index)}`);
    assert.deepEqual(
      {
        family: g.family,
        prefix: g.prefix,
        scope: g.scope,
        peer: g.peer,
        broadcast: g.broadcast,
        label: g.label,
        nodad: (g.flags & IFA_F.NODAD) !== 0,
      },
      {
        family: w.family === 'inet' ? 4 : 6,
        prefix: w.prefixlen,
        scope: w.scope,
        peer: w.address,
        broadcast: w.broadcast,
        label: w.label,
        nodad: w.nodad === true,
      },
      `address ${String(w.local)}`,
    );
  }
});

test('addresses: the values the capture made, by hand', () => {
  const got = objects(fixture('addrs'), RTM.NEWADDR)
    .map((m) => decodeAddr(m.body))
    .filter(defined);
  const find = (a: string): NlAddr => {
    const x = got.find((y) => y.address === a);
    assert.ok(x, a);
    return x;
  };
  assert.deepEqual(
    { prefix: find('192.0.2.1').prefix, brd: find('192.0.2.1').broadcast, scope: find('192.0.2.1').scope },
    { prefix: 24, brd: '192.0.2.255', scope: 'global' },
  );
  assert.equal(find('2001:db8::1').flags & IFA_F.NODAD, IFA_F.NODAD, 'nodad, from IFA_FLAGS');
  assert.equal(find('2001:db8::1').family, 6);
  assert.deepEqual(
    {
      peer: find('198.51.100.7').peer,
      label: find('198.51.100.7').label,
      prefix: find('198.51.100.7').prefix,
    },
    { peer: '198.51.100.8', label: 'v1:p2p', prefix: 32 },
  );
  assert.equal(find('::1').scope, 'host');
});

const ipRoute = (r: NlRoute, names: ReadonlyMap<number, string>): Record<string, unknown> => ({
  type: r.type,
  dst: ipDstText(r),
  gateway: r.gateway,
  dev: r.oif === undefined ? undefined : names.get(r.oif),
  table: r.table === 254 ? 'main' : r.table === 255 ? 'local' : String(r.table),
  protocol: r.protocol,
  scope: r.scope,
  metric: r.priority || undefined,
  prefsrc: r.prefsrc,
  onlink: r.onlink,
  linkdown: r.linkdown,
});

for (const name of ['routes4', 'routes6'])
  test(`${name}: the RTM_NEWROUTE dump of every table decodes to what ip -d -j route show table all printed`, () => {
    const f = fixture(name);
    const names = new Map(
      objects(fixture('links'), RTM.NEWLINK)
        .map((m) => decodeLink(m.body))
        .map((l) => [l.index, l.name]),
    );
    const got = objects(f, RTM.NEWROUTE)
      .map((m) => decodeRoute(m.body))
      .filter(defined)
      .map((r) => ipRoute(r, names));
    const want = f.ip.map((w) => ({
      type: w.type,
      dst: w.dst,
      gateway: w.gateway,
      dev: w.dev,
      table: w.table,
      protocol: w.protocol,
      scope: w.scope,
      metric: w.metric || undefined,
      prefsrc: w.prefsrc,
      onlink: (w.flags as string[]).includes('onlink'),
      linkdown: (w.flags as string[]).includes('linkdown'),
    }));
    const key = (r: Record<string, unknown>): string => JSON.stringify(Object.entries(r).sort());
    assert.deepEqual(got.map(key).sort(), want.map(key).sort());
  });

test('routes: the values the capture made, by hand', () => {
  const v4 = objects(fixture('routes4'), RTM.NEWROUTE)
    .map((m) => decodeRoute(m.body))
    .filter(defined);
  const v6 = objects(fixture('routes6'), RTM.NEWROUTE)
    .map((m) => decodeRoute(m.body))
    .filter(defined);
  const dflt = v4.find((r) => r.dst === undefined);
  assert.deepEqual(
    { gw: dflt?.gateway, onlink: dflt?.onlink, table: dflt?.table, proto: dflt?.protocol, len: dflt?.dstLen },
    { gw: '203.0.113.1', onlink: true, table: 254, proto: 'boot', len: 0 },
  );
  const metric = v4.find((r) => r.dst === '203.0.113.0');
  assert.deepEqual({ gw: metric?.gateway, metric: metric?.priority }, { gw: '192.0.2.254', metric: 50 });
  const other = v4.find((r) => r.dst === '198.51.100.0');
  assert.deepEqual({ table: other?.table, scope: other?.scope }, { table: 100, scope: 'link' });
  const six = v6.find((r) => r.dst === '2001:db8:1::');
  assert.deepEqual(
    {
      len: six?.dstLen,
      gw: six?.gateway,
      metric: six?.priority,
      family: six?.family,
      multipath: six?.multipath,
    },
    { len: 48, gw: '2001:db8::fe', metric: 1024, family: 6, multipath: false },
  );
  assert.ok(v6.some((r) => r.type === 'local' && r.table === 255 && r.dst === '2001:db8::1'));
});

test('neighbours: the RTM_NEWNEIGH dump decodes to what ip -j neigh show nud permanent printed', () => {
  const f = fixture('neigh');
  const names = new Map(
    objects(fixture('links'), RTM.NEWLINK)
      .map((m) => decodeLink(m.body))
      .map((l) => [l.index, l.name]),
  );
  const got = objects(f, RTM.NEWNEIGH)
    .map((m) => decodeNeigh(m.body))
    .filter(defined)
    .filter((n) => n.state === NUD.PERMANENT)
    .map((n) => ({ dst: n.address, dev: names.get(n.index), lladdr: n.lladdr }))
    .sort((a, b) => a.dst.localeCompare(b.dst));
  assert.deepEqual(
    got,
    f.ip
      .map((n) => ({ dst: n.dst, dev: n.dev, lladdr: n.lladdr }))
      .sort((a, b) => String(a.dst).localeCompare(String(b.dst))),
  );
  assert.deepEqual(
    got.map((n) => n.dst),
    ['192.0.2.9', '2001:db8::9'],
  );
});

test('netconf: forwarding of "all", per family, as the capture set it (IPv4 on, IPv6 off)', () => {
  const f = fixture('netconf');
  const got = objects(f, RTM.NEWNETCONF)
    .map((m) => decodeNetconf(m.body))
    .filter(defined);
  assert.deepEqual(got, [
    { family: 4, index: -1, forwarding: true },
    { family: 6, index: -1, forwarding: false },
  ]);
  // ip netconf show agrees for the IPv4 links it lists
  assert.ok(f.ip.filter((x) => x.family === 'inet').every((x) => x.forwarding === true));
  // each request was acknowledged
  const acks = messages(f).filter(isError);
  assert.equal(acks.length, 2);
  assert.ok(acks.every((m) => decodeError(m).errno === 0 && (m.flags & NLM_F.CAPPED) !== 0));
});

test('errors: a GETLINK of a missing name is ENODEV, the request capped from the answer; the reason is not-found', () => {
  const f = fixture('errors');
  const [m] = messages(f);
  assert.ok(m);
  assert.equal(m.type, NLMSG.ERROR);
  const [req] = decodeMessages(f.requests[0] ?? Buffer.alloc(0));
  assert.equal(m.seq, req?.seq);
  const e = decodeError(m);
  assert.equal(e.errno, 19);
  const err = new NetlinkError(e.errno, e.message, 'read link nosuch0');
  assert.equal(err.reason, 'not-found');
});
