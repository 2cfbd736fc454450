/**
 * Requests, encoded and decoded again: each builder of src/netlink/requests.ts runs against a
 * socket whose "kernel" is a fake libc — it records what is sent, answers a GETLINK by name with
 * the captured RTM_NEWLINK of that link (test/fixtures/netlink/links.json, for the index a
 * request needs) and acknowledges the rest — and the request is decoded with the same code that
 * reads the kernel's replies. Every field given must come back, in the attribute the kernel
 * reads it from. No root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NlMessage } from '../../../src/netlink/codec.js';
import {
  attrsOf,
  decodeMessages,
  encodeMessage,
  readStr,
  readU16,
  readU32,
} from '../../../src/netlink/codec.js';
import {
  AF,
  BRIDGE_VLAN_INFO,
  IFA_F,
  IFF,
  IFLA,
  IFLA_BRIDGE,
  IFLA_INFO,
  IFLA_IPVLAN,
  NLMSG,
  NLM_F,
  RTM,
  RT_SCOPE,
  VETH_INFO_PEER,
} from '../../../src/netlink/constants.js';
import { NetlinkError } from '../../../src/netlink/errno.js';
import { decodeAddr, decodeLink, decodeRoute } from '../../../src/netlink/messages.js';
import {
  addrAdd,
  addrDel,
  bridgeVlan,
  linkAdd,
  linkDel,
  linkSet,
  routeAdd,
  routeDel,
} from '../../../src/netlink/requests.js';
import type { Libc } from '../../../src/netlink/socket.js';
import { RtnlSocket } from '../../../src/netlink/socket.js';
import { fixture, objects } from './fixtures.js';

const captured = objects(fixture('links'), RTM.NEWLINK);
const indexOf = (name: string): number => {
  const m = captured.find((x) => decodeLink(x.body).name === name);
  assert.ok(m, `the capture has ${name}`);
  return decodeLink(m.body).index;
};

/** A socket to a fake kernel; `sent` holds every request, decoded. */
const fakeKernel = (): { socket: RtnlSocket; sent: NlMessage[] } => {
  const sent: NlMessage[] = [];
  const queue: Buffer[] = [];
  const ack = (req: NlMessage, errno = 0): Buffer => {
    const body = Buffer.alloc(4 + 16);
    body.writeInt32LE(-errno, 0);
    body.writeUInt32LE(16 + req.body.length, 4);
    body.writeUInt16LE(req.type, 8);
    body.writeUInt16LE(req.flags, 10);
    body.writeUInt32LE(req.seq, 12);
    return encodeMessage(NLMSG.ERROR, NLM_F.CAPPED, req.seq, body);
  };
  const libc: Libc = {
    setns: () => 0,
    socket: () => 3,
    close: () => 0,
    setsockopt: () => 0,
    bind: () => 0,
    sendto: () => 0,
    flock: () => 0,
    errno: () => 0,
    send: (_fd, buf, len) => {
      const [req] = decodeMessages(Buffer.from(buf.subarray(0, len)));
      assert.ok(req, 'a request decodes');
      sent.push(req);
      if (req.type === RTM.GETLINK) {
        const name = attrsOf(req.body, 16)(IFLA.IFNAME);
        const hit = captured.find((m) => name && decodeLink(m.body).name === readStr(name));
        queue.push(
          hit ? Buffer.concat([encodeMessage(RTM.NEWLINK, 0, req.seq, hit.body), ack(req)]) : ack(req, 19),
        );
      } else queue.push(ack(req));
      return len;
    },
    recv: (_fd, buf) => {
      const next = queue.shift();
      assert.ok(next, 'a request was sent before each receive');
      next.copy(buf);
      return next.length;
    },
  };
  return { socket: new RtnlSocket(libc, 3), sent };
};

/** The last request that is not a GETLINK (the lookups of indexes come first). */
const change = (sent: readonly NlMessage[]): NlMessage => {
  const m = sent.filter((x) => x.type !== RTM.GETLINK).at(-1);
  assert.ok(m, 'a change was sent');
  assert.equal(
    m.flags & (NLM_F.REQUEST | NLM_F.ACK),
    NLM_F.REQUEST | NLM_F.ACK,
    'a request asking for an ack',
  );
  return m;
};

