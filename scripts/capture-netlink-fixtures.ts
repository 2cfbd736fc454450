/**
 * Captures real rtnetlink replies as hex fixtures for the codec's unit tests
 * (test/unit/netlink/): `tsx scripts/capture-netlink-fixtures.ts` as root, run once, and again
 * only when a new kind of object needs a fixture.
 *
 * It re-runs itself under `unshare --net`: everything it makes lives in a throwaway namespace
 * that ends with it (and a second one, a `sleep`'s, for a veth peer elsewhere); the machine's
 * own namespace is never touched. There it builds one of each object the reader decodes — a
 * bridge with VLAN filtering and addresses of both families, a veth port with an alias and its
 * peer in the other namespace, a local veth pair with a set MTU and MAC, a macvlan, a vxlan,
 * routes (a gateway, a metric, another table, onlink, IPv6), permanent neighbours of both
 * families, a point-to-point address with a label, forwarding on — then dumps links,
 * addresses, routes, neighbours and netconf with the project's own socket code
 * (src/netlink/socket.ts), recording every datagram the kernel sends back. Each fixture holds
 * those datagrams in hex and what `ip -d -j` printed of the same namespace at the same moment,
 * which the unit tests compare the decoded values with.
 */
import { execa, execaSync } from 'execa';
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { attr, i32 } from '../src/netlink/codec.js';
import { AF, NETCONFA, RTM, RT_TABLE } from '../src/netlink/constants.js';
import { ifaddrmsg, ifinfomsg, ndmsg, netconfmsg, rtmsg } from '../src/netlink/messages.js';
import type { Libc } from '../src/netlink/socket.js';
import { loadLibc, openSocket } from '../src/netlink/socket.js';

const OUT = resolve(import.meta.dirname, '../test/fixtures/netlink');

if (process.env.PF_CAPTURE_INSIDE !== '1') {
  if (process.getuid?.() !== 0) {
    console.error('capture-netlink-fixtures: run it as root (it makes a throwaway network namespace)');
    process.exit(2);
  }
  // the same script, in a network namespace of its own
  execaSync('unshare', ['--net', '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { PF_CAPTURE_INSIDE: '1' },
  });
  process.exit(0);
}

const ip = (...args: string[]): string => execaSync('ip', args).stdout;

