/**
 * pipefitter in a chain with the reference plugins (Debian's containernetworking-plugins 1.1.1,
 * which speak up to 1.0.0), driven as a runtime drives a network configuration list
 * (test/helpers/cni-chain.ts): ADD in order with the previous result as prevResult, CHECK in
 * order and DEL in reverse with the ADD's result. The sandbox namespace is the host: portmap's
 * iptables rules, bandwidth's qdisc and the bridges live there, and the leak check of
 * withSandbox sees anything the chain leaves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { cli } from '../helpers/cli.js';
import { hostLocalIpam, hostLocalLeases, REFERENCE } from '../helpers/cni.js';
import type { Attachment, Chain, ChainRun, ConfList, PluginConf } from '../helpers/cni-chain.js';
import { chainAdd, chainCheck, chainDel, describeRuns, runPlugin } from '../helpers/cni-chain.js';
import { startPodman } from '../helpers/podman.js';
import { link, readState } from '../helpers/read-back.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';

const stateDir = (): string => process.env.PIPEFITTER_STATE_DIR ?? '/var/lib/pipefitter';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Result {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number; version?: string }[];
  routes?: { dst: string; gw?: string }[];
}

const ok = (c: ChainRun, what: string): void => assert.ok(c.ok, `${what}:\n${describeRuns(c)}`);

/** A temporary directory of this run (the leak check looks for /tmp/pf-RUNID-*). */
const tmpDir = async (t: { after: (fn: () => unknown) => void }, what: string): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${runId}-chain-${what}-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

