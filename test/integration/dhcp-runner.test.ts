/**
 * libexec/pipefitter-dhcp against the real clients (udhcpc, dhclient, dhcpcd) and a real
 * DHCP server (dnsmasq), all inside the test sandbox: a bridge with the server, and a
 * "container" (named netns) plugged into it with a veth. Each client gets a lease, the address
 * and the one default route are read back with `ip -j`, and the host's /etc/resolv.conf must
 * not change by a byte nor in its mtime. A client missing on this machine fails its tests, naming its
 * package (test/helpers/tools.ts).
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { dhcpLan } from '../helpers/dnsmasq.js';
import type { Dnsmasq } from '../helpers/dnsmasq.js';
import { link, readState, routes } from '../helpers/read-back.js';
import { sandboxSkipReason, withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';
import type { Sandbox } from '../helpers/sandbox.js';

const repo = path.resolve(import.meta.dirname, '../..');
const runner = path.join(repo, 'libexec/pipefitter-dhcp');
const eventScript = path.join(repo, 'libexec/pipefitter-dhcp-event');
const clients = ['udhcpc', 'dhclient', 'dhcpcd'] as const;
type Client = (typeof clients)[number];

// Every client is installed by `npm test` (src/tools.json, usedBy test); a missing one fails its tests.
const RANGE = ['192.0.2.100', '192.0.2.150'] as const;
const inRange = (a: string): boolean => {
  const last = Number(a.split('.')[3]);
  return a.startsWith('192.0.2.') && last >= 100 && last <= 150;
};

/** The host's /etc/resolv.conf: content, mtime, inode. (Tests share the host's mount namespace.) */
const resolvConf = async (): Promise<{ bytes: string; mtimeMs: number; ino: number }> => {
  const [bytes, s] = await Promise.all([readFile('/etc/resolv.conf', 'latin1'), stat('/etc/resolv.conf')]);
  return { bytes, mtimeMs: s.mtimeMs, ino: s.ino };
};

/**
 * The host paths a DHCP client, its stock scripts or mount(8) would write: whether each
 * exists, and what is in it. (/run/mount is libmount's, made by a `mount` without -n.)
 */
const hostPaths = async (): Promise<Record<string, string>> => {
  const out: Record<string, string> = {};
  for (const p of ['/run/dhcpcd', '/run/mount', '/var/lib/dhcpcd', '/var/lib/dhcp', '/etc/dhcp']) {
    const entries = await readdir(p).catch(() => undefined);
    out[p] = entries === undefined ? 'missing' : entries.sort().join(' ');
  }
  return out;
};

/** PIDs of the live processes in network namespace file `nsPath` (zombies have none). */
const procsIn = async (nsPath: string): Promise<string[]> => {
  const want = await stat(nsPath);
  const out: string[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = await stat(`/proc/${e}/ns/net`).catch(() => undefined);
    if (s && s.ino === want.ino && s.dev === want.dev) {
      const comm = (await readFile(`/proc/${e}/comm`, 'utf8').catch(() => '?')).trim();
      out.push(`${e} ${comm}`);
    }
  }
  return out;
};

const alive = async (pid: number): Promise<boolean> => {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z' && state !== 'X';
};

