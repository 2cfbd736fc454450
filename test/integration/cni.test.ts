/**
 * pipefitter as a CNI plugin, invoked directly as a runtime would (SPEC.md section 2): the
 * built entry (dist/cli-bundle/cni.js, what `pipefitter cni install` launches) with CNI_* in
 * the environment and the configuration on stdin; results and errors read from stdout, the
 * kernel read back with `ip -j`. IPAM is Debian's host-local (containernetworking-plugins
 * 1.1.1, which speaks up to 1.0.0: a 1.1.0 configuration is delegated as 1.0.0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { hostLocalIpam, hostLocalLeases, REFERENCE } from '../helpers/cni.js';
import {
  addAll,
  delAfter,
  ENTRY,
  expectError,
  expectOk,
  harnessEnv,
  kindNet,
  runCni,
} from '../helpers/cni-invoke.js';
import type { KindNet } from '../helpers/cni-invoke.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';
import { dhcpLan } from '../helpers/dnsmasq.js';
import { kernelFeatures } from '../helpers/kernel.js';
import { shellQuote } from '../../src/render/quote.js';

const CNI_PATH = REFERENCE;

test('VERSION: the versions pipefitter speaks, echoing the input version', async () => {
  for (const v of ['0.4.0', '1.0.0', '1.1.0']) {
    const r = await runCni({ CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: v }));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out, { cniVersion: v, supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  }
  const empty = await runCni({ CNI_COMMAND: 'VERSION' }, '');
  assert.equal(empty.out?.cniVersion, '1.1.0');
});

test('errors: environment (4), decoding (6), version (1), configuration (7), each naming what', async () => {
  const conf = { cniVersion: '1.0.0', name: 'lab', type: 'pipefitter', bridge: 'br-lab' };
  const env = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/run/netns/pf-nope',
    CNI_IFNAME: 'eth0',
  };
  const text = JSON.stringify(conf);
  const cases: [Record<string, string | undefined>, string, number, RegExp][] = [
    [{}, text, 4, /^CNI_COMMAND: not set/],
    [{ ...env, CNI_COMMAND: 'BOGUS' }, text, 4, /^CNI_COMMAND "BOGUS"/],
    [{ ...env, CNI_CONTAINERID: undefined }, text, 4, /^CNI_CONTAINERID: not set/],
    [{ ...env, CNI_NETNS: undefined }, text, 4, /^CNI_NETNS: not set/],
    [{ ...env, CNI_IFNAME: undefined }, text, 4, /^CNI_IFNAME: not set/],
    [{ ...env, CNI_IFNAME: 'x'.repeat(16) }, text, 4, /^CNI_IFNAME "x{16}"/],
    [{ ...env, CNI_NETNS: 'relative' }, text, 4, /^CNI_NETNS "relative"/],
    [{ ...env, CNI_ARGS: 'novalue' }, text, 4, /^CNI_ARGS/],
    [{ ...env, CNI_COMMAND: 'GC' }, text, 4, /^CNI_PATH: not set/],
    [{ CNI_COMMAND: 'VERSION' }, '{', 6, /^network configuration on stdin: not JSON/],
    [env, '[1]', 6, /not a JSON object/],
    [env, JSON.stringify({ ...conf, cniVersion: '0.3.1' }), 1, /^cniVersion "0\.3\.1": not supported/],
    [env, JSON.stringify({ ...conf, cniVersion: undefined }), 7, /^cniVersion: missing/],
    [env, JSON.stringify({ ...conf, name: '' }), 7, /^name "": not a network name/],
    [env, JSON.stringify({ ...conf, bridge: undefined }), 7, /say how to attach/],
    [env, JSON.stringify({ ...conf, macvlan: 'eth0' }), 7, /^bridge, macvlan: only one way/],
    [env, JSON.stringify({ ...conf, mtu: 'big' }), 7, /^mtu "big"/],
    [env, JSON.stringify({ ...conf, mtu: 20 }), 7, /^mtu "20"/],
    [env, JSON.stringify({ ...conf, mode: 'vepa' }), 7, /^mode "vepa": only applies to macvlan and ipvlan/],
    [env, JSON.stringify({ ...conf, bridge: 'br-much-too-long' }), 7, /^bridge "br-much-too-long"/],
    [env, JSON.stringify({ ...conf, ipam: { type: '../x' } }), 7, /^ipam\.type/],
    [env, JSON.stringify({ ...conf, ipam: { type: 'pipefitter' } }), 7, /^ipam\.subnet: missing/],
  ];
  for (const [e, stdin, code, msg] of cases) {
    expectError(await runCni(e, stdin), code, msg, `${JSON.stringify(e)} ${stdin}`);
  }
  // the error object speaks the configuration's version
  const v04 = await runCni(env, JSON.stringify({ ...conf, cniVersion: '0.4.0', mtu: 'big' }));
  assert.equal(v04.out?.cniVersion, '0.4.0');
  // a namespace that does not exist: container unknown (3)
  const gone = await runCni({ ...env, CNI_PATH, ...harnessEnv() }, text);
  expectError(gone, 3, /pf-nope/, 'missing namespace');
});

test('`pipefitter cni install` writes a launcher that runs the plugin with this node', async (t) => {
  const dir = await mkdtemp(`/tmp/pf-${runId}-cni-bin-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await cli(['cni', 'install', '--bin-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  const file = `${dir}/pipefitter`;
  assert.equal((await stat(file)).mode & 0o777, 0o755);
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  assert.equal(lines.at(-1), `exec ${shellQuote(process.execPath)} ${shellQuote(ENTRY)} "$@"`);
  // the test's state directory is kept as the plugin's default (a runtime may run DEL without it)
  assert.ok(
    lines.includes(
      `[ -n "\${PIPEFITTER_STATE_DIR:-}" ] || PIPEFITTER_STATE_DIR=${shellQuote(process.env.PIPEFITTER_STATE_DIR ?? '')}; export PIPEFITTER_STATE_DIR`,
    ),
    lines.join('\n'),
  );
  const v = await execa(file, [], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' } });
  assert.deepEqual(JSON.parse(v.stdout), {
    cniVersion: '1.0.0',
    supportedVersions: ['0.4.0', '1.0.0', '1.1.0'],
  });
  const bad = await cli(['cni', 'install', '--bin-dir', 'relative']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--bin-dir "relative": not an absolute path/);
});

const leases = hostLocalLeases;

interface Net extends Omit<KindNet, 'conf'> {
  readonly bridge: string;
  /** The configuration in `version`: a bridge of the test's, host-local handing out 198.51.100.0/24. */
  readonly conf: (version: string, extra?: Record<string, unknown>) => string;
}

