/**
 * Observation in-process equals observation through `ip -d -j` (observe/snapshot.ts), field by
 * field, on namespaces holding every kind of object pipefitter reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createRunner } from '../../src/exec/runner.js';
import { observeNetnsNetlink } from '../../src/observe/netlink.js';
import { observeNetns } from '../../src/observe/snapshot.js';
import { NetlinkSession } from '../../src/netlink/session.js';
import { loadLibc } from '../../src/netlink/socket.js';
import { withSandbox } from '../helpers/sandbox.js';

test('observeNetnsNetlink gives what observeNetns gives', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.netns('oba');
    const b = await sb.netns('obb');
    const fresh = await sb.netns('obf'); // no IPv4 route at all: its main table does not exist yet
    const batch = (ns: string, ...lines: string[]) =>
      execa('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    await batch(
      a,
      'link add br0 type bridge',
      'link set dev br0 alias pf1:k=bridge up',
      `link add name v0 type veth peer name eth1 netns ${b}`,
      'link set dev v0 master br0 up',
      'link add name n0 type veth peer name n1',
      'link set dev n0 up',
      'link set dev n1 up',
      'link add name mv0 link n0 type macvlan mode vepa',
      'link add name vx0 type vxlan id 7 dstport 4789',
      'addr add 192.0.2.1/24 brd 192.0.2.255 dev br0',
      'addr add 192.0.2.2/24 dev br0',
      'addr add 2001:db8::1/64 dev br0 nodad',
      'addr add 198.51.100.1/24 dev n0',
      'route add 203.0.113.0/24 via 198.51.100.254 dev n0 metric 7',
      'route add 203.0.112.0/24 via 203.0.113.9 dev n0 onlink',
      'route add default via 198.51.100.254 dev n0',
      'route add ::/0 via 2001:db8::fe dev br0 metric 5',
      'route add 198.18.0.0/15 dev n0 proto static scope link',
      'neigh add 198.51.100.7 lladdr 02:00:00:00:00:07 dev n0 nud permanent',
    );
    await batch(b, 'addr add 192.0.2.10/24 dev eth1', 'link set dev eth1 alias pf1:k=veth up');
    const l = loadLibc();
    if ('error' in l) throw new Error(`koffi does not load here: ${l.error}`);
    const session = new NetlinkSession(l);
    try {
      for (const ns of [a, b, fresh]) {
        const ref = { kind: 'name' as const, name: ns };
        const viaIp = await observeNetns(createRunner(), ref, { firewall: false });
        const viaNl = observeNetnsNetlink(session, ref);
        const sortLinks = <T extends { name: string }>(x: readonly T[]) =>
          [...x].sort((p, q) => p.name.localeCompare(q.name));
        assert.deepEqual(sortLinks(viaNl.links), sortLinks(viaIp.links), `links of ${ns}`);
        const rk = (r: object) => JSON.stringify(r, Object.keys(r).sort());
        assert.deepEqual(viaNl.routes.map(rk).sort(), viaIp.routes.map(rk).sort(), `routes of ${ns}`);
        assert.deepEqual(viaNl.forwarding, viaIp.forwarding);
        const nk = (n: { address: string; dev: string }) => `${n.address} ${n.dev}`;
        assert.deepEqual((viaNl.neighbours ?? []).map(nk).sort(), (viaIp.neighbours ?? []).map(nk).sort());
      }
    } finally {
      session.close();
    }
  }));