/** `pipefitter cni install` into a directory of this run: CNI_PATH is it, then the reference plugins. */
const pluginPath = async (t: { after: (fn: () => unknown) => void }): Promise<string[]> => {
  const dir = await tmpDir(t, 'bin');
  const r = await cli(['cni', 'install', '--bin-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  return [dir, REFERENCE];
};

const inNs = (netns: string, ...argv: string[]): string[] => [
  'nsenter',
  `--net=/run/netns/${netns}`,
  '--',
  ...argv,
];
const run = (argv: string[]) => execa(argv[0] as string, argv.slice(1), { reject: false });

/** The nat table as iptables-save prints it in the sandbox (portmap writes it through iptables). */
const natRules = async (): Promise<string> => String((await run(['iptables-save', '-t', 'nat'])).stdout);

/** The nftables tables of the sandbox, as "family name". */
const nftTables = async (): Promise<string[]> =>
  String((await run(['nft', 'list', 'tables'])).stdout)
    .split('\n')
    .map((l) => l.replace(/^table /, '').trim())
    .filter(Boolean);

/**
 * portmap never removes its shared chains (CNI-HOSTPORT-DNAT, -SETMARK, -MASQ) nor their jumps
 * from PREROUTING, OUTPUT and POSTROUTING: they stay on a host for the next container. The
 * sandbox is a host for the length of one test, so they go: the jumps and chains from a nat table
 * that was there before (the run's dockerd made one), and the tables iptables made for them.
 */
const dropNewTables = async (before: readonly string[]): Promise<void> => {
  for (const chain of ['PREROUTING', 'OUTPUT', 'POSTROUTING']) {
    const listed = String((await run(['iptables', '-w', '-t', 'nat', '-L', chain, '--line-numbers'])).stdout);
    const jumps = [...listed.matchAll(/^(\d+)\s+CNI-HOSTPORT-\S+/gm)].map((m) => Number(m[1]));
    for (const n of jumps.sort((a, b) => b - a))
      await run(['iptables', '-w', '-t', 'nat', '-D', chain, String(n)]);
  }
  const chains = [...(await natRules()).matchAll(/^:(CNI-HOSTPORT-\S+)/gm)].map((m) => m[1]!);
  for (const c of chains) await run(['iptables', '-w', '-t', 'nat', '-F', c]);
  for (const c of chains) await run(['iptables', '-w', '-t', 'nat', '-X', c]);
  for (const table of await nftTables())
    if (!before.includes(table)) await run(['nft', 'delete', 'table', ...table.split(' ')]);
};

/**
 * GET / from ADDR:PORT over busybox nc in WHERE's namespace (busybox wget -T crashes here), retried
 * while the server starts; the body, or undefined when no answer came.
 */
const fetchText = async (
  where: string[],
  addr: string,
  port: number,
  tries = 30,
  path = '/',
): Promise<string | undefined> => {
  for (let i = 0; i < tries; i++) {
    const argv = [...where, 'busybox', 'nc', '-w', '3', addr, String(port)];
    const r = await execa(argv[0] as string, argv.slice(1), {
      input: `GET ${path} HTTP/1.0\r\n\r\n`,
      reject: false,
    });
    const text = String(r.stdout);
    if (r.exitCode === 0 && text.startsWith('HTTP/1.'))
      return text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
    await sleep(100);
  }
  return undefined;
};

/** busybox httpd on port 80 in NETNS, serving TEXT; stopped by the returned function. */
const httpd = async (t: { after: (fn: () => unknown) => void }, netns: string, text: string) => {
  const dir = await tmpDir(t, 'www');
  await writeFile(`${dir}/index.html`, text);
  const argv = inNs(netns, 'busybox', 'httpd', '-f', '-p', '80', '-h', dir);
  const p: ResultPromise = execa(argv[0] as string, argv.slice(1), { reject: false });
  const stop = async (): Promise<void> => {
    p.kill('SIGTERM');
    await p;
  };
  t.after(stop);
  return stop;
};

/**
 * A client namespace reached from the host through its own veth: 203.0.113.2/24 inside,
 * 203.0.113.1/24 on the host end (the harness's own link), default route through the host.
 */
const client = async (sb: Sandbox): Promise<{ netns: string; hostAddr: string }> => {
  const netns = await sb.netns('cl');
  const end = sb.name('cv');
  sb.own(end);
  await execa('ip', ['link', 'add', end, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await execa('ip', ['addr', 'add', '203.0.113.1/24', 'dev', end]);
  await execa('ip', ['link', 'set', end, 'up']);
  await execa('ip', ['-n', netns, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0']);
  await execa('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  await execa('ip', ['-n', netns, 'route', 'add', 'default', 'via', '203.0.113.1']);
  return { netns, hostAddr: '203.0.113.1' };
};

/**
 * IPv4 forwarding on in the sandbox for the test (a published port is forwarded), put back after;
 * and the forwarding to and from the containers' subnet accepted. The run's dockerd shares the
 * sandbox and sets FORWARD's policy to DROP, as on any Docker host: there a conflist's `firewall`
 * plugin (or the operator) accepts it. The two rules, added only under such a policy, are the
 * test's and go with it.
 */
const forwarding = async (sb: Sandbox, subnet = '198.51.100.0/24'): Promise<void> => {
  // only where something drops it: the chain read with nft (listing with iptables would make it)
  const forward = (await nftTables()).includes('ip filter')
    ? String((await run(['nft', 'list', 'chain', 'ip', 'filter', 'FORWARD'])).stdout)
    : '';
  const accept = /policy drop/.test(forward)
    ? [
        ['-d', subnet, '-j', 'ACCEPT'],
        ['-s', subnet, '-j', 'ACCEPT'],
      ]
    : [];
  for (const r of accept) await execa('iptables', ['-w', '-I', 'FORWARD', ...r]);
  sb.defer(async () => {
    for (const r of accept) await execa('iptables', ['-w', '-D', 'FORWARD', ...r], { reject: false });
  });
  const file = '/proc/sys/net/ipv4/ip_forward';
  const before = (await readFile(file, 'utf8')).trim();
  const conf = await readdir('/proc/sys/net/ipv4/conf');
  const each = Object.fromEntries(
    await Promise.all(
      conf.map(
        async (d) => [d, (await readFile(`/proc/sys/net/ipv4/conf/${d}/forwarding`, 'utf8')).trim()] as const,
      ),
    ),
  );
  sb.defer(async () => {
    await writeFile(file, before);
    for (const [d, v] of Object.entries(each))
      await writeFile(`/proc/sys/net/ipv4/conf/${d}/forwarding`, v).catch(() => undefined);
  });
  await writeFile(file, '1');
};

/**
 * The host side of a published port: a bridge of the harness's own with the containers' gateway
 * 198.51.100.1/24 on it, a client namespace, forwarding on.
 */
const publishing = async (sb: Sandbox): Promise<{ br: string; cl: { netns: string; hostAddr: string } }> => {
  const br = sb.name('pb');
  sb.own(br);
  await execa('ip', ['link', 'add', br, 'type', 'bridge']);
  await execa('ip', ['addr', 'add', '198.51.100.1/24', 'dev', br]);
  await execa('ip', ['link', 'set', br, 'up']);
  const cl = await client(sb);
  await forwarding(sb);
  return { br, cl };
};

/**
 * The reference bridge plugin, host-local handing out 192.0.2.0/24 from DATADIR, on a bridge of
 * the harness's own: the plugin never removes its bridge (it may have other ports).
 */
const refBridge = (sb: Sandbox, dataDir: string): { bridge: string; plugin: PluginConf } => {
  const bridge = sb.name('rb');
  sb.own(bridge);
  return {
    bridge,
    plugin: { type: 'bridge', bridge, ipam: { type: 'host-local', subnet: '192.0.2.0/24', dataDir } },
  };
};

/** CHECK of each of PLUGINS on its own, given the chain's result: each passes. */
const checkEach = async (
  chain: Chain,
  plugins: readonly PluginConf[],
  a: Attachment,
  result: Record<string, unknown> | undefined,
): Promise<void> => {
  for (const plugin of plugins) {
    const r = await runPlugin(chain, 'CHECK', plugin, a, result);
    assert.equal(r.code, 0, `${plugin.type} CHECK: ${r.stdout}\n${r.stderr}`);
  }
};

test('pipefitter, then portmap, tuning and bandwidth: a published port answers, tuning and the qdisc read back; CHECK (pipefitter, tuning, bandwidth pass; portmap 1.1.1 cannot); DEL in reverse leaves nothing', async (t) => {
  await needTools(
    `${REFERENCE}/portmap`,
    `${REFERENCE}/tuning`,
    `${REFERENCE}/bandwidth`,
    `${REFERENCE}/host-local`,
    'busybox',
    'iptables-save',
    'nft',
    'tc',
  );
  await withSandbox(t, async (sb) => {
    const path = await pluginPath(t);
    const dataDir = await tmpDir(t, 'ipam');
    const tuningDir = await tmpDir(t, 'tuning');
    const { br, cl } = await publishing(sb);
    const c = await sb.netns('c');
    const mac = '02:00:c6:33:64:0a';
    const list: ConfList = {
      cniVersion: '1.0.0',
      name: `pf${sb.id}`,
      plugins: [
        {
          type: 'pipefitter',
          bridge: br,
          ipam: hostLocalIpam(dataDir, [{ dst: '0.0.0.0/0' }]),
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        {
          type: 'tuning',
          sysctl: { 'net.ipv4.conf.eth0.arp_ignore': '1' },
          mtu: 1300,
          mac,
          dataDir: tuningDir,
        },
        { type: 'bandwidth', ingressRate: 8_000_000, ingressBurst: 200_000 },
      ],
    };
    const chain: Chain = { list, path };
    const a: Attachment = {
      containerId: `chain${sb.id}`,
      netns: `/run/netns/${c}`,
      ifname: 'eth0',
      // CNI_ARGS reaches the IPAM plugin pipefitter runs: host-local takes IP= from it
      args: 'IgnoreUnknown=1;K8S_POD_NAME=web;IP=198.51.100.77',
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    };
    const tablesBefore = await nftTables();
    let result: Record<string, unknown> | undefined;
    sb.defer(async () => {
      await chainDel(chain, a, result);
      await dropNewTables(tablesBefore);
    });

    const add = await chainAdd(chain, a);
    ok(add, 'ADD of the chain');
    result = add.result;
    const res = result as unknown as Result;
    // the chain's result: pipefitter's interfaces and address, tuning's MAC
    assert.equal(res.cniVersion, '1.0.0');
    assert.deepEqual(
      res.interfaces.map((i) => [i.name === 'eth0' ? 'eth0' : i.name === br ? 'bridge' : 'host', i.sandbox]),
      [
        ['bridge', undefined],
        ['host', undefined],
        ['eth0', a.netns],
      ],
    );
    assert.equal(res.interfaces[2]!.mac, mac, 'tuning wrote its MAC into the result');
    assert.deepEqual(res.ips, [{ address: '198.51.100.77/24', gateway: '198.51.100.1', interface: 2 }]);
    const hostEnd = res.interfaces[1]!.name;

    // tuning: MAC, MTU and the sysctl, read in the container
    const eth0 = link(await readState({ netns: c }), 'eth0');
    assert.equal(eth0?.mac, mac);
    assert.equal(eth0?.mtu, 1300);
    assert.equal(
      String((await run(inNs(c, 'cat', '/proc/sys/net/ipv4/conf/eth0/arp_ignore'))).stdout).trim(),
      '1',
    );
    // bandwidth: a token bucket on the host end of pipefitter's veth
    const qdiscs = JSON.parse(String((await run(['tc', '-j', 'qdisc', 'show', 'dev', hostEnd])).stdout)) as {
      kind: string;
    }[];
    assert.deepEqual(
      qdiscs.map((q) => q.kind),
      ['tbf'],
    );
    // portmap: the DNAT rule, and the port answering from the client and from the host itself
    const nat = await natRules();
    assert.match(nat, /--dport 8080 -j DNAT --to-destination 198\.51\.100\.77:80/, nat);
    await httpd(t, c, 'published\n');
    assert.equal(await fetchText(inNs(cl.netns), cl.hostAddr, 8080), 'published', 'from the client');
    assert.equal(await fetchText([], cl.hostAddr, 8080), 'published', 'from the host');

    // CHECK of the whole chain, each plugin given the chain's result. portmap 1.1.1 looks for an
    // IPv4 container's DNAT chain in ip6tables too, and fails whenever ip6tables works (fixed
    // upstream after 1.1.1: "Only check ipv6 when an IPv6 is configured"); the runtime's CHECK
    // stops there, so each plugin after it is CHECKed as well, on its own
    const check = await chainCheck(chain, a, result!);
    assert.deepEqual(
      check.runs.map((r) => [r.type, r.code]),
      [
        ['pipefitter', 0],
        ['portmap', 1],
      ],
      describeRuns(check),
    );
    assert.match(String(check.runs[1]!.out?.msg), /^could not check ipv6 dnat: chain CNI-DN-\w+ not found/);
    await checkEach(chain, list.plugins.slice(2), a, result);

    // DEL in reverse: nothing of the attachment is left
    const del = await chainDel(chain, a, result);
    ok(del, 'DEL of the chain');
    assert.deepEqual(
      del.runs.map((r) => r.type),
      ['bandwidth', 'tuning', 'portmap', 'pipefitter'],
    );
    const after = await natRules();
    assert.doesNotMatch(after, /198\.51\.100\.77|CNI-DN-/, after);
    assert.equal(link(await readState({ netns: c }), 'eth0'), undefined);
    assert.equal(link(await readState('sandbox'), hostEnd), undefined);
    assert.deepEqual(await hostLocalLeases(dataDir, list.name), []);
    assert.deepEqual(await readdir(tuningDir), []);
    assert.equal(await fetchText(inNs(cl.netns), cl.hostAddr, 8080, 1), undefined, 'the port is closed');
    // a second DEL (the runtime retries) succeeds
    ok(await chainDel(chain, a, result), 'DEL again');
    result = undefined;
  });
});

test('the reference bridge, then pipefitter as a second interface: the results appended with their indexes; CHECK; DEL in reverse leaves nothing', async (t) => {
  await needTools(`${REFERENCE}/bridge`, `${REFERENCE}/host-local`, 'busybox');
  await withSandbox(t, async (sb) => {
    const path = await pluginPath(t);
    const [dataA, dataB] = [await tmpDir(t, 'ipam-a'), await tmpDir(t, 'ipam-b')];
    const c = await sb.netns('c');
    const peer = await sb.netns('p');
    const ref = refBridge(sb, dataA);
    const refBr = ref.bridge;
    const pfBr = sb.name('fb');
    const list: ConfList = {
      cniVersion: '1.0.0',
      name: `pf${sb.id}`,
      plugins: [
        ref.plugin,
        {
          type: 'pipefitter',
          ifname: 'eth1',
          capabilities: { ips: true },
          bridge: pfBr,
          ipam: {
            type: 'host-local',
            subnet: '198.51.100.0/24',
            routes: [{ dst: '203.0.113.0/24', gw: '198.51.100.1' }],
            dataDir: dataB,
          },
        },
      ],
    };
    const chain: Chain = { list, path };
    // runtimeConfig reaches the IPAM plugin pipefitter runs: host-local takes its "ips"
    const a: Attachment = {
      containerId: `ref${sb.id}`,
      netns: `/run/netns/${c}`,
      ifname: 'eth0',
      capabilityArgs: { ips: ['198.51.100.66/24'] },
    };
    // a second container on pipefitter's bridge, to reach eth1 from
    const b: Attachment = { containerId: `peer${sb.id}`, netns: `/run/netns/${peer}`, ifname: 'eth0' };
    const peerChain: Chain = {
      list: { ...list, plugins: [{ ...list.plugins[1]!, ifname: undefined }] },
      path,
    };
    let result: Record<string, unknown> | undefined;
    sb.defer(async () => {
      await chainDel(peerChain, b, undefined);
      await chainDel(chain, a, result);
    });

    const add = await chainAdd(chain, a);
    ok(add, 'ADD of the chain');
    result = add.result;
    const first = add.runs[0]!.out as unknown as Result;
    const res = result as unknown as Result;
    assert.equal(res.cniVersion, '1.0.0');
    // the bridge's result passed through whole, pipefitter's appended after it
    assert.deepEqual(res.interfaces.slice(0, 3), first.interfaces);
    assert.deepEqual(res.ips.slice(0, 1), first.ips);
    assert.deepEqual(
      res.interfaces.map((i) => [
        i.name === refBr ? 'ref bridge' : i.name === pfBr ? 'pf bridge' : i.sandbox ? i.name : 'host end',
        i.sandbox,
      ]),
      [
        ['ref bridge', undefined],
        ['host end', undefined],
        ['eth0', a.netns],
        ['pf bridge', undefined],
        ['host end', undefined],
        ['eth1', a.netns],
      ],
    );
    assert.deepEqual(res.ips, [
      { address: '192.0.2.2/24', gateway: '192.0.2.1', interface: 2 },
      { address: '198.51.100.66/24', gateway: '198.51.100.1', interface: 5 },
    ]);
    assert.deepEqual(res.routes, [{ dst: '203.0.113.0/24', gw: '198.51.100.1' }]);
    // the attachment is known by CNI_IFNAME; the record says which interface it made
    const recordFile = join(stateDir(), 'cni', list.name, a.containerId, 'eth0.json');
    const record = JSON.parse(await readFile(recordFile, 'utf8')) as { ifname: string; device?: string };
    assert.deepEqual([record.ifname, record.device], ['eth0', 'eth1']);
    // the kernel agrees: each address on the interface its index names, each MAC as listed
    const inC = await readState({ netns: c });
    const host = await readState('sandbox');
    for (const [i, iface] of res.interfaces.entries()) {
      const l = link(iface.sandbox ? inC : host, iface.name);
      assert.ok(l, `${iface.name} exists`);
      if (iface.mac !== undefined && iface.name !== refBr && iface.name !== pfBr)
        assert.equal(l.mac, iface.mac, iface.name);
      for (const ip of res.ips.filter((x) => x.interface === i))
        assert.ok(l.addrs.includes(ip.address), `${ip.address} on ${iface.name}`);
    }
    assert.equal(link(host, res.interfaces[4]!.name)?.master, pfBr);
    assert.equal(link(host, res.interfaces[1]!.name)?.master, refBr);
    // eth1 carries traffic: a peer on pipefitter's bridge reaches it
    ok(await chainAdd(peerChain, b), 'ADD of the peer');
    assert.ok(
      (await run(inNs(peer, 'ping', '-c', '1', '-W', '2', '198.51.100.66'))).exitCode === 0,
      'the peer reaches eth1',
    );

    // CHECK: pipefitter's passes with the chain's result. The reference bridge's (1.1.1, and
    // upstream still) wants every address of the result on its own CNI_IFNAME, whatever the
    // address's interface index says, so a chain with a second interface never passes its CHECK
    const check = await chainCheck(chain, a, result!);
    assert.deepEqual(
      check.runs.map((r) => [r.type, r.code]),
      [['bridge', 1]],
      describeRuns(check),
    );
    assert.match(
      String(check.runs[0]!.out?.msg),
      /^Failed to match addr 198\.51\.100\.66\/24 on interface eth0/,
    );
    const pfCheck = await runPlugin(chain, 'CHECK', list.plugins[1]!, a, result);
    assert.equal(pfCheck.code, 0, `${pfCheck.stdout}\n${pfCheck.stderr}`);
    // and it names what drifted on its own interface
    await execa('ip', ['-n', c, 'addr', 'del', '198.51.100.66/24', 'dev', 'eth1']);
    const drift = await runPlugin(chain, 'CHECK', list.plugins[1]!, a, result);
    assert.equal(drift.out?.code, 104, drift.stdout);
    assert.match(String(drift.out?.msg), /^address 198\.51\.100\.66\/24 on "eth1" in /);

    // DEL in reverse: pipefitter's, then the bridge's; nothing of either is left
    ok(await chainDel(peerChain, b, undefined), 'DEL of the peer');
    const del = await chainDel(chain, a, result);
    ok(del, 'DEL of the chain');
    assert.deepEqual(
      del.runs.map((r) => r.type),
      ['pipefitter', 'bridge'],
    );
    const after = await readState({ netns: c });
    assert.deepEqual(
      after.links.map((l) => l.name),
      ['lo'],
    );
    const hostAfter = await readState('sandbox');
    for (const name of [res.interfaces[1]!.name, res.interfaces[4]!.name, pfBr])
      assert.equal(link(hostAfter, name), undefined, `${name} is gone`);
    assert.deepEqual(await hostLocalLeases(dataA, list.name), []);
    assert.deepEqual(await hostLocalLeases(dataB, list.name), []);
    assert.equal(await readFile(recordFile, 'utf8').catch(() => undefined), undefined, 'the record is gone');
    ok(await chainDel(chain, a, result), 'DEL again');
    result = undefined;
  });
});

test('Podman (CNI backend) runs pipefitter then portmap: a port published with -p answers; rm -f takes the rule away', async (t) => {
  await needTools(`${REFERENCE}/portmap`, `${REFERENCE}/host-local`, 'busybox', 'iptables-save', 'nft');
  await withSandbox(t, async (sb) => {
    const p = await startPodman(sb);
    const dataDir = join(p.dir, 'cni/leases');
    const { br, cl } = await publishing(sb);
    const net = `pf${sb.id}`;
    await p.cniNetwork(
      {
        cniVersion: '1.0.0',
        name: net,
        plugins: [
          { type: 'pipefitter', bridge: br, ipam: hostLocalIpam(dataDir, [{ dst: '0.0.0.0/0' }]) },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      ['host-local', 'loopback', 'portmap'],
    );
    const name = sb.name('web');
    const tablesBefore = await nftTables();
    sb.defer(async () => {
      await p.remove(name);
      await dropNewTables(tablesBefore);
    });
    const c = await p.run(name, {
      network: net,
      publish: ['8080:80'],
      // busybox httpd serving the rootfs's /etc: GET /passwd is its one line
      command: ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'],
    });
    const eth0 = link(await readState({ pid: c.pid }), 'eth0');
    assert.ok(eth0?.addrs.includes('198.51.100.2/24'), JSON.stringify(eth0));
    const nat = await natRules();
    assert.match(nat, /--dport 8080 -j DNAT --to-destination 198\.51\.100\.2:80/, nat);
    const passwd = 'root:x:0:0:root:/root:/bin/sh';
    assert.equal(
      await fetchText(inNs(cl.netns), cl.hostAddr, 8080, 30, '/passwd'),
      passwd,
      'from the client',
    );
    assert.equal(await fetchText([], cl.hostAddr, 8080, 30, '/passwd'), passwd, 'from the host');

    // `podman rm -f` runs DEL of the list in reverse: portmap's rule goes, then pipefitter's attachment
    const hostEnds = (await readState('sandbox')).links.filter((l) => l.master === br).map((l) => l.name);
    assert.equal(hostEnds.length, 1);
    await p.remove(name);
    const after = await natRules();
    assert.doesNotMatch(after, /198\.51\.100\.2|CNI-DN-/, after);
    assert.equal(link(await readState('sandbox'), hostEnds[0]!), undefined, 'the host end is gone');
    assert.deepEqual(await hostLocalLeases(dataDir, net), []);
    assert.equal(
      await fetchText(inNs(cl.netns), cl.hostAddr, 8080, 1, '/passwd'),
      undefined,
      'the port is closed',
    );
  });
});

test('cniVersion 0.4.0: the reference bridge then pipefitter as eth1, then tuning — each result 0.4.0 (ips with "version"), indexes kept; DEL in reverse leaves nothing; without "ifname" pipefitter refuses (100) and names the key', async (t) => {
  await needTools(`${REFERENCE}/bridge`, `${REFERENCE}/tuning`, `${REFERENCE}/host-local`);
  await withSandbox(t, async (sb) => {
    const path = await pluginPath(t);
    const [dataA, dataB] = [await tmpDir(t, 'ipam-a'), await tmpDir(t, 'ipam-b')];
    const c = await sb.netns('c');
    const list: ConfList = {
      cniVersion: '0.4.0',
      name: `pf${sb.id}`,
      plugins: [
        refBridge(sb, dataA).plugin,
        {
          type: 'pipefitter',
          ifname: 'eth1',
          bridge: sb.name('fb'),
          ipam: { type: 'host-local', subnet: '198.51.100.0/24', gateway: '198.51.100.1', dataDir: dataB },
        },
        { type: 'tuning', sysctl: { 'net.ipv4.conf.eth1.arp_ignore': '2' } },
      ],
    };
    const chain: Chain = { list, path };
    const a: Attachment = { containerId: `old${sb.id}`, netns: `/run/netns/${c}`, ifname: 'eth0' };
    let result: Record<string, unknown> | undefined;
    sb.defer(() => chainDel(chain, a, result));
    const add = await chainAdd(chain, a);
    ok(add, 'ADD of the chain');
    result = add.result;
    for (const r of add.runs) assert.equal(r.out?.cniVersion, '0.4.0', `${r.type}: ${r.stdout}`);
    const pf = add.runs[1]!.out as unknown as Result;
    assert.deepEqual(
      pf.ips.map((i) => [i.version, i.address, i.interface, pf.interfaces[i.interface!]?.name]),
      [
        ['4', '192.0.2.2/24', 2, 'eth0'],
        ['4', '198.51.100.2/24', 5, 'eth1'],
      ],
    );
    const last = result as unknown as Result;
    assert.deepEqual(
      [last.interfaces, last.ips],
      [pf.interfaces, pf.ips],
      "tuning passes pipefitter's result on",
    );
    assert.equal(
      String((await run(inNs(c, 'cat', '/proc/sys/net/ipv4/conf/eth1/arp_ignore'))).stdout).trim(),
      '2',
    );
    await checkEach(chain, list.plugins.slice(1), a, result);
    const del = await chainDel(chain, a, result);
    ok(del, 'DEL of the chain');
    assert.deepEqual(
      (await readState({ netns: c })).links.map((l) => l.name),
      ['lo'],
    );
    assert.deepEqual(await hostLocalLeases(dataA, list.name), []);
    assert.deepEqual(await hostLocalLeases(dataB, list.name), []);
    result = undefined;

    // without "ifname", pipefitter is asked for the bridge's own eth0: error 100, saying how, no
    // lease taken; the runtime then DELs the list, and nothing is left
    const same: Chain = {
      list: { ...list, plugins: [list.plugins[0]!, { ...list.plugins[1]!, ifname: undefined }] },
      path,
    };
    const refused = await chainAdd(same, a);
    assert.deepEqual(
      refused.runs.map((r) => [r.type, r.code, r.out?.code]),
      [
        ['bridge', 0, undefined],
        ['pipefitter', 1, 100],
      ],
      describeRuns(refused),
    );
    assert.match(
      String(refused.runs[1]!.out?.msg),
      /^CNI_IFNAME "eth0": an interface of that name already exists/,
    );
    assert.match(String(refused.runs[1]!.out?.details), /"ifname": "eth1"/);
    assert.deepEqual(await hostLocalLeases(dataB, list.name), []);
    ok(await chainDel(same, a, refused.runs[0]!.out), 'DEL after the failed ADD');
    assert.deepEqual(
      (await readState({ netns: c })).links.map((l) => l.name),
      ['lo'],
    );
    assert.deepEqual(await hostLocalLeases(dataA, list.name), []);
  });
});
