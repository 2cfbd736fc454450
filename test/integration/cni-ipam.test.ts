/**
 * pipefitter's own IPAM through the CNI plugin (`"ipam": {"type": "pipefitter", ...}`), invoked
 * directly as a runtime would: leases come from the store recipes use, read back with
 * `pipefitter ipam ls --json`, the addresses and routes from the kernel. Each test has its own
 * state directory, so the store holds only its leases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { addAll, cniEnv, delAfter, expectError, expectOk, runCni } from '../helpers/cni-invoke.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import type { Sandbox } from '../helpers/sandbox.js';

interface Lease {
  readonly pool: string;
  readonly key: string;
  readonly address: string;
  readonly created: string;
}

interface Net {
  readonly name: string;
  readonly bridge: string;
  readonly stateDir: string;
  readonly conf: (extra?: Record<string, unknown>, ipam?: Record<string, unknown>) => string;
  readonly env: (
    command: string,
    netns: string | undefined,
    containerId: string,
  ) => Record<string, string | undefined>;
  /** `pipefitter ipam ls --json` of this state directory: address by key. */
  readonly leases: () => Promise<Record<string, string>>;
  readonly ls: () => Promise<Lease[]>;
  readonly cli: (args: string[]) => ReturnType<typeof cli>;
}

const network = async (t: { after: (fn: () => unknown) => void }, sb: Sandbox): Promise<Net> => {
  const stateDir = await mkdtemp(`/tmp/pf-${runId}-cni-own-`);
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const name = `pf${sb.id}`;
  const bridge = sb.name('ob');
  const run = (args: string[]) => cli(args, { PIPEFITTER_STATE_DIR: stateDir });
  const ls = async (): Promise<Lease[]> => {
    const r = await run(['ipam', 'ls', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { allocations: Lease[] }).allocations;
  };
  return {
    name,
    bridge,
    stateDir,
    conf: (extra = {}, ipam = {}) =>
      JSON.stringify({
        cniVersion: '1.1.0',
        name,
        type: 'pipefitter',
        bridge,
        ipam: {
          type: 'pipefitter',
          subnet: '198.51.100.0/24',
          pool: '198.51.100.100-198.51.100.102',
          gateway: '198.51.100.1',
          routes: [{ dst: '0.0.0.0/0' }, { dst: '203.0.113.0/24', gw: '198.51.100.254' }],
          ...ipam,
        },
        ...extra,
      }),
    env: (command, netns, containerId) => ({
      ...cniEnv(command, netns, containerId),
      PIPEFITTER_STATE_DIR: stateDir,
    }),
    ls,
    leases: async () => Object.fromEntries((await ls()).map((a) => [a.key, a.address])),
    cli: run,
  };
};

test('ADD leases from the pool (ipam ls names the owner), the kernel has it; DEL releases, also with the namespace gone', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const [a, b, c] = [await sb.netns('a'), await sb.netns('b'), await sb.netns('c')];
    delAfter(t, n, n.conf(), [
      [a, 'ca'],
      [b, 'cb'],
      [c, 'cc'],
    ]);
    const key = (id: string): string => `cni:${n.name}/${id}/eth0`;

    const ra = await runCni(n.env('ADD', a, 'ca'), n.conf());
    expectOk(ra, 'ADD a');
    const res = ra.out as {
      ips: { address: string; gateway?: string; interface?: number }[];
      routes: { dst: string; gw?: string }[];
    };
    assert.deepEqual(res.ips, [{ address: '198.51.100.100/24', gateway: '198.51.100.1', interface: 2 }]);
    assert.deepEqual(res.routes, [{ dst: '0.0.0.0/0' }, { dst: '203.0.113.0/24', gw: '198.51.100.254' }]);
    const rb = await runCni(n.env('ADD', b, 'cb'), n.conf({ cniVersion: '0.4.0' }));
    expectOk(rb, 'ADD b');
    assert.deepEqual((rb.out as { ips: unknown[] }).ips, [
      { version: '4', address: '198.51.100.101/24', gateway: '198.51.100.1', interface: 2 },
    ]);

    // the store: one lease each, keyed by the attachment's identity, in the network's pool
    const ls = await n.ls();
    assert.deepEqual(
      ls.map((l) => [l.pool, l.key, l.address]),
      [
        [`cni:${n.name}`, key('ca'), '198.51.100.100/24'],
        [`cni:${n.name}`, key('cb'), '198.51.100.101/24'],
      ],
    );
    const human = await n.cli(['ipam', 'ls']);
    assert.match(human.stdout, new RegExp(`198\\.51\\.100\\.100/24 +cni:${n.name}/ca/eth0`));

    // the kernel: the address, the gateway as default route, the configured route
    const inA = await readState({ netns: a });
    assert.deepEqual(
      link(inA, 'eth0')?.addrs.filter((x) => !x.startsWith('fe80')),
      ['198.51.100.100/24'],
    );
    const rs = routes(inA);
    assert.ok(
      rs.some((r) => r.dst === 'default' && r.gateway === '198.51.100.1' && r.dev === 'eth0'),
      JSON.stringify(rs),
    );
    assert.ok(
      rs.some((r) => r.dst === '203.0.113.0/24' && r.gateway === '198.51.100.254' && r.dev === 'eth0'),
      JSON.stringify(rs),
    );
    assert.ok(await ping({ netns: a }, '198.51.100.101'), 'a reaches b across the bridge');

    // an ADD refused (the interface exists) takes no address
    expectError(
      await runCni(n.env('ADD', a, 'ca'), n.conf()),
      100,
      /^CNI_IFNAME "eth0": an interface of that name already exists/,
      'ADD twice',
    );
    assert.deepEqual(Object.keys(await n.leases()), [key('ca'), key('cb')]);

    // `ipam release` refuses a lease whose attachment is there, `ipam gc` keeps it
    const rel = await n.cli(['ipam', 'release', key('ca')]);
    assert.equal(rel.code, 2, rel.stderr);
    assert.match(rel.stderr, /the CNI attachment of network .* container ca, interface eth0 is still there/);
    expectOk(await n.cli(['ipam', 'gc']), 'ipam gc');
    assert.deepEqual(Object.keys(await n.leases()), [key('ca'), key('cb')]);

    // DEL releases, twice is fine; the address is free for the next ADD
    for (let i = 0; i < 2; i++) expectOk(await runCni(n.env('DEL', a, 'ca'), n.conf()), `DEL #${i + 1}`);
    assert.deepEqual(await n.leases(), { [key('cb')]: '198.51.100.101/24' });
    assert.equal(link(await readState({ netns: a }), 'eth0'), undefined);

    // DEL with the namespace gone (and without CNI_NETNS) releases the lease
    expectOk(await runCni(n.env('ADD', c, 'cc'), n.conf()), 'ADD c');
    assert.equal((await n.leases())[key('cc')], '198.51.100.100/24');
    await execa('ip', ['netns', 'del', c]);
    for (const ns of [c, undefined])
      expectOk(await runCni(n.env('DEL', ns, 'cc'), n.conf()), `DEL c (${ns})`);
    expectOk(await runCni(n.env('DEL', b, 'cb'), n.conf()), 'DEL b');
    assert.deepEqual(await n.ls(), []);
    assert.equal(link(await readState('sandbox'), n.bridge), undefined, 'the bridge went with its last port');
  });
});