const readLease = async (state: string): Promise<Record<string, string>> =>
  Object.fromEntries(
    (await readFile(path.join(state, 'lease.env'), 'utf8'))
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

interface Lan {
  br: string;
  server: Dnsmasq;
  /** A "container": a named netns with eth1, whose veth peer is a port of the bridge. */
  container(suffix: string): Promise<string>;
}

/** A bridge 192.0.2.1/24 in the sandbox with dnsmasq serving 192.0.2.100-150 on it. */
const makeLan = async (sb: Sandbox): Promise<Lan> => {
  const { br, server } = await dhcpLan(sb, {
    bridge: sb.name('br'),
    range: RANGE,
    dns: ['192.0.2.53', '192.0.2.54'],
  });
  return {
    br,
    server,
    container: async (suffix) => {
      const ns = await sb.netns(suffix);
      const host = sb.name(`h${suffix}`);
      sb.own(host);
      await execa('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ns]);
      await execa('ip', ['link', 'set', 'dev', host, 'master', br, 'up']);
      return ns;
    },
  };
};

/** A state directory path under /tmp/pf-*, removed (client stopped first) after the test. */
const stateDir = (t: TestContext): string => {
  const dir = `/tmp/pf-dhcp-${randomBytes(4).toString('hex')}`;
  t.after(async () => {
    await execa(runner, ['stop', dir], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
};

/** `pipefitter-dhcp run` as pipefitter starts it: container netns, private mount namespace. */
const run = (
  ns: string,
  args: { state: string; client: string; fg: 0 | 1; host?: string; opts?: string[]; timeout?: number },
) =>
  execa(
    'nsenter',
    [
      `--net=/run/netns/${ns}`,
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      runner,
      'run',
      args.state,
      args.client,
      'eth1',
      String(args.fg),
      args.host ?? 'testhost',
      ...(args.opts ?? []),
    ],
    {
      reject: false,
      timeout: 60_000,
      env: args.timeout ? { PIPEFITTER_DHCP_TIMEOUT: String(args.timeout) } : {},
    },
  );

/** eth1 has one address from the range, and there is exactly one default route, via the bridge. */
const assertLeased = async (ns: string): Promise<string> => {
  const s = await readState({ netns: ns });
  const v4 = (link(s, 'eth1')?.addrs ?? []).filter((a) => !a.includes(':'));
  assert.equal(v4.length, 1, `one IPv4 address on eth1: ${v4.join(' ')}`);
  const [addr, prefix] = (v4[0] as string).split('/');
  assert.ok(inRange(addr as string), `${String(addr)} is in ${RANGE.join('-')}`);
  assert.equal(prefix, '24');
  assert.equal(link(s, 'eth1')?.up, true);
  const defaults = routes(s).filter((r) => r.dst === 'default');
  assert.equal(defaults.length, 1, `exactly one default route: ${JSON.stringify(defaults)}`);
  assert.equal(defaults[0]?.gateway, '192.0.2.1');
  assert.equal(defaults[0]?.dev, 'eth1');
  return v4[0] as string;
};

/** A default route as 'GATEWAY DEV METRIC'. */
const defaultRoute = (r: Record<string, unknown>): string =>
  `${r.gateway as string} ${r.dev as string} ${typeof r.metric === 'number' ? r.metric : 0}`;

/** dnsmasq writes its lease file right after the ACK: polled for, and a failure when it never comes. */
const leaseLine = async (server: Dnsmasq, ip: string): Promise<string> => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const leases = await server.leases();
    const line = leases.split('\n').find((l) => l.split(' ')[2] === ip);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`dnsmasq has no lease of ${ip} after 10 s: ${leases}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

for (const client of clients) {
  test(`${client}: one lease; address and one default route; no client left; host resolv.conf untouched`, (t) =>
    withSandbox(t, async (sb) => {
      await needTools(client, 'dnsmasq');
      const lan = await makeLan(sb);
      const ns = await lan.container('c');
      const state = stateDir(t);
      const before = await resolvConf();
      const paths = await hostPaths();
      const t0 = Date.now();
      const r = await run(ns, { state, client, fg: 0, host: `pf-${client}` });
      t.diagnostic(`${client}: lease in ${Date.now() - t0} ms`);
      assert.equal(r.exitCode, 0, `exit 0; stderr: ${r.stderr}`);

      const cidr = await assertLeased(ns);
      const lease = await readLease(state);
      assert.equal(lease.ip, cidr);
      assert.equal(lease.router, '192.0.2.1');
      assert.equal(lease.dns, '192.0.2.53 192.0.2.54');
      assert.equal(lease.lease, '120');
      assert.equal(lease.client, client);
      assert.equal(lease.iface, 'eth1');
      // the hostname argument reached the server (option 12)
      const line = await leaseLine(lan.server, cidr.split('/')[0] as string);
      assert.equal(line.split(' ')[3], `pf-${client}`, `dnsmasq's lease: ${line}`);

      assert.deepEqual(await resolvConf(), before, "the host's /etc/resolv.conf is untouched");
      assert.equal(await readFile(path.join(state, 'resolv.conf'), 'utf8'), '', 'the private one too');
      assert.deepEqual(await hostPaths(), paths, "no client file on the host's file systems");
      assert.deepEqual(await procsIn(`/run/netns/${ns}`), [], 'no client left in the container');
      await assert.rejects(access(path.join(state, 'client.pid')), 'no client tracked');

      // stop with no client: removes the state, and again is fine
      assert.equal((await execa(runner, ['stop', state])).exitCode, 0);
      await assert.rejects(access(state));
      assert.equal((await execa(runner, ['stop', state])).exitCode, 0);
    }));

  test(`${client} foreground: stays in the container's namespace, replaces and restores a metric-0 default route; stop kills it`, (t) =>
    withSandbox(t, async (sb) => {
      await needTools(client, 'dnsmasq');
      const lan = await makeLan(sb);
      const ns = await lan.container('f');
      // Docker's eth0 and its default route (metric 0), and one of another metric
      await execa('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'e0peer']);
      await execa('ip', ['-n', ns, 'link', 'set', 'dev', 'e0peer', 'up']);
      await execa('ip', ['-n', ns, 'link', 'set', 'dev', 'eth0', 'up']);
      await execa('ip', ['-n', ns, 'addr', 'add', '172.17.0.2/16', 'dev', 'eth0']);
      await execa('ip', ['-n', ns, 'route', 'add', 'default', 'via', '172.17.0.1']);
      await execa('ip', ['-n', ns, 'route', 'add', 'default', 'via', '172.17.0.1', 'metric', '50']);
      const state = stateDir(t);
      const before = await resolvConf();

      const r = await run(ns, { state, client, fg: 1 });
      assert.equal(r.exitCode, 0, `exit 0; stderr: ${r.stderr}`);
      const pid = Number((await readFile(path.join(state, 'client.pid'), 'utf8')).trim());
      assert.ok(await alive(pid), `client ${pid} runs`);
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
      assert.ok(comm === client || comm === 'busybox', `pid ${pid} is ${client}, not ${comm}`);
      const [its, container, mine, itsMnt, myMnt] = await Promise.all([
        stat(`/proc/${pid}/ns/net`),
        stat(`/run/netns/${ns}`),
        stat('/proc/self/ns/net'),
        readlink(`/proc/${pid}/ns/mnt`),
        readlink('/proc/self/ns/mnt'),
      ]);
      assert.equal(its.ino, container.ino, "the client is in the container's network namespace");
      assert.notEqual(its.ino, mine.ino);
      assert.notEqual(itsMnt, myMnt, 'the client is in a mount namespace of its own');

      const s = await readState({ netns: ns });
      const defaults = routes(s).filter((x) => x.dst === 'default');
      assert.deepEqual(
        defaults.map(defaultRoute).sort(),
        ['172.17.0.1 eth0 50', '192.0.2.1 eth1 0'],
        'the metric-0 default route is replaced, the metric-50 one stays',
      );
      const lease = await readLease(state);
      assert.equal(lease.default_before, 'default via 172.17.0.1 dev eth0');
      assert.ok(inRange((lease.ip ?? '').split('/')[0] ?? ''), lease.ip);

      const t0 = Date.now();
      assert.equal((await execa(runner, ['stop', state])).exitCode, 0);
      t.diagnostic(`${client}: stop in ${Date.now() - t0} ms`);
      assert.equal(await alive(pid), false, 'the client is gone');
      await assert.rejects(access(state), 'the state directory is removed');
      assert.deepEqual(await procsIn(`/run/netns/${ns}`), []);
      // stopping releases the lease (dhclient through `dhclient -r`): address gone, route back
      const after = await readState({ netns: ns });
      assert.deepEqual(
        (link(after, 'eth1')?.addrs ?? []).filter((a) => !a.includes(':')),
        [],
        'the leased address is removed with the release',
      );
      assert.deepEqual(
        routes(after)
          .filter((x) => x.dst === 'default')
          .map(defaultRoute)
          .sort(),
        ['172.17.0.1 eth0 0', '172.17.0.1 eth0 50'],
        "Docker's default route is back",
      );
      assert.match(await lan.server.log(), /DHCPRELEASE/);
      assert.deepEqual(await resolvConf(), before, "the host's /etc/resolv.conf is untouched");
    }));

  test(`${client}: no server: non-zero exit within the timeout, nothing left running`, (t) =>
    withSandbox(t, async (sb) => {
      await needTools(client);
      // a container whose eth1 leads to a bridge with no DHCP server on it
      const br = sb.name('nb');
      sb.own(br, sb.name('hn'));
      await execa('ip', ['link', 'add', br, 'type', 'bridge']);
      await execa('ip', ['link', 'set', 'dev', br, 'up']);
      const ns = await sb.netns('n');
      const host = sb.name('hn');
      await execa('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ns]);
      await execa('ip', ['link', 'set', 'dev', host, 'master', br, 'up']);
      const state = stateDir(t);
      for (const fg of [0, 1] as const) {
        // The same run with PIPEFITTER_DHCP_TIMEOUT 1 and 3: each waits about its timeout at
        // least (less 0.5 s: udhcpc gave up 0.87 s into a 1 s one), a lower bound a busy machine
        // cannot break, so the 3 s run waits longer than the 1 s one can have to (a client that
        // ignored the timeout and gave up at once is caught). Not compared with the clock or with
        // each other's totals: on a loaded machine the start-up around the wait varied by seconds
        // (4.5 s for a 1 s timeout).
        const took: Record<number, number> = {};
        for (const timeout of [1, 3]) {
          const t0 = performance.now();
          const r = await run(ns, { state, client, fg, timeout });
          took[timeout] = performance.now() - t0;
          t.diagnostic(`${client} fg=${fg} timeout ${timeout} s: failed in ${took[timeout].toFixed(0)} ms`);
          assert.equal(r.exitCode, 1, `exit 1; stderr: ${r.stderr}`);
          assert.equal(r.stderr.split('\n').length, 1, `one line: ${r.stderr}`);
          assert.match(r.stderr, new RegExp(`^pipefitter-dhcp: ${client} got no lease on eth1`));
          assert.deepEqual(await procsIn(`/run/netns/${ns}`), [], 'no client left');
          await assert.rejects(access(path.join(state, 'client.pid')));
          const s = await readState({ netns: ns });
          assert.deepEqual(
            (link(s, 'eth1')?.addrs ?? []).filter((a) => !a.includes(':')),
            [],
          );
          assert.deepEqual(
            routes(s).filter((x) => x.dst === 'default'),
            [],
          );
        }
        // the timeout is passed on: 3 s waits that long, and longer than 1 s by most of the
        // difference (udhcpc may give up a 1 s timeout early: 0.41 s and 0.87 s seen)
        assert.ok(
          took[3]! >= 2500,
          `fg=${fg}: a 3 s timeout waits at least 2.5 s: ${took[3]!.toFixed(0)} ms`,
        );
        assert.ok(
          took[3]! - took[1]! >= 1000,
          `fg=${fg}: a 3 s timeout waits 1 s or more longer than a 1 s one: ${took[3]!.toFixed(0)} vs ${took[1]!.toFixed(0)} ms`,
        );
      }
    }));
}

test('dhcpcd with its state under /run: /run/dhcpcd is private, and not made on the host', (t) =>
  withSandbox(t, async (sb) => {
    await needTools('dhcpcd', 'dnsmasq');
    const lan = await makeLan(sb);
    const ns = await lan.container('r');
    // pipefitter keeps its state under /run; covering /run must not lose it
    const top = `/run/pf-dhcp-${randomBytes(4).toString('hex')}`;
    const state = `${top}/eth1`;
    t.after(async () => {
      await execa(runner, ['stop', state], { reject: false });
      await rm(top, { recursive: true, force: true });
    });
    const paths = await hostPaths();
    const r = await run(ns, { state, client: 'dhcpcd', fg: 1 });
    assert.equal(r.exitCode, 0, `exit 0; stderr: ${r.stderr}`);
    await assertLeased(ns);
    const pid = Number((await readFile(path.join(state, 'client.pid'), 'utf8')).trim());
    // in the client's view: its own /run/dhcpcd with its pid file and sockets, and the state dir
    const inside = await execa('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'ls', '/run/dhcpcd', state]);
    assert.match(inside.stdout, /eth1-4\.pid/);
    assert.match(inside.stdout, /lease\.env/);
    assert.deepEqual(await hostPaths(), paths, 'the host has no /run/dhcpcd of ours');
    assert.equal((await execa(runner, ['stop', state])).exitCode, 0);
    assert.equal(await alive(pid), false);
    await assert.rejects(access(state));
  }));

test('client options pass through: udhcpc -V and dhcpcd -i (vendor class), udhcpc -x hostname', (t) =>
  withSandbox(t, async (sb) => {
    await needTools('udhcpc', 'dhcpcd', 'dnsmasq');
    const lan = await makeLan(sb);
    const cases: [Client, string[]][] = [
      ['udhcpc', ['-V', 'pf-vendor-u', '-x', 'hostname:pf-opt-host']],
      ['dhcpcd', ['-i', 'pf-vendor-d']],
    ];
    for (const [client, opts] of cases) {
      const ns = await lan.container(client.slice(0, 2));
      const state = stateDir(t);
      // empty HOSTNAME: pipefitter-dhcp sends none itself
      const r = await run(ns, { state, client, fg: 0, host: '', opts });
      assert.equal(r.exitCode, 0, `${client}: exit 0; stderr: ${r.stderr}`);
      await assertLeased(ns);
      const vendor = opts[1] as string;
      assert.match(await lan.server.log(), new RegExp(`vendor class: ${vendor}`), `${client} sent ${vendor}`);
      if (client === 'udhcpc') {
        const ip = (await readLease(state)).ip?.split('/')[0] ?? '';
        assert.equal((await leaseLine(lan.server, ip)).split(' ')[3], 'pf-opt-host');
      }
    }
  }));

// Refused before anything starts; still only in the sandbox, in case a refusal ever fails.
const outsideSandbox = await sandboxSkipReason();

test(
  'the runner refuses what would take the client off its script, files or interface',
  { skip: outsideSandbox },
  async (t) => {
    // installed (npm test installs them): the refusal is then the only way to exit 2 here
    await needTools(...clients);
    const state = stateDir(t);
    const cases: [string, string[]][] = [
      ['udhcpc', ['-s', '/bin/true']],
      ['udhcpc', ['-p/tmp/x.pid']],
      ['dhclient', ['-sf', '/bin/true']],
      ['dhclient', ['-lf', '/tmp/x']],
      ['dhcpcd', ['--script=/bin/true']],
      ['dhcpcd', ['-f', '/etc/dhcpcd.conf']],
    ];
    for (const [client, opts] of cases) {
      const r = await execa(runner, ['run', state, client, 'eth1', '0', 'h', ...opts], { reject: false });
      assert.equal(
        r.exitCode,
        2,
        `${client} ${opts.join(' ')}: refused before anything; stderr: ${r.stderr}`,
      );
      assert.equal(
        r.stderr,
        `pipefitter-dhcp: ${client} option '${opts[0]!}' is set by pipefitter-dhcp itself and cannot be passed`,
      );
    }
    for (const bad of [
      ['run', 'relative/dir', 'udhcpc', 'eth1', '0', 'h'],
      ['run', state, 'udhcpc', 'eth1', '2', 'h'],
      ['run', state, 'udhcpc', 'a/b', '0', 'h'],
      ['run', state, 'udhcpc', 'eth1', '0', 'bad host'],
      ['run', state, 'pump', 'eth1', '0', 'h'],
      ['stop'],
      ['nonsense'],
    ]) {
      const r = await execa(runner, bad, { reject: false });
      assert.equal(r.exitCode, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').length, 1);
    }
    await assert.rejects(access(state), 'nothing was made');

    // stop removes only a directory `run` made (or an empty one)
    const foreign = await mkdtemp('/tmp/pf-foreign-');
    t.after(() => rm(foreign, { recursive: true, force: true }));
    await writeFile(path.join(foreign, 'keep'), 'x');
    const r = await execa(runner, ['stop', foreign], { reject: false });
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /not a pipefitter-dhcp state directory; left alone/);
    await access(path.join(foreign, 'keep'));
  },
);

test('the event script: a renewal with a new address drops the old one; deconfig removes only its own', (t) =>
  withSandbox(t, async (sb) => {
    // no client and no server: the events are fed by hand, as each client would
    const ns = await sb.netns('e');
    await execa('ip', ['-n', ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'e1peer']);
    await execa('ip', ['-n', ns, 'link', 'set', 'dev', 'e1peer', 'up']);
    await execa('ip', ['-n', ns, 'addr', 'add', '198.51.100.9/24', 'dev', 'eth1']); // not the lease's
    const state = stateDir(t);
    await execa('mkdir', ['-p', state]);
    const before = await resolvConf();
    const event = async (client: string, env: Record<string, string>, arg?: string) => {
      await execa('sh', ['-c', 'printf "%s\\n" "$1" > "$2/client"', 'sh', client, state]);
      return execa('nsenter', [`--net=/run/netns/${ns}`, '--', eventScript, ...(arg ? [arg] : [])], {
        reject: false,
        extendEnv: false,
        env: {
          PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
          PIPEFITTER_DHCP_STATE: state,
          interface: 'eth1',
          ...env,
        },
      });
    };
    const v4 = async () =>
      (link(await readState({ netns: ns }), 'eth1')?.addrs ?? []).filter((a) => !a.includes(':')).sort();
    const defaults = async () => routes(await readState({ netns: ns })).filter((r) => r.dst === 'default');

    // udhcpc, prefix from the dotted mask (no `mask` variable)
    const u = {
      ip: '192.0.2.120',
      subnet: '255.255.255.0',
      router: '192.0.2.1',
      dns: '192.0.2.53',
      lease: '60',
    };
    assert.equal((await event('udhcpc', u, 'bound')).exitCode, 0);
    assert.deepEqual(await v4(), ['192.0.2.120/24', '198.51.100.9/24']);
    assert.equal((await readLease(state)).ip, '192.0.2.120/24');
    const renew = { ...u, ip: '192.0.2.121', subnet: '255.255.254.0' };
    assert.equal((await event('udhcpc', renew, 'renew')).exitCode, 0);
    assert.deepEqual(await v4(), ['192.0.2.121/23', '198.51.100.9/24'], 'the old leased address is gone');
    assert.equal((await defaults()).length, 1);
    assert.equal((await event('udhcpc', {}, 'deconfig')).exitCode, 0);
    assert.deepEqual(await v4(), ['198.51.100.9/24'], 'only the leased address is removed');
    assert.deepEqual(await defaults(), []);
    await assert.rejects(access(path.join(state, 'lease.env')));

    // dhclient-script protocol (reason=…), a /25 from its mask
    const d = {
      reason: 'BOUND',
      new_ip_address: '192.0.2.130',
      new_subnet_mask: '255.255.255.128',
      new_routers: '192.0.2.1 192.0.2.2',
      new_domain_name_servers: '192.0.2.53 192.0.2.54',
      new_dhcp_lease_time: '600',
    };
    assert.equal((await event('dhclient', d)).exitCode, 0);
    assert.deepEqual(await v4(), ['192.0.2.130/25', '198.51.100.9/24']);
    const lease = await readLease(state);
    assert.equal(lease.router, '192.0.2.1', 'the first router');
    assert.equal(lease.dns, '192.0.2.53 192.0.2.54');
    assert.equal((await event('dhclient', { reason: 'EXPIRE' })).exitCode, 0);
    assert.deepEqual(await v4(), ['198.51.100.9/24']);

    // dhcpcd: the prefix from new_subnet_cidr
    const c = {
      reason: 'BOUND',
      new_ip_address: '192.0.2.140',
      new_subnet_cidr: '26',
      new_routers: '192.0.2.1',
    };
    assert.equal((await event('dhcpcd', c)).exitCode, 0);
    assert.deepEqual(await v4(), ['192.0.2.140/26', '198.51.100.9/24']);
    assert.equal((await event('dhcpcd', { reason: 'STOP' })).exitCode, 0);
    assert.deepEqual(await v4(), ['198.51.100.9/24']);

    // values from the network are checked, never run: nothing is configured from them
    for (const bad of [
      { ip: '192.0.2.150; touch /tmp/pf-pwned', subnet: '255.255.255.0' },
      { ip: '192.0.2.150', subnet: '255.0.255.0' },
      { ip: '300.0.2.150', subnet: '255.255.255.0' },
    ]) {
      assert.notEqual((await event('udhcpc', bad, 'bound')).exitCode, 0, JSON.stringify(bad));
      assert.deepEqual(await v4(), ['198.51.100.9/24']);
    }
    await assert.rejects(access('/tmp/pf-pwned'));
    // without the state variable it refuses, whatever the event
    const r = await execa('nsenter', [`--net=/run/netns/${ns}`, '--', eventScript, 'bound'], {
      reject: false,
      extendEnv: false,
      env: { PATH: '/usr/bin:/bin', ip: '192.0.2.150', subnet: '255.255.255.0', interface: 'eth1' },
    });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /PIPEFITTER_DHCP_STATE/);
    assert.deepEqual(await resolvConf(), before);
  }));

test("`dhcp` is the first installed client; the caller's own network namespace is refused", (t) =>
  withSandbox(t, async (sb) => {
    await needTools(...clients, 'dnsmasq');
    const first = clients[0];
    const lan = await makeLan(sb);
    const ns = await lan.container('a');
    const state = stateDir(t);
    const r = await run(ns, { state, client: 'dhcp', fg: 0 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal((await readLease(state)).client, first);
    await assertLeased(ns);

    // started straight from this process (the sandbox's namespace), not through nsenter --net=
    const own = await execa(runner, ['run', stateDir(t), 'dhcp', 'lo', '0', 'h'], { reject: false });
    assert.equal(own.exitCode, 2, own.stderr);
    assert.match(own.stderr, /refusing to run in the caller's \(the host's\) network namespace/);
  }));

test('`which` names the first installed of udhcpc, dhclient, dhcpcd', async () => {
  await needTools(...clients);
  const r = await execa(runner, ['which'], { reject: false });
  assert.equal(r.stdout, clients[0]);
});