const network = async (t: { after: (fn: () => unknown) => void }, sb: Sandbox): Promise<Net> => {
  await needTools('busybox');
  const n = await kindNet(t, sb);
  const bridge = sb.name('cb');
  return {
    ...n,
    bridge,
    conf: (version, extra = {}) => n.conf({ bridge }, { cniVersion: version, ...extra }),
  };
};

test('ADD and DEL on a bridge with host-local: read back, ping, nothing left', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const [a, b] = [await sb.netns('a'), await sb.netns('b')];
    delAfter(t, n, n.conf('1.0.0'), [
      [a, 'ca'],
      [b, 'cb'],
    ]);

    // 1.1.0 (host-local is asked in 1.0.0), then 0.4.0
    const ra = await runCni(n.env('ADD', a, 'ca'), n.conf('1.1.0', { mtu: 1400 }));
    assert.equal(ra.code, 0, `${ra.stdout}\n${ra.stderr}`);
    const res = ra.out as {
      cniVersion: string;
      interfaces: { name: string; mac?: string; mtu?: number; sandbox?: string }[];
      ips: { address: string; gateway?: string; interface?: number; version?: string }[];
      routes: { dst: string; gw?: string }[];
    };
    assert.equal(res.cniVersion, '1.1.0');
    assert.deepEqual(
      res.interfaces.map((i) => [
        i.name === n.bridge ? 'bridge' : i.name === 'eth0' ? 'eth0' : 'host',
        i.sandbox,
      ]),
      [
        ['bridge', undefined],
        ['host', undefined],
        ['eth0', `/run/netns/${a}`],
      ],
    );
    assert.deepEqual(res.ips, [{ address: '198.51.100.2/24', gateway: '198.51.100.1', interface: 2 }]);
    assert.deepEqual(res.routes, [{ dst: '203.0.113.0/24' }]);

    // (the bridge's MAC is its lowest port's: read before b's port joins)
    assert.equal(link(await readState('sandbox'), n.bridge)?.mac, res.interfaces[0]!.mac);
    const rb = await runCni(n.env('ADD', b, 'cb'), n.conf('0.4.0'));
    assert.equal(rb.code, 0, `${rb.stdout}\n${rb.stderr}`);
    const resB = rb.out as { cniVersion: string; ips: { version?: string; address: string }[] };
    assert.equal(resB.cniVersion, '0.4.0');
    assert.deepEqual(
      resB.ips.map((i) => [i.version, i.address]),
      [['4', '198.51.100.3/24']],
    );

    // the kernel agrees with the result
    const host = await readState('sandbox');
    const hostEnd = res.interfaces[1]!;
    const br = link(host, n.bridge);
    assert.equal(br?.kind, 'bridge');
    assert.equal(link(host, hostEnd.name)?.master, n.bridge);
    assert.equal(link(host, hostEnd.name)?.mac, hostEnd.mac);
    const inA = await readState({ netns: a });
    const eth0 = link(inA, 'eth0');
    assert.deepEqual(
      eth0?.addrs.filter((x) => !x.startsWith('fe80')),
      ['198.51.100.2/24'],
    );
    assert.equal(eth0?.mtu, 1400);
    assert.equal(eth0?.mac, res.interfaces[2]!.mac);
    assert.ok(
      routes(inA).some((r) => r.dst === '203.0.113.0/24' && r.gateway === '198.51.100.1' && r.dev === 'eth0'),
      JSON.stringify(inA.routes),
    );
    assert.deepEqual(await leases(n.dataDir, n.name), ['198.51.100.2', '198.51.100.3']);
    assert.ok(await ping({ netns: a }, '198.51.100.3'), 'a reaches b across the bridge');

    // ADD of an interface that exists is an error, and takes no address
    const again = await runCni(n.env('ADD', a, 'ca'), n.conf('1.0.0'));
    expectError(again, 100, /^CNI_IFNAME "eth0": an interface of that name already exists/, 'ADD twice');
    assert.deepEqual(await leases(n.dataDir, n.name), ['198.51.100.2', '198.51.100.3']);

    // DEL, twice; the bridge stays while b uses it
    for (let i = 0; i < 2; i++) {
      const d = await runCni(n.env('DEL', a, 'ca'), n.conf('1.0.0'));
      assert.equal(d.code, 0, `DEL #${i + 1}: ${d.stdout}\n${d.stderr}`);
      assert.equal(d.stdout, '');
    }
    assert.equal(link(await readState({ netns: a }), 'eth0'), undefined);
    assert.equal(link(await readState('sandbox'), hostEnd.name), undefined);
    assert.ok(link(await readState('sandbox'), n.bridge), 'the bridge stays while b is on it');
    assert.deepEqual(await leases(n.dataDir, n.name), ['198.51.100.3']);

    // the last DEL takes the bridge pipefitter made
    const d = await runCni(n.env('DEL', b, 'cb'), n.conf('0.4.0'));
    assert.equal(d.code, 0, d.stderr);
    assert.equal(link(await readState('sandbox'), n.bridge), undefined);
    assert.deepEqual(await leases(n.dataDir, n.name), []);

    // DEL of an attachment never added succeeds
    const never = await runCni(n.env('DEL', a, 'never'), n.conf('1.1.0'));
    assert.equal(never.code, 0, never.stderr);
  });
});