const linkinfo = (body: Buffer): { kind?: string; data: (t: number) => Buffer | undefined } => {
  const info = attrsOf(body, 16)(IFLA.LINKINFO);
  assert.ok(info, 'IFLA_LINKINFO');
  const ia = attrsOf(info);
  const kind = ia(IFLA_INFO.KIND);
  const data = ia(IFLA_INFO.DATA);
  return { ...(kind ? { kind: readStr(kind) } : {}), data: attrsOf(data ?? Buffer.alloc(0)) };
};

test('ip link add … type veth peer name … netns N: the link, its peer in its own ifinfomsg, both decoded', () => {
  const k = fakeKernel();
  linkAdd(k.socket, {
    name: 'h1',
    mtu: 1400,
    mac: '02:00:00:00:00:21',
    master: 'br0',
    alias: 'pipefitter:v2 x',
    link: { kind: 'veth', peer: { name: 'eth1', netns: 17, mtu: 1400, mac: '02:00:00:00:00:22' } },
  });
  const m = change(k.sent);
  assert.equal(m.type, RTM.NEWLINK);
  assert.equal(m.flags & (NLM_F.CREATE | NLM_F.EXCL), NLM_F.CREATE | NLM_F.EXCL, 'create, never replace');
  const l = decodeLink(m.body);
  assert.deepEqual(
    { name: l.name, mtu: l.mtu, mac: l.mac, master: l.master, alias: l.alias, kind: l.kind },
    {
      name: 'h1',
      mtu: 1400,
      mac: '02:00:00:00:00:21',
      master: indexOf('br0'),
      alias: 'pipefitter:v2 x',
      kind: 'veth',
    },
  );
  const peerBuf = linkinfo(m.body).data(VETH_INFO_PEER);
  assert.ok(peerBuf, 'VETH_INFO_PEER');
  const peer = decodeLink(peerBuf);
  assert.deepEqual(
    { name: peer.name, mtu: peer.mtu, mac: peer.mac },
    { name: 'eth1', mtu: 1400, mac: '02:00:00:00:00:22' },
  );
  const ns = attrsOf(peerBuf, 16)(IFLA.NET_NS_FD);
  assert.equal(ns && readU32(ns), 17, 'the peer is born in the namespace given by descriptor');
});

test('ip link add … type macvlan|ipvlan|vlan|vxlan|bridge: kind data and parent decode to what was asked', () => {
  const k = fakeKernel();
  linkAdd(k.socket, { name: 'mv1', netns: 9, link: { kind: 'macvlan', parent: 'v1', mode: 'vepa' } });
  let l = decodeLink(change(k.sent).body);
  assert.deepEqual(
    { kind: l.kind, mode: l.macvlanMode, parent: l.link },
    { kind: 'macvlan', mode: 'vepa', parent: indexOf('v1') },
  );
  linkAdd(k.socket, { name: 'iv1', link: { kind: 'ipvlan', parent: 'v1', mode: 'l3', flag: 'private' } });
  const ipv = change(k.sent);
  l = decodeLink(ipv.body);
  const flags = linkinfo(ipv.body).data(IFLA_IPVLAN.FLAGS);
  assert.deepEqual(
    { kind: l.kind, mode: l.ipvlanMode, parent: l.link, flag: flags && readU16(flags) },
    { kind: 'ipvlan', mode: 'l3', parent: indexOf('v1'), flag: 1 },
  );
  linkAdd(k.socket, { name: 'v1.10', link: { kind: 'vlan', parent: 'v1', id: 10 } });
  l = decodeLink(change(k.sent).body);
  assert.deepEqual(
    { kind: l.kind, id: l.vlanId, parent: l.link },
    { kind: 'vlan', id: 10, parent: indexOf('v1') },
  );
  linkAdd(k.socket, { name: 'vx1', link: { kind: 'vxlan', id: 4242, port: 4789, local: '2001:db8::7' } });
  l = decodeLink(change(k.sent).body);
  assert.deepEqual(l.vxlan, { id: 4242, port: 4789, local: '2001:db8::7', group: undefined });
  linkAdd(k.socket, { name: 'br1', link: { kind: 'bridge', vlanFiltering: true } });
  l = decodeLink(change(k.sent).body);
  assert.deepEqual({ kind: l.kind, vlanFiltering: l.vlanFiltering }, { kind: 'bridge', vlanFiltering: true });
});