// the far namespace: a sleeping process's own
const far = execa('unshare', ['--net', '--', 'sleep', '600'], { stdio: 'ignore', reject: false });
const farNs = `/proc/${String(far.pid)}/ns/net`;
try {
  const own = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 200; i++) {
    const there = (() => {
      try {
        return readlinkSync(farNs);
      } catch {
        return own; // not started yet
      }
    })();
    if (there !== own) break;
    await new Promise((r) => setTimeout(r, 10));
  }

  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'br0', 'type', 'bridge');
  ip('link', 'set', 'br0', 'up');
  ip('addr', 'add', '192.0.2.1/24', 'brd', '192.0.2.255', 'dev', 'br0');
  ip('addr', 'add', '2001:db8::1/64', 'dev', 'br0', 'nodad');
  ip('link', 'add', 'h0', 'type', 'veth', 'peer', 'name', 'c0', 'netns', String(far.pid));
  ip('link', 'set', 'h0', 'master', 'br0', 'alias', 'pipefitter:v2 fixture', 'up');
  ip(
    'link',
    'add',
    'v0',
    'mtu',
    '1400',
    'address',
    '02:00:00:00:00:10',
    'type',
    'veth',
    'peer',
    'name',
    'v1',
  );
  ip('link', 'set', 'v0', 'up');
  ip('link', 'set', 'v1', 'up');
  ip('link', 'add', 'mv0', 'link', 'v1', 'type', 'macvlan', 'mode', 'bridge');
  ip('addr', 'add', '198.51.100.7', 'peer', '198.51.100.8/32', 'dev', 'v1', 'label', 'v1:p2p');
  ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '198.51.100.7');
  ip('route', 'add', '203.0.113.0/24', 'via', '192.0.2.254', 'dev', 'br0', 'metric', '50');
  ip('route', 'add', '198.51.100.0/24', 'dev', 'v0', 'table', '100');
  ip('route', 'add', 'default', 'via', '203.0.113.1', 'dev', 'v0', 'onlink');
  ip('-6', 'route', 'add', '2001:db8:1::/48', 'via', '2001:db8::fe', 'dev', 'br0', 'metric', '1024');
  ip('neigh', 'add', '192.0.2.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'br0', 'nud', 'permanent');
  ip('-6', 'neigh', 'add', '2001:db8::9', 'lladdr', '02:00:00:00:00:19', 'dev', 'br0', 'nud', 'permanent');
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');

  const real = loadLibc();
  if ('error' in real) throw new Error(`koffi: ${real.error}`);
  let received: Buffer[] = [];
  let sent: Buffer[] = [];
  const recording: Libc = {
    ...real,
    send: (fd, buf, len, flags) => {
      sent.push(Buffer.from(buf.subarray(0, len)));
      return real.send(fd, buf, len, flags);
    },
    recv: (fd, buf, len, flags) => {
      const n = real.recv(fd, buf, len, flags);
      if (n > 0) received.push(Buffer.from(buf.subarray(0, n)));
      return n;
    },
  };
  const s = openSocket(recording, undefined);
  const capture = (
    name: string,
    about: string,
    ipArgs: readonly string[] | undefined,
    run: () => void,
  ): { name: string } => {
    [received, sent] = [[], []];
    run();
    const fixture = {
      about,
      kernel: release(),
      requests: sent.map((b) => b.toString('hex')),
      datagrams: received.map((b) => b.toString('hex')),
      ...(ipArgs ? { ip: JSON.parse(ip('-d', '-j', ...ipArgs)) as unknown } : {}),
    };
    writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
    return { name };
  };
  mkdirSync(OUT, { recursive: true });
  const made = [
    capture(
      'links',
      'RTM_GETLINK dump: lo, br0, h0 (port, alias, peer elsewhere), v0/v1, mv0, vx0',
      ['link', 'show'],
      () => s.dump(RTM.GETLINK, ifinfomsg(), 'links'),
    ),
    capture('addrs', 'RTM_GETADDR dump, both families', ['addr', 'show'], () =>
      s.dump(RTM.GETADDR, ifaddrmsg({ family: AF.UNSPEC }), 'addresses'),
    ),
    capture('routes4', 'RTM_GETROUTE dump, IPv4, every table', ['-4', 'route', 'show', 'table', 'all'], () =>
      s.dump(RTM.GETROUTE, rtmsg({ family: AF.INET, table: RT_TABLE.UNSPEC }), 'routes'),
    ),
    capture('routes6', 'RTM_GETROUTE dump, IPv6, every table', ['-6', 'route', 'show', 'table', 'all'], () =>
      s.dump(RTM.GETROUTE, rtmsg({ family: AF.INET6, table: RT_TABLE.UNSPEC }), 'routes'),
    ),
    capture('neigh', 'RTM_GETNEIGH dump, both families', ['neigh', 'show', 'nud', 'permanent'], () =>
      s.dump(RTM.GETNEIGH, ndmsg({ family: AF.UNSPEC }), 'neighbours'),
    ),
    capture('netconf', 'RTM_GETNETCONF of "all", IPv4 then IPv6', ['netconf', 'show'], () => {
      for (const family of [AF.INET, AF.INET6])
        s.request(
          RTM.GETNETCONF,
          0,
          Buffer.concat([netconfmsg(family), attr(NETCONFA.IFINDEX, i32(-1))]),
          'forwarding',
        );
    }),
    capture('errors', 'RTM_GETLINK of a name that does not exist: ENODEV', undefined, () => {
      try {
        s.request(RTM.GETLINK, 0, Buffer.concat([ifinfomsg(), attr(3, Buffer.from('nosuch0\0'))]), 'missing');
      } catch {
        // the error is the fixture
      }
    }),
  ];
  s.close();
  console.log(`captured ${made.map((m) => m.name).join(', ')} into ${OUT} (kernel ${release()})`);
} finally {
  far.kill('SIGKILL');
}