test('no two containers get one address: a full pool is error 103 and that ADD leaves nothing', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const [a, b] = [await sb.netns('a'), await sb.netns('b')];
    const one = { pool: '198.51.100.100-198.51.100.100' };
    delAfter(t, n, n.conf({}, one), [
      [a, 'ca'],
      [b, 'cb'],
    ]);
    expectOk(await runCni(n.env('ADD', a, 'ca'), n.conf({}, one)), 'ADD a');
    const before = await readState('sandbox');
    const full = await runCni(n.env('ADD', b, 'cb'), n.conf({}, one));
    expectError(
      full,
      103,
      /^ipam "pipefitter" ADD: IPAM pool cni:.* pool full: 0 of 1 addresses free/,
      'pool full',
    );
    assert.deepEqual(await n.leases(), { [`cni:${n.name}/ca/eth0`]: '198.51.100.100/24' });
    assert.equal(link(await readState({ netns: b }), 'eth0'), undefined);
    assert.deepEqual(await readState('sandbox'), before, 'host as before');

    // another network over the same addresses: the store is one, the address is still taken
    const other = JSON.parse(n.conf({}, one)) as Record<string, unknown>;
    const r = await runCni(
      n.env('ADD', b, 'cb'),
      JSON.stringify({ ...other, name: `${n.name}x`, bridge: sb.name('oc') }),
    );
    expectError(r, 103, /pool full/, 'the address is taken by the other network');
    assert.equal(Object.keys(await n.leases()).length, 1);
  });
});

test('a failed ADD releases its lease (the rollback), the record and the links go', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const d = await sb.netns('d');
    const before = await readState('sandbox');
    expectError(
      await runCni(n.env('ADD', d, 'cd'), n.conf({ bridge: 'br-much-too-long' })),
      7,
      /^bridge "br-much-too-long"/,
      'refused before any lease',
    );
    for (const k of [0, 2]) {
      const f = await runCni(n.env('ADD', d, 'cd'), n.conf(), { PIPEFITTER_TEST_FAULT: `fail:${k}` });
      expectError(f, 101, /./, `fault at step ${k}`, false);
      assert.deepEqual(await n.ls(), [], `fault at step ${k}: no lease`);
      assert.deepEqual(await readState('sandbox'), before, `fault at step ${k}: host as before`);
      assert.equal(link(await readState({ netns: d }), 'eth0'), undefined);
    }
    const records = (await readdir(join(n.stateDir, 'cni'), { recursive: true }).catch(() => [])).filter(
      (f) => f.endsWith('.json'),
    );
    assert.deepEqual(records, [], 'no attachment record is left');
  });
});