test('ip link set: one RTM_NEWLINK by index, up in flags and change, each patched field in its attribute', () => {
  const k = fakeKernel();
  linkSet(k.socket, 'h0', {
    up: true,
    mtu: 9000,
    mac: '02:00:00:00:00:31',
    master: 'br0',
    alias: 'a',
    name: 'h9',
  });
  let m = change(k.sent);
  let l = decodeLink(m.body);
  assert.equal(m.type, RTM.NEWLINK);
  assert.equal(m.flags & NLM_F.CREATE, 0, 'never creates');
  assert.deepEqual(
    {
      index: l.index,
      up: l.flags & IFF.UP,
      change: readU32(m.body, 12),
      mtu: l.mtu,
      mac: l.mac,
      master: l.master,
      alias: l.alias,
      name: l.name,
    },
    {
      index: indexOf('h0'),
      up: IFF.UP,
      change: IFF.UP,
      mtu: 9000,
      mac: '02:00:00:00:00:31',
      master: indexOf('br0'),
      alias: 'a',
      name: 'h9',
    },
  );
  linkSet(k.socket, 'h0', { up: false, master: null, alias: '' });
  m = change(k.sent);
  l = decodeLink(m.body);
  assert.deepEqual(
    { up: l.flags & IFF.UP, change: readU32(m.body, 12), master: l.master, alias: l.alias, mtu: l.mtu },
    { up: 0, change: IFF.UP, master: 0, alias: undefined, mtu: 0 },
    'down, nomaster (index 0), alias cleared; nothing else sent',
  );
  linkSet(k.socket, 'h0', { netns: 12 });
  m = change(k.sent);
  assert.equal(readU32(m.body, 12), 0, 'no change of flags asked');
  const ns = attrsOf(m.body, 16)(IFLA.NET_NS_FD);
  assert.equal(ns && readU32(ns), 12);
  linkDel(k.socket, 'h0');
  m = change(k.sent);
  assert.deepEqual({ type: m.type, name: decodeLink(m.body).name }, { type: RTM.DELLINK, name: 'h0' });
});

test('ip addr add|del: address, prefix, broadcast, nodad and the link index decode to what was asked', () => {
  const k = fakeKernel();
  addrAdd(k.socket, { dev: 'br0', family: 4, address: '192.0.2.10', prefix: 24, broadcast: '192.0.2.255' });
  let m = change(k.sent);
  let a = decodeAddr(m.body);
  assert.equal(m.type, RTM.NEWADDR);
  assert.equal(m.flags & (NLM_F.CREATE | NLM_F.EXCL), NLM_F.CREATE | NLM_F.EXCL);
  assert.deepEqual(
    {
      family: a?.family,
      address: a?.address,
      prefix: a?.prefix,
      brd: a?.broadcast,
      index: a?.index,
      peer: a?.peer,
    },
    {
      family: 4,
      address: '192.0.2.10',
      prefix: 24,
      brd: '192.0.2.255',
      index: indexOf('br0'),
      peer: undefined,
    },
  );
  addrAdd(k.socket, {
    dev: 'v0',
    family: 6,
    address: '2001:db8::10',
    prefix: 64,
    flags: ['nodad', 'noprefixroute'],
  });
  a = decodeAddr(change(k.sent).body);
  assert.deepEqual(
    { family: a?.family, address: a?.address, flags: a?.flags, index: a?.index },
    { family: 6, address: '2001:db8::10', flags: IFA_F.NODAD | IFA_F.NOPREFIXROUTE, index: indexOf('v0') },
  );
  addrDel(k.socket, { dev: 'v0', family: 6, address: '2001:db8::10', prefix: 64, flags: ['nodad'] });
  m = change(k.sent);
  a = decodeAddr(m.body);
  assert.deepEqual(
    { type: m.type, address: a?.address, flags: a?.flags },
    { type: RTM.DELADDR, address: '2001:db8::10', flags: 0 },
  );
});

