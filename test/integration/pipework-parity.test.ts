/**
 * Parity with pipework: each of its forms, typed verbatim after `pipefitter`, and the state it
 * must leave (what pipework left, read back with ip -j). The guest is a real Docker container
 * where the row is about Docker (its eth0, its default route, the veth named after its PID);
 * elsewhere a named namespace, by its bare name as pipework took a container's, so that a row
 * depends on dockerd only when it has to.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { DockerHarness } from '../helpers/docker.js';
import { dockerSkipReason, useDocker } from '../helpers/docker.js';
import { cli } from '../helpers/cli.js';
import { dhcpLan } from '../helpers/dnsmasq.js';
import type { Ns, NsState } from '../helpers/read-back.js';
import { broadcasts, ipJson, link, linkFlags, readState, routes } from '../helpers/read-back.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { withSandbox } from '../helpers/sandbox.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { needTools } from '../helpers/tools.js';
import { locate } from '../../src/observe/tools.js';

const dockerSkip = await dockerSkipReason();
if (dockerSkip) console.log(`# pipework parity tests with Docker containers skipped: ${dockerSkip}`);
/** dockerd, started by the first row that needs a Docker container, stopped after the file. */
let docker: Promise<DockerHarness> | undefined;
const dockerd = (): Promise<DockerHarness> => (docker ??= useDocker());
after(async () => {
  if (docker) await (await docker).stop();
});

interface Ctx {
  sb: Sandbox;
  env: Record<string, string>;
  /** The guest: its name as typed, where it is read back, and its PID when it is a container. */
  web: { name: string; ns: Ns; pid?: number };
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
  /** Why the guest must be a Docker container; without it, a named namespace. */
  docker?: string;
  /** Prepare the host before the command (e.g. take the parent down). */
  setup?: (c: Ctx) => Promise<void>;
}

const macOf = (s: NsState, name: string): string => link(s, name)?.mac ?? '';