test('DEL after the namespace is gone: the bridge pipefitter made and the lease go', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const c = await sb.netns('c');
    const r = await runCni(n.env('ADD', c, 'cc'), n.conf('1.0.0'));
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(await leases(n.dataDir, n.name), ['198.51.100.2']);
    await execa('ip', ['netns', 'del', c]);
    for (const netns of [c, undefined]) {
      const d = await runCni(n.env('DEL', netns, 'cc'), n.conf('1.0.0'));
      assert.equal(d.code, 0, `${d.stdout}\n${d.stderr}`);
    }
    assert.equal(link(await readState('sandbox'), n.bridge), undefined);
    assert.deepEqual(await leases(n.dataDir, n.name), []);
  });
});

test('a failed ADD leaves nothing: no lease, no links (refused early, or a step failing)', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const d = await sb.netns('d');
    const before = await readState('sandbox');
    // refused before IPAM is asked
    const long = await runCni(n.env('ADD', d, 'cd'), n.conf('1.0.0', { bridge: 'br-much-too-long' }));
    expectError(long, 7, /^bridge "br-much-too-long"/, 'bridge name too long');
    assert.deepEqual(await leases(n.dataDir, n.name), []);
    // a step fails after IPAM gave an address: rolled back, address released
    for (const k of [0, 2]) {
      const f = await runCni(n.env('ADD', d, 'cd'), n.conf('1.0.0'), { PIPEFITTER_TEST_FAULT: `fail:${k}` });
      expectError(f, 101, /./, `fault at step ${k}`, false);
      assert.deepEqual(await leases(n.dataDir, n.name), [], `fault at step ${k}: no lease`);
      assert.deepEqual(await readState('sandbox'), before, `fault at step ${k}: host as before`);
      assert.equal(link(await readState({ netns: d }), 'eth0'), undefined);
    }
  });
});

