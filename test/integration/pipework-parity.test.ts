/**
 * Parity with pipework: each of its forms, typed verbatim after `pipefitter`, against real
 * Docker containers, and the state it must leave (what pipework left, read back with ip -j).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import type { DockerHarness } from '../helpers/docker.js';
import { dockerSkipReason, useDocker } from '../helpers/docker.js';
import { cli } from '../helpers/cli.js';
import { dhcpLan } from '../helpers/dnsmasq.js';
import type { NsState } from '../helpers/read-back.js';
import { broadcasts, ipJson, link, linkFlags, readState, routes } from '../helpers/read-back.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { withSandbox } from '../helpers/sandbox.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { needTools } from '../helpers/tools.js';

const skip = await dockerSkipReason();
if (skip) console.log(`# pipework parity tests skipped: ${skip}`);
let docker: DockerHarness | undefined;
before(async () => {
  if (!skip) docker = await useDocker();
});
after(async () => {
  await docker?.stop();
});

interface Ctx {
  sb: Sandbox;
  d: DockerHarness;
  env: Record<string, string>;
  web: { name: string; pid: number };
  nic: string;
  nic2: string;
  br: string;
}

interface Row {
  /** The pipework arguments, with placeholders {web} {nic} {nic2} {br} {nicmac}. */
  form: string;
  /** What it must leave. */
  check: (c: Ctx, host: NsState, inside: NsState) => void | Promise<void>;
  /** Interfaces to detach afterwards. */
  detach?: string[];
  needs?: 'dhcp';
  /** Prepare the host before the command (e.g. take the parent down). */
  setup?: (c: Ctx) => Promise<void>;
}

const macOf = (s: NsState, name: string): string => link(s, name)?.mac ?? '';

const TABLE: Row[] = [
  {
    form: '{br} {web} 192.0.2.10/24@192.0.2.1',
    check: ({ web, br }, host, inside) => {
      assert.equal(
        link(host, `veth1pl${web.pid}`)?.master,
        br,
        'host side v<ifname>pl<pid> in the bridge, made on the fly',
      );
      assert.deepEqual(
        link(inside, 'eth1')?.addrs.filter((a) => !a.startsWith('fe80')),
        ['192.0.2.10/24'],
      );
      assert.deepEqual(
        routes(inside)
          .filter((r) => r.dst === 'default')
          .map((r) => [r.gateway, r.dev]),
        [['192.0.2.1', 'eth1']],
        '@gw replaces the default route',
      );
    },
  },
  {
    form: '{br} -i eth3 {web} 192.0.2.12/24',
    detach: ['eth3'],
    check: async ({ web }) => {
      // pipework (ip addr add A brd +) and Docker's own eth0 carry the broadcast address
      assert.deepEqual(await broadcasts({ pid: web.pid }, 'eth3'), { '192.0.2.12/24': '192.0.2.255' });
      const eth0 = Object.values(await broadcasts({ pid: web.pid }, 'eth0'));
      assert.ok(
        eth0.every((b) => b !== ''),
        `Docker's eth0 has one too: ${eth0.join(' ')}`,
      );
    },
  },
  {
    form: '{nic} {web} 198.51.100.11/24',
    setup: async ({ nic }) => void (await execa('ip', ['link', 'set', 'dev', nic, 'down'])),
    check: async ({ nic, web }) => {
      assert.deepEqual(
        await linkFlags('sandbox', nic),
        { up: true, carrier: true },
        'pipework brings the parent up',
      );
      assert.equal((await linkFlags({ pid: web.pid }, 'eth1')).carrier, true, 'so the macvlan has carrier');
    },
  },
  {
    form: '{br} -i eth2 -l pfhostside {web} 192.0.2.11/24',
    detach: ['eth2'],
    check: ({ br }, host, inside) => {
      assert.equal(link(host, 'pfhostside')?.master, br, '-l names the host side');
      assert.deepEqual(
        link(inside, 'eth2')?.addrs.filter((a) => !a.startsWith('fe80')),
        ['192.0.2.11/24'],
        '-i names the container side',
      );
      assert.deepEqual(
        routes(inside)
          .filter((r) => r.dst === 'default')
          .map((r) => r.dev),
        ['eth0'],
        "no @gw: Docker's default route stays",
      );
    },
  },
  {
    form: '{nic} {web} 198.51.100.7/24',
    check: ({ nic }, host, inside) => {
      assert.equal(
        link(inside, 'eth1')?.kind,
        'macvlan',
        'an existing non-bridge host interface means macvlan',
      );
      assert.equal(link(inside, 'eth1')?.mtu, link(host, nic)?.mtu, 'MTU taken from the host interface');
    },
  },
  {
    form: '{nic} {web} 198.51.100.8/24 02:00:00:00:00:08',
    check: (_c, _h, inside) => assert.equal(macOf(inside, 'eth1'), '02:00:00:00:00:08'),
  },
  {
    form: '{nic} {web} 198.51.100.9/24 U:web',
    // echo web | md5sum → 64d42024f1…: pipework's stable MAC for the seed "web"
    check: (_c, _h, inside) => assert.equal(macOf(inside, 'eth1'), '02:64:d4:20:24:f1'),
  },
  {
    form: 'mac:{nicmac} {web} 198.51.100.10/24',
    check: (_c, _h, inside) =>
      assert.equal(link(inside, 'eth1')?.kind, 'macvlan', 'the host interface found by its MAC'),
  },
  {
    form: '{br} -a 6 {web} 2001:db8::10/64@2001:db8::1',
    check: (_c, _h, inside) => {
      assert.ok(link(inside, 'eth1')?.addrs.includes('2001:db8::10/64'));
      assert.ok(
        routes(inside).some((r) => r.dst === 'default' && r.gateway === '2001:db8::1' && r.dev === 'eth1'),
      );
    },
  },
  {
    form: '--direct-phys {nic2} {web} 203.0.113.2/30',
    check: ({ nic2 }, host, inside) => {
      assert.equal(link(host, nic2), undefined, 'the host interface moved in');
      assert.deepEqual(
        link(inside, 'eth1')?.addrs.filter((a) => !a.startsWith('fe80')),
        ['203.0.113.2/30'],
      );
    },
  },
  {
    form: '{br} {web} udhcpc',
    needs: 'dhcp',
    check: (_c, _h, inside) =>
      assert.match(
        link(inside, 'eth1')?.addrs.find((a) => !a.startsWith('fe80')) ?? '',
        /^192\.0\.2\.1\d\d\/24$/,
      ),
  },
];