test('ip route add|replace|del: destination, gateway, device, metric, table, onlink and ip’s defaults decode back', () => {
  const k = fakeKernel();
  routeAdd(k.socket, {
    family: 4,
    dst: { address: '203.0.113.0', prefix: 24 },
    gateway: '192.0.2.254',
    dev: 'br0',
    metric: 50,
    onlink: true,
  });
  let m = change(k.sent);
  let r = decodeRoute(m.body);
  assert.equal(m.flags & (NLM_F.CREATE | NLM_F.EXCL), NLM_F.CREATE | NLM_F.EXCL);
  assert.deepEqual(
    {
      dst: r?.dst,
      len: r?.dstLen,
      gw: r?.gateway,
      oif: r?.oif,
      metric: r?.priority,
      onlink: r?.onlink,
      table: r?.table,
      proto: r?.protocol,
      scope: r?.scope,
      type: r?.type,
    },
    {
      dst: '203.0.113.0',
      len: 24,
      gw: '192.0.2.254',
      oif: indexOf('br0'),
      metric: 50,
      onlink: true,
      table: 254,
      proto: 'boot',
      scope: 'global',
      type: 'unicast',
    },
  );
  routeAdd(k.socket, { family: 6, gateway: '2001:db8::1', dev: 'v0', table: 1000 }, true);
  m = change(k.sent);
  r = decodeRoute(m.body);
  assert.equal(m.flags & (NLM_F.CREATE | NLM_F.REPLACE), NLM_F.CREATE | NLM_F.REPLACE, 'replace');
  assert.equal(m.body[4], 0, 'a table above 255 is only in RTA_TABLE');
  assert.deepEqual(
    { family: r?.family, dst: r?.dst, len: r?.dstLen, gw: r?.gateway, table: r?.table },
    { family: 6, dst: undefined, len: 0, gw: '2001:db8::1', table: 1000 },
  );
  routeAdd(k.socket, { family: 4, dst: { address: '198.51.100.0', prefix: 24 }, dev: 'v0' });
  r = decodeRoute(change(k.sent).body);
  assert.equal(r?.scope, 'link', 'a route without a gateway is scope link, as ip makes it');
  routeDel(k.socket, { family: 4, dst: { address: '198.51.100.0', prefix: 24 }, dev: 'v0', metric: 5 });
  m = change(k.sent);
  assert.equal(m.type, RTM.DELROUTE);
  assert.deepEqual(
    { proto: m.body[5], scope: m.body[6], type: m.body[7], metric: decodeRoute(m.body)?.priority },
    { proto: 0, scope: RT_SCOPE.nowhere, type: 0, metric: 5 },
    'a deletion matches any protocol, scope and type, as ip route del does',
  );
});

test('bridge vlan add|del: AF_BRIDGE, the port by index, vid with pvid and untagged for an access port', () => {
  const k = fakeKernel();
  bridgeVlan(k.socket, { dev: 'h0', vid: 10, access: true }, false);
  let m = change(k.sent);
  assert.deepEqual(
    { type: m.type, family: m.body[0], index: m.body.readInt32LE(4) },
    { type: RTM.SETLINK, family: AF.BRIDGE, index: indexOf('h0') },
  );
  const spec = attrsOf(m.body, 16)(IFLA.AF_SPEC);
  const info = spec && attrsOf(spec)(IFLA_BRIDGE.VLAN_INFO);
  assert.ok(info);
  assert.deepEqual(
    { flags: readU16(info, 0), vid: readU16(info, 2) },
    { flags: BRIDGE_VLAN_INFO.PVID | BRIDGE_VLAN_INFO.UNTAGGED, vid: 10 },
  );
  bridgeVlan(k.socket, { dev: 'h0', vid: 20 }, true);
  m = change(k.sent);
  assert.equal(m.type, RTM.DELLINK);
});

test('a link the kernel does not know: the lookup fails with ENODEV (not-found), and nothing is changed', () => {
  const k = fakeKernel();
  assert.throws(
    () => addrAdd(k.socket, { dev: 'nosuch0', family: 4, address: '192.0.2.10', prefix: 24 }),
    (e: unknown) => e instanceof NetlinkError && e.reason === 'not-found',
  );
  assert.deepEqual(
    k.sent.map((m) => m.type),
    [RTM.GETLINK],
  );
});