test('the IPAM plugin failing while the attach waits for its addresses (under the host lock): the error is its, nothing is made', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const [a, b] = [await sb.netns('ia'), await sb.netns('ib')];
    // a range of one address: the second ADD finds it taken
    const one = {
      ipam: { ...hostLocalIpam(n.dataDir), rangeStart: '198.51.100.7', rangeEnd: '198.51.100.7' },
    };
    delAfter(t, n, n.conf('1.0.0', one), [[a, 'ia']]);
    expectOk(await runCni(n.env('ADD', a, 'ia'), n.conf('1.0.0', one)), 'ADD of the one address');
    const before = await readState('sandbox');
    const f = await runCni(n.env('ADD', b, 'ib'), n.conf('1.0.0', one));
    expectError(f, 999, /ipam "host-local"[^]*198\.51\.100\.7/, 'the range used up', false);
    assert.deepEqual(
      await readState('sandbox'),
      before,
      'the host as before: no host end, the bridge as it was',
    );
    assert.equal(link(await readState({ netns: b }), 'eth0'), undefined);
    assert.deepEqual(await leases(n.dataDir, n.name), ['198.51.100.7'], 'only the first lease');
  });
});

test('IPAM dhcp (the reference plugin and its daemon): the interface is made first, leased from a DHCP server, addressed; DEL releases the lease', async (t) => {
  await withSandbox(t, async (sb) => {
    await needTools(`${REFERENCE}/dhcp`);
    const n = await kindNet(t, sb);
    const { br, server } = await dhcpLan(sb);
    // the reference daemon in the sandbox, its socket in a directory of the test's
    const dir = await mkdtemp(`/tmp/pf-${runId}-cni-dhcpd-`);
    const sock = `${dir}/dhcp.sock`;
    const daemon = execa(`${REFERENCE}/dhcp`, ['daemon', '-socketpath', sock, '-timeout', '5s'], {
      reject: false,
      buffer: false,
      stdio: 'ignore',
    });
    sb.defer(async () => {
      daemon.kill('SIGKILL');
      await daemon;
      await rm(dir, { recursive: true, force: true });
    });
    for (let i = 0; i < 100 && !(await stat(sock).catch(() => undefined))?.isSocket(); i++)
      await new Promise((r) => setTimeout(r, 50));
    const conf = n.conf(
      { bridge: br },
      { cniVersion: '1.0.0', ipam: { type: 'dhcp', daemonSocketPath: sock } },
    );
    const c = await sb.netns('dh');
    delAfter(t, n, conf, [[c, 'dh']]);
    const add = await runCni(n.env('ADD', c, 'dh'), conf);
    expectOk(add, 'ADD with dhcp');
    const res = add.out as unknown as {
      ips: { address: string; gateway?: string }[];
      interfaces: { mac?: string }[];
    };
    const leased = res.ips[0]?.address ?? '';
    assert.match(leased, /^192\.0\.2\.1\d\d\/24$/, JSON.stringify(res));
    assert.equal(res.ips[0]?.gateway, '192.0.2.1');
    const eth0 = link(await readState({ netns: c }), 'eth0');
    assert.ok(eth0?.addrs.includes(leased), `the leased address on the interface: ${eth0?.addrs.join(' ')}`);
    assert.ok((await server.leases()).includes(leased.split('/')[0]!), 'the server holds the lease');
    expectOk(await runCni(n.env('DEL', c, 'dh'), conf), 'DEL');
    assert.equal(link(await readState({ netns: c }), 'eth0'), undefined);
    // the daemon released it (DHCPRELEASE): dnsmasq drops it from its lease file
    let held = true;
    for (let i = 0; i < 60 && held; i++) {
      held = (await server.leases()).includes(leased.split('/')[0]!);
      if (held) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(held, false, 'the lease released');
  });
});

test('CHECK: as ADD left it passes; a missing address or a moved host end is named', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const e = await sb.netns('e');
    delAfter(t, n, n.conf('1.0.0'), [[e, 'ce']]);
    const add = await runCni(n.env('ADD', e, 'ce'), n.conf('1.0.0'));
    assert.equal(add.code, 0, `${add.stdout}\n${add.stderr}`);
    const prevResult = add.out as { interfaces: { name: string }[] };
    const hostEnd = prevResult.interfaces[1]!.name;
    const check = () => runCni(n.env('CHECK', e, 'ce'), n.conf('1.0.0', { prevResult }));

    const good = await check();
    assert.equal(good.code, 0, `${good.stdout}\n${good.stderr}`);
    assert.equal(good.stdout, '');
    expectError(
      await runCni(n.env('CHECK', e, 'ce'), n.conf('1.0.0')),
      7,
      /^prevResult: missing/,
      'no prevResult',
    );

    await execa('ip', ['-n', e, 'addr', 'del', '198.51.100.2/24', 'dev', 'eth0']);
    expectError(
      await check(),
      104,
      /^address 198\.51\.100\.2\/24 on "eth0" in \/run\/netns\/.*: missing/,
      'address gone',
    );
    await execa('ip', ['-n', e, 'addr', 'add', '198.51.100.2/24', 'dev', 'eth0']);
    await execa('ip', ['-n', e, 'route', 'replace', '203.0.113.0/24', 'via', '198.51.100.1', 'dev', 'eth0']);
    assert.equal((await check()).code, 0);

    await execa('ip', ['link', 'set', hostEnd, 'nomaster']);
    expectError(
      await check(),
      104,
      new RegExp(`^host end "${hostEnd}" of "eth0": not a port of bridge`),
      'host end moved',
    );
    await execa('ip', ['link', 'set', hostEnd, 'master', n.bridge]);
  });
});