const fill = (form: string, c: Ctx, nicmac: string): string[] =>
  form
    .replaceAll('{web}', c.web.name)
    .replaceAll('{nic2}', c.nic2)
    .replaceAll('{nic}', c.nic)
    .replaceAll('{br}', c.br)
    .replaceAll('{nicmac}', nicmac)
    .split(' ');

for (const row of TABLE) {
  test(`pipework form: pipefitter ${row.form}`, { skip }, (t) =>
    withSandbox(t, async (sb) => {
      const d = docker!;
      const env = { DOCKER_HOST: d.dockerHost };
      const web = await d.run(sb.name('web'));
      const c: Ctx = {
        sb,
        d,
        env,
        web,
        nic: await sb.hostNic('n'),
        nic2: await sb.hostNic('m'),
        br: `br${sb.id}`,
      };
      if (row.needs === 'dhcp') await dhcpLan(sb, { bridge: c.br });
      await row.setup?.(c);
      const nicmac = macOf(await readState('sandbox'), c.nic);
      const spaces = ['sandbox', { pid: web.pid }] as const;
      const before = await snapshot(spaces);
      const r = await cli(fill(row.form, c, nicmac), env);
      assert.equal(r.code, 0, r.stderr);
      await row.check(c, await readState('sandbox'), await readState({ pid: web.pid }));
      for (const ifname of row.detach ?? ['eth1'])
        assert.equal((await cli(['detach', web.name, '--ifname', ifname], env)).code, 0);
      await expectState(spaces, before, 'detach undoes it, in the container and on the host');
      await d.remove(web.name);
    }),
  );
}