const TABLE: Row[] = [
  {
    form: '{br} {web} 192.0.2.10/24@192.0.2.1',
    docker: "the host side is named after the container's PID",
    check: ({ web, br }, host, inside) => {
      assert.equal(
        link(host, `veth1pl${web.pid!}`)?.master,
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
    docker: "compared with Docker's own eth0",
    check: async ({ web }) => {
      // pipework (ip addr add A brd +) and Docker's own eth0 carry the broadcast address
      assert.deepEqual(await broadcasts(web.ns, 'eth3'), { '192.0.2.12/24': '192.0.2.255' });
      const eth0 = Object.values(await broadcasts(web.ns, 'eth0'));
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
      assert.equal((await linkFlags(web.ns, 'eth1')).carrier, true, 'so the macvlan has carrier');
    },
  },
  {
    form: '{br} -i eth2 -l pfhostside {web} 192.0.2.11/24',
    detach: ['eth2'],
    docker: "Docker's default route must stay",
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
    check: async ({ nic, web }, _h, inside) => {
      assert.equal(link(inside, 'eth1')?.kind, 'macvlan');
      // the host interface found by its MAC is the macvlan's parent: its link is nic's ifindex
      // (the other host interfaces have MACs too: nic2 and the peers of both)
      const [eth1] = (await ipJson(web.ns, ['-d', 'link', 'show', 'dev', 'eth1'])) as {
        link_index?: number;
      }[];
      const [parent] = (await ipJson('sandbox', ['link', 'show', 'dev', nic])) as { ifindex: number }[];
      assert.ok(parent && eth1?.link_index !== undefined, JSON.stringify(eth1));
      assert.equal(eth1.link_index, parent.ifindex, `the parent of eth1 is ${nic}`);
    },
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
  test(`pipework form: pipefitter ${row.form}`, { skip: row.docker ? dockerSkip : undefined }, async (t) => {
    // dockerd before the sandbox of the test: what it makes (docker0) is not the test's to clean up
    if (row.docker) await dockerd();
    await withSandbox(t, async (sb) => {
      let web: Ctx['web'];
      let env: Record<string, string> = {};
      if (row.docker) {
        const d = await dockerd();
        env = { DOCKER_HOST: d.dockerHost };
        const c = await d.run(sb.name('web'));
        web = { name: c.name, ns: { pid: c.pid }, pid: c.pid };
      } else {
        const n = await sb.netns('web');
        web = { name: n, ns: { netns: n } };
      }
      const c: Ctx = {
        sb,
        env,
        web,
        nic: await sb.hostNic('n'),
        nic2: await sb.hostNic('m'),
        br: `br${sb.id}`,
      };
      if (row.needs === 'dhcp') await dhcpLan(sb, { bridge: c.br });
      await row.setup?.(c);
      const nicmac = macOf(await readState('sandbox'), c.nic);
      const spaces = ['sandbox', web.ns] as const;
      const before = await snapshot(spaces);
      const r = await cli(fill(row.form, c, nicmac), env);
      assert.equal(r.code, 0, r.stderr);
      await row.check(c, await readState('sandbox'), await readState(web.ns));
      for (const ifname of row.detach ?? ['eth1'])
        assert.equal((await cli(['detach', web.name, '--ifname', ifname], env)).code, 0);
      // both sides: the host (bridge made on the fly, parent brought up, NIC moved in) too
      await expectState(spaces, before, 'detach undoes it, on the host and inside');
      if (row.docker) await (await dockerd()).remove(web.name);
    });
  });
}

test('pipework route, rule and tc forms run inside the guest', (t) =>
  withSandbox(t, async (sb) => {
    await needTools('tc');
    const web = await sb.netns('rt');
    const ns = { netns: web };
    assert.equal((await cli([`br${sb.id}`, web, '192.0.2.10/24'])).code, 0);
    assert.equal((await cli(['route', web, 'add', '198.51.100.0/24', 'via', '192.0.2.254'])).code, 0);
    assert.ok(
      routes(await readState(ns)).some((r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.254'),
    );
    assert.equal((await cli(['rule', web, 'add', 'from', '192.0.2.10', 'table', '100'])).code, 0);
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
    const tc = await cli(['tc', web, ...tcArgs]);
    assert.equal(tc.code, 0, tc.stderr);
    const q = JSON.parse((await execa('tc', ['-n', web, '-j', 'qdisc', 'show', 'dev', 'eth1'])).stdout) as {
      kind: string;
    }[];
    assert.equal(q[0]?.kind, 'tbf');
    // --dry-run of a pass-through prints the exact command
    const dry = await cli(['--dry-run', 'route', web, 'add', '203.0.113.0/24', 'via', '192.0.2.254']);
    assert.match(
      dry.stdout,
      new RegExp(`^ip -n ${web} route add 203\\.0\\.113\\.0/24 via 192\\.0\\.2\\.254$`, 'm'),
    );
    assert.ok(
      !routes(await readState(ns)).some((r) => r.dst === '203.0.113.0/24'),
      'a dry run changes nothing',
    );
    assert.equal((await cli(['detach', web])).code, 0);
  }));

/**
 * A directory with an `ip` that logs each start to `log` and runs the real one: how often the
 * waiter has looked, so the test waits for it to look again instead of sleeping. Under the
 * netlink backend the waiter starts no `ip`: it reads the link when the kernel's link event
 * comes, within milliseconds, so the test gives it a generous moment instead.
 */
const countingIp = async (t: { after: (fn: () => Promise<unknown>) => void }, sb: Sandbox) => {
  const real = await locate('ip');
  assert.ok(real, 'ip is installed');
  const dir = await mkdtemp(`/tmp/${sb.nsName('ip')}-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = `${dir}/starts`;
  await writeFile(log, '');
  await writeFile(`${dir}/ip`, `#!/bin/sh\necho start >>'${log}'\nexec '${real.at}' "$@"\n`, { mode: 0o755 });
  const starts = async (): Promise<number> => (await readFile(log, 'utf8')).split('\n').length - 1;
  return {
    dir,
    /** Wait until the waiter has started `ip` twice more: it looked at least once at the state as it is now, and went on. */
    lookedAgain: async (waiter: { exitCode: number | null | undefined }, what: string): Promise<void> => {
      if (process.env.PIPEFITTER_BACKEND !== 'ip') {
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(waiter.exitCode ?? null, null, `the waiter returned ${what}`);
        return;
      }
      const from = await starts();
      const deadline = Date.now() + 30_000;
      while ((await starts()) < from + 2) {
        assert.equal(waiter.exitCode ?? null, null, `the waiter returned ${what}`);
        if (Date.now() > deadline) throw new Error(`the waiter did not look again within 30 s (${what})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
};

test('pipework --wait returns once the interface is up and configured, not before', (t) =>
  withSandbox(t, async (sb) => {
    const web = await sb.netns('wt');
    const ip = await countingIp(t, sb);
    // what a container's entrypoint would run before its service, in its namespace; what eth1 is
    // when the wait returns is printed right after it
    const waiter = execa(
      'nsenter',
      [
        `--net=/run/netns/${web}`,
        '--',
        'sh',
        '-c',
        'node bin/pipefitter.js --wait -i eth1 && exec ip -j -d addr show dev eth1',
      ],
      { reject: false, timeout: 60_000, env: { PATH: `${ip.dir}:${process.env.PATH ?? ''}` } },
    );
    t.after(() => {
      waiter.kill('SIGKILL');
    });
    await ip.lookedAgain(waiter, 'before there was an eth1');
    // an eth1, down
    await execa('ip', ['-n', web, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'pfpeer']);
    await ip.lookedAgain(waiter, 'while eth1 was down');
    // up, with carrier and an address, but not (yet) all pipefitter does: its tag is set last
    await execa('ip', ['-n', web, 'link', 'set', 'dev', 'pfpeer', 'up']);
    await execa('ip', ['-n', web, 'link', 'set', 'dev', 'eth1', 'up']);
    await execa('ip', ['-n', web, 'addr', 'add', '192.0.2.10/24', 'dev', 'eth1']);
    await ip.lookedAgain(waiter, 'while eth1 was up with carrier, but not configured by pipefitter');
    await execa('ip', ['-n', web, 'link', 'del', 'dev', 'eth1']);
    // now pipefitter, as pipework: it returns, and eth1 is then up, with carrier and configured
    const r = await cli([`br${sb.id}`, web, '192.0.2.10/24@192.0.2.1']);
    assert.equal(r.code, 0, r.stderr);
    const w = await waiter;
    assert.equal(w.exitCode, 0, String(w.stderr));
    const [eth1] = JSON.parse(String(w.stdout)) as {
      flags: string[];
      ifalias?: string;
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    assert.ok(eth1, String(w.stdout));
    assert.ok(eth1.flags.includes('UP') && eth1.flags.includes('LOWER_UP'), eth1.flags.join(','));
    assert.deepEqual(
      eth1.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      ['192.0.2.10/24'],
    );
    assert.match(eth1.ifalias ?? '', /^pf2:/, 'the tag pipefitter sets last');
    assert.ok(
      routes(await readState({ netns: web })).some((x) => x.dst === 'default' && x.gateway === '192.0.2.1'),
    );
    assert.equal((await cli(['detach', web])).code, 0);
  }));

test(
  "pipework's errors, with better messages: exit 2 and nothing touched",
  { skip: dockerSkip },
  async (t) => {
    // Docker: a name that is no container (nor namespace) is told from a Docker that cannot answer
    const d = await dockerd();
    await withSandbox(t, async (sb) => {
      const env = { DOCKER_HOST: d.dockerHost };
      const web = await d.run(sb.name('er'));
      const spaces = ['sandbox', { pid: web.pid }] as const;
      const before = await snapshot(spaces);
      const noPrefix = await cli([`br${sb.id}`, web.name, '192.0.2.10'], env);
      assert.equal(noPrefix.code, 2);
      assert.match(
        noPrefix.stderr,
        /prefix length missing\n {2}hint: add a prefix, e\.g\. 192\.0\.2\.10\/24/,
      );
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
    });
  },
);