test('CHECK: the lease as prevResult says passes; a lease released or another address is 104', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const e = await sb.netns('e');
    delAfter(t, n, n.conf(), [[e, 'ce']]);
    const add = await runCni(n.env('ADD', e, 'ce'), n.conf());
    expectOk(add, 'ADD');
    const prevResult = add.out!;
    const check = (p: unknown = prevResult) => runCni(n.env('CHECK', e, 'ce'), n.conf({ prevResult: p }));
    const good = await check();
    expectOk(good, 'CHECK');
    assert.equal(good.stdout, '');

    const ips = (prevResult as { ips: { address: string }[] }).ips;
    const moved = { ...prevResult, ips: [{ ...ips[0], address: '198.51.100.102/24' }] };
    // the kernel has both addresses: the kernel part passes, the lease does not
    await execa('ip', ['-n', e, 'addr', 'add', '198.51.100.102/24', 'dev', 'eth0']);
    expectError(
      await check(moved),
      104,
      /holds 198\.51\.100\.100\/24, prevResult has 198\.51\.100\.102\/24/,
      'another address',
    );
    await execa('ip', ['-n', e, 'addr', 'del', '198.51.100.102/24', 'dev', 'eth0']);
    const key = `cni:${n.name}/ce/eth0`;
    expectOk(await n.cli(['ipam', 'release', '--force', key]), 'release --force');
    expectError(await check(), 104, new RegExp(`^ipam "pipefitter": no lease for ${key}`), 'lease gone');
  });
});

test('GC releases the leases of attachments not listed (with or without their record), the rest stay; ipam gc collects a lease without record', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const [g1, g2, g3] = [await sb.netns('g1'), await sb.netns('g2'), await sb.netns('g3')];
    await addAll(t, n, n.conf(), [
      [g1, 'k1'],
      [g2, 'k2'],
      [g3, 'k3'],
    ]);
    await execa('ip', ['netns', 'del', g3]);
    // a lease whose record is gone (a DEL whose IPAM part failed), written as the store writes it
    const file = `${n.stateDir}/ipam/allocations.json`;
    const store = JSON.parse(await readFile(file, 'utf8')) as { allocations: Lease[] };
    const ghost = (id: string, address: string): Lease => ({
      pool: `cni:${n.name}`,
      key: `cni:${n.name}/${id}/eth0`,
      address,
      created: new Date().toISOString(),
    });
    store.allocations.push(ghost('ghost', '198.51.100.200/24'));
    await writeFile(file, JSON.stringify(store));

    const gcEnv = { ...n.env('GC', undefined, 'x'), CNI_CONTAINERID: undefined, CNI_IFNAME: undefined };
    const gc = await runCni(
      gcEnv,
      n.conf({ 'cni.dev/valid-attachments': [{ containerID: 'k1', ifname: 'eth0' }] }),
    );
    expectOk(gc, 'GC');
    assert.deepEqual(await n.leases(), { [`cni:${n.name}/k1/eth0`]: '198.51.100.100/24' });
    assert.ok(link(await readState({ netns: g1 }), 'eth0'), 'the listed attachment stays');
    assert.equal(link(await readState({ netns: g2 }), 'eth0'), undefined);

    // `pipefitter ipam gc`: a CNI lease without its record goes, a recorded one stays
    const again = JSON.parse(await readFile(file, 'utf8')) as { allocations: Lease[] };
    again.allocations.push(ghost('ghost2', '198.51.100.201/24'));
    await writeFile(file, JSON.stringify(again));
    const col = await n.cli(['ipam', 'gc', '--json']);
    expectOk(col, 'ipam gc');
    assert.deepEqual(
      (JSON.parse(col.stdout) as { released: Lease[] }).released.map((l) => l.key),
      [`cni:${n.name}/ghost2/eth0`],
    );
    assert.deepEqual(Object.keys(await n.leases()), [`cni:${n.name}/k1/eth0`]);

    expectOk(await runCni(gcEnv, n.conf({ 'cni.dev/valid-attachments': [] })), 'GC of all');
    assert.deepEqual(await n.ls(), []);
    assert.equal(link(await readState('sandbox'), n.bridge), undefined);
  });
});

test('STATUS: ready with a usable store; 50 naming a corrupt or unwritable one', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await network(t, sb);
    const env = { ...n.env('STATUS', undefined, 'x'), CNI_CONTAINERID: undefined, CNI_IFNAME: undefined };
    const good = await runCni(env, n.conf());
    expectOk(good, 'STATUS');
    assert.equal(good.stdout, '');
    await mkdir(`${n.stateDir}/ipam`, { recursive: true });
    await writeFile(`${n.stateDir}/ipam/allocations.json`, '{"version": 1, "allocations": [');
    expectError(
      await runCni(env, n.conf()),
      50,
      /^ipam "pipefitter": .*allocations\.json: not a valid IPAM store/,
      'corrupt store',
    );
    await rm(`${n.stateDir}/ipam`, { recursive: true });
    await writeFile(`${n.stateDir}/ipam`, 'not a directory');
    expectError(
      await runCni(env, n.conf()),
      50,
      /^ipam "pipefitter": .*\/ipam: the address store is not writable/,
      'store not writable',
    );
  });
});