test('pipework route, rule and tc forms run inside the container', { skip }, (t) =>
  withSandbox(t, async (sb) => {
    await needTools('tc');
    const d = docker!;
    const env = { DOCKER_HOST: d.dockerHost };
    const web = await d.run(sb.name('rt'));
    assert.equal((await cli([`br${sb.id}`, web.name, '192.0.2.10/24'], env)).code, 0);
    const ns = { pid: web.pid };
    assert.equal(
      (await cli(['route', web.name, 'add', '198.51.100.0/24', 'via', '192.0.2.254'], env)).code,
      0,
    );
    assert.ok(
      routes(await readState(ns)).some((r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.254'),
    );
    assert.equal((await cli(['rule', web.name, 'add', 'from', '192.0.2.10', 'table', '100'], env)).code, 0);
    const rules = (await ipJson(ns, ['rule', 'show'])) as { src?: string; table?: string }[];
    assert.ok(rules.some((x) => x.src === '192.0.2.10' && x.table === '100'));
    const tcArgs = [
      'qdisc',
      'add',
      'dev',
      'eth1',
      'root',
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '32kbit',
      'latency',
      '400ms',
    ];
    const tc = await cli(['tc', web.name, ...tcArgs], env);
    assert.equal(tc.code, 0, tc.stderr);
    const q = JSON.parse(
      (
        await execa('nsenter', [
          `--net=/proc/${web.pid}/ns/net`,
          '--',
          'tc',
          '-j',
          'qdisc',
          'show',
          'dev',
          'eth1',
        ])
      ).stdout,
    ) as { kind: string }[];
    assert.equal(q[0]?.kind, 'tbf');
    // --dry-run of a pass-through prints the exact command
    const dry = await cli(
      ['--dry-run', 'route', web.name, 'add', '203.0.113.0/24', 'via', '192.0.2.254'],
      env,
    );
    assert.match(
      dry.stdout,
      new RegExp(
        `nsenter --net=/proc/${web.pid}/ns/net -- ip route add 203\\.0\\.113\\.0/24 via 192\\.0\\.2\\.254`,
      ),
    );
    await d.remove(web.name);
    await cli(['detach', web.name], env).catch(() => undefined);
  }),
);

test('pipework --wait returns once the interface is up and configured', { skip }, (t) =>
  withSandbox(t, async (sb) => {
    const d = docker!;
    const env = { DOCKER_HOST: d.dockerHost };
    const web = await d.run(sb.name('wt'));
    // what a container's entrypoint would run before its service: here, in the container's namespace
    const waiter = execa(
      'nsenter',
      [`--net=/proc/${web.pid}/ns/net`, '--', 'node', 'bin/pipefitter.js', '--wait', '-i', 'eth1'],
      { reject: false, timeout: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(waiter.exitCode == null, 'still waiting before the attach');
    assert.equal((await cli([`br${sb.id}`, web.name, '192.0.2.10/24'], env)).code, 0);
    const w = await waiter;
    assert.equal(w.exitCode, 0);
    assert.equal((await cli(['detach', web.name], env)).code, 0);
    await d.remove(web.name);
  }),
);

test("pipework's errors, with better messages: exit 2 and nothing touched", { skip }, (t) =>
  withSandbox(t, async (sb) => {
    const d = docker!;
    const env = { DOCKER_HOST: d.dockerHost };
    const web = await d.run(sb.name('er'));
    const spaces = ['sandbox', { pid: web.pid }] as const;
    const before = await snapshot(spaces);
    const noPrefix = await cli([`br${sb.id}`, web.name, '192.0.2.10'], env);
    assert.equal(noPrefix.code, 2);
    assert.match(noPrefix.stderr, /prefix length missing\n {2}hint: add a prefix, e\.g\. 192\.0\.2\.10\/24/);
    const unknown = await cli([`br${sb.id}`, 'pf-nosuchcontainer', '192.0.2.10/24'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /pf-nosuchcontainer: no running Docker container/);
    const badIf = await cli(['pfnosuchnic', web.name, '192.0.2.10/24'], env);
    assert.equal(badIf.code, 2);
    assert.match(badIf.stderr, /host interface "pfnosuchnic": does not exist/);
    await expectState(spaces, before, 'nothing touched');
    const help = await cli(['help', 'compat']);
    assert.equal(help.code, 0);
    assert.match(
      help.stdout,
      /= pipefitter attach web --bridge br1 --ip 192\.0\.2\.10\/24 --gateway 192\.0\.2\.1/,
    );
    await d.remove(web.name);
  }),
);