test('GC: attachments not in cni.dev/valid-attachments go (also with their namespace gone), the rest stay', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const [g1, g2, g3] = [await sb.netns('g1'), await sb.netns('g2'), await sb.netns('g3')];
    await addAll(t, n, n.conf('1.1.0'), [
      [g1, 'k1'],
      [g2, 'k2'],
      [g3, 'k3'],
    ]);
    assert.deepEqual(await leases(n.dataDir, n.name), ['198.51.100.2', '198.51.100.3', '198.51.100.4']);
    await execa('ip', ['netns', 'del', g3]);
    const gcEnv = { ...n.env('GC', undefined, 'x'), CNI_CONTAINERID: undefined, CNI_IFNAME: undefined };
    const gc = (valid: { containerID: string; ifname: string }[] | undefined) =>
      runCni(gcEnv, n.conf('1.1.0', valid === undefined ? {} : { 'cni.dev/valid-attachments': valid }));

    expectError(await gc(undefined), 7, /^cni\.dev\/valid-attachments: missing/, 'GC without the list');
    const first = await gc([{ containerID: 'k1', ifname: 'eth0' }]);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    assert.equal(first.stdout, '');
    assert.deepEqual(await leases(n.dataDir, n.name), ['198.51.100.2']);
    assert.ok(link(await readState({ netns: g1 }), 'eth0'), 'the valid attachment stays');
    assert.equal(link(await readState({ netns: g2 }), 'eth0'), undefined);
    assert.ok(link(await readState('sandbox'), n.bridge), 'the bridge stays while k1 is on it');

    const all = await gc([]);
    assert.equal(all.code, 0, `${all.stdout}\n${all.stderr}`);
    assert.deepEqual(await leases(n.dataDir, n.name), []);
    assert.equal(link(await readState({ netns: g1 }), 'eth0'), undefined);
    assert.equal(link(await readState('sandbox'), n.bridge), undefined);
  });
});

test('STATUS: ready for a bridge with host-local; 50 naming a missing IPAM plugin, data directory or kernel feature', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const env = { CNI_COMMAND: 'STATUS', CNI_PATH, ...harnessEnv() };
    const ok = await runCni(env, n.conf('1.1.0'));
    assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
    assert.equal(ok.stdout, '');
    const conf = JSON.parse(n.conf('1.1.0')) as Record<string, unknown> & { ipam: Record<string, unknown> };
    const noPlugin = await runCni(
      env,
      JSON.stringify({ ...conf, ipam: { ...conf.ipam, type: 'pf-no-such-ipam' } }),
    );
    expectError(
      noPlugin,
      50,
      /^ipam\.type "pf-no-such-ipam": no such plugin in CNI_PATH/,
      'IPAM plugin missing',
    );
    const blocker = `${n.dataDir}/a-file`;
    await writeFile(blocker, '');
    const noStore = await runCni(
      env,
      JSON.stringify({ ...conf, ipam: { ...conf.ipam, dataDir: `${blocker}/sub` } }),
    );
    expectError(
      noStore,
      50,
      /^ipam "host-local": its data directory .* is not writable/,
      'IPAM store not usable',
    );
    // a kernel feature: ipvlan (this host's kernel lacks it; the VM lane's has it)
    const ipvlan = (await kernelFeatures()).get('ipvlan');
    const iv = await runCni(env, JSON.stringify({ ...conf, bridge: undefined, ipvlan: 'eth0' }));
    if (ipvlan === false) expectError(iv, 50, /^kernel: no ipvlan/, 'no ipvlan');
    else assert.equal(iv.code, 0, iv.stdout);
  });
});
