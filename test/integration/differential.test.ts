/**
 * Differential: the same scenario run through the netlink backend and through the ip backend
 * must leave the same kernel state. Each scenario runs twice in one sandbox, once per backend
 * (PIPEFITTER_BACKEND, which the in-process API reads through chooseBackend), one after the
 * other and under the same names — the twins' namespaces, bridges and host-side links are
 * named alike, so nothing needs renaming; between them every trace of the first is gone. After
 * each step the full state (./helpers/kernel-state.ts) is read back, and the two runs' states
 * are compared step by step. Normalised beyond kernel-state.ts's own rules: the MACs the kernel
 * picks at random for links made without one (a MAC the scenario sets is asserted by hand).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { apply, destroy, status } from '../../src/api/recipe.js';
import { createRunner } from '../../src/exec/runner.js';
import type { BackendName } from '../../src/exec/backend.js';
import type { Ns, Snapshot } from '../helpers/kernel-state.js';
import { diffSnapshots, fullSnapshot, nsLabel } from '../helpers/kernel-state.js';
import { expectState, injectEverywhere } from '../helpers/round-trip.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { runId, withSandbox } from '../helpers/sandbox.js';

const BACKENDS = ['netlink', 'ip'] as const satisfies readonly BackendName[];

/** Run `fn` with PIPEFITTER_BACKEND=backend, and check that it is the backend pipefitter takes. */
const under = async <T>(backend: BackendName, fn: () => Promise<T>): Promise<T> => {
  const old = process.env.PIPEFITTER_BACKEND;
  process.env.PIPEFITTER_BACKEND = backend;
  try {
    const probe = createRunner();
    probe.close?.();
    assert.equal(probe.backend?.name, backend, `pipefitter runs the ${backend} backend`);
    return await fn();
  } finally {
    if (old === undefined) delete process.env.PIPEFITTER_BACKEND;
    else process.env.PIPEFITTER_BACKEND = old;
  }
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Lane {
  readonly backend: BackendName;
  readonly states: Map<string, { spaces: readonly Ns[]; snap: Snapshot }>;
  /** Processes of the spaces when the lane started: announcements still exiting are waited for. */
  base?: string;
}

/** The full state of `spaces`, once the processes pipefitter started (announcements) are gone. */
const settled = async (lane: Lane, spaces: readonly Ns[]): Promise<Snapshot> => {
  const procs = (s: Snapshot): string => JSON.stringify(s.map((x, i) => (i === 0 ? x.processes : [])));
  let snap = await fullSnapshot(spaces);
  lane.base ??= procs(snap);
  for (
    let i = 0;
    i < 30 && (procs(snap) !== lane.base || snap.slice(1).some((x) => x.processes.length));
    i++
  ) {
    await sleep(100);
    snap = await fullSnapshot(spaces);
  }
  return snap;
};

const record = async (lane: Lane, label: string, spaces: readonly Ns[]): Promise<Snapshot> => {
  assert.ok(!lane.states.has(label), `one state per label: ${label}`);
  const snap = await settled(lane, spaces);
  lane.states.set(label, { spaces, snap });
  return snap;
};

/** Random MACs (links made without one) aside; everything else as kernel-state.ts reads it. */
const withoutRandomMacs = (s: Snapshot): Snapshot =>
  Object.assign(
    s.map((ns) => ({
      ...ns,
      links: ns.links.map((l) => {
        const { address: _a, perm_address: _p, ...rest } = l;
        return rest;
      }),
    })),
    { global: s.global },
  );

/** Runs `scenario` once per backend, then compares the states they recorded, label by label. */
const differential = async (scenario: (lane: Lane) => Promise<void>): Promise<void> => {
  const lanes: Lane[] = [];
  for (const backend of BACKENDS) {
    const lane: Lane = { backend, states: new Map() };
    await under(backend, () => scenario(lane));
    lanes.push(lane);
  }
  const [nl, ip] = lanes as [Lane, Lane];
  assert.deepEqual([...ip.states.keys()], [...nl.states.keys()], 'both runs recorded the same steps');
  const differences: string[] = [];
  for (const [label, a] of nl.states) {
    const b = ip.states.get(label);
    if (!b) continue;
    const d = diffSnapshots(withoutRandomMacs(a.snap), withoutRandomMacs(b.snap), a.spaces.map(nsLabel));
    differences.push(...d.map((x) => `${label}: ${x}`));
  }
  if (differences.length)
    assert.fail(
      `the ip backend left another state than the netlink backend (netlink -> ip):\n  ${differences.join('\n  ')}`,
    );
};

/** The link `name` in the state of space `i` (for what a scenario set by hand: a MAC). */
const linkIn = (s: Snapshot, i: number, name: string): Record<string, unknown> | undefined =>
  s[i]?.links.find((l) => l.name === name);

test('differential: veth into a new bridge (addresses of both families, MAC, MTU, gateway, route) — a failure before every step, attach, re-attach, detach', (t) =>
  withSandbox(t, async (sb) => {
    const br = sb.name('db').slice(0, 15);
    const c = await sb.netns('dv');
    const spaces: Ns[] = ['sandbox', { netns: c }];
    const input = {
      target: `netns:${c}`,
      bridge: br,
      ip: ['192.0.2.10/24', '2001:db8::10/64'],
      gateway: '192.0.2.1',
      mtu: 1400,
      mac: '02:00:00:00:00:10',
      route: '198.51.100.0/24:192.0.2.254',
    };
    await differential(async (lane) => {
      const before = await record(lane, 'before', spaces);
      const dry = await attach(input, { dryRun: true });
      await injectEverywhere({
        what: `${lane.backend}: attach`,
        plan: dry.plan,
        spaces,
        expected: before,
        run: (hooks) => attach(input, { hooks }),
      });
      assert.equal((await attach(input)).applied, true);
      const attached = await record(lane, 'attached', spaces);
      assert.equal(
        linkIn(attached, 1, 'eth1')?.address,
        '02:00:00:00:00:10',
        `${lane.backend}: the MAC asked for`,
      );
      assert.deepEqual(
        (await attach(input)).plan.steps,
        [],
        `${lane.backend}: a second attach plans nothing`,
      );
      assert.equal((await detach({ target: `netns:${c}`, ifname: 'eth1' })).applied, true);
      await record(lane, 'detached', spaces);
      await expectState(spaces, before, `${lane.backend}: detach brings the state back`);
    });
  }));

test('differential: macvlan on a host NIC, and a veth pair between two namespaces — attach, detach', (t) =>
  withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('m');
    const a = await sb.netns('ma');
    const b = await sb.netns('mb');
    const spaces: Ns[] = ['sandbox', { netns: a }, { netns: b }];
    await differential(async (lane) => {
      const before = await record(lane, 'before', spaces);
      await attach({
        target: `netns:${a}`,
        macvlan: nic,
        mode: 'bridge',
        ip: '198.51.100.7/24',
        ifname: 'lan0',
      });
      await record(lane, 'macvlan attached', spaces);
      await attach({
        a: `netns:${a}:eth2`,
        b: `netns:${b}:eth2`,
        ip: '192.0.2.21/30',
        peerIp: '192.0.2.22/30',
      });
      await record(lane, 'pair linked', spaces);
      await detach({ target: `netns:${a}`, ifname: 'eth2' });
      await record(lane, 'pair detached', spaces);
      await detach({ target: `netns:${a}`, ifname: 'lan0' });
      await record(lane, 'macvlan detached', spaces);
      await expectState(spaces, before, `${lane.backend}: as before`);
    });
  }));

test('differential: a host NIC moved in (--phys) and home again, with its alias, MTU, addresses and route', (t) =>
  withSandbox(t, async (sb) => {
    // the host's own alias, MTU, addresses and a route through it: moved out with it, put back by rollback and detach
    const nic = await sb.dressedHostNic('p');
    const c = await sb.netns('p1');
    const spaces: Ns[] = ['sandbox', { netns: c }];
    await differential(async (lane) => {
      const before = await record(lane, 'before', spaces);
      await attach({ target: `netns:${c}`, phys: nic, ifname: 'wan0', ip: '203.0.113.2/30', mtu: 1400 });
      await record(lane, 'moved in', spaces);
      await detach({ target: `netns:${c}`, ifname: 'wan0' });
      await record(lane, 'home again', spaces);
      await expectState(spaces, before, `${lane.backend}: home as it was`);
    });
  }));

const routerSet = (sb: Sandbox): Record<string, string> => ({ ns: `pf-${runId}-${sb.id}`, p: `d${sb.id}` });

test('differential: recipes/router.yaml — apply, apply again, drift by hand, status, repair, destroy', (t) =>
  withSandbox(t, async (sb) => {
    const file = 'recipes/router.yaml';
    const set = routerSet(sb);
    const inside: Ns[] = ['sandbox', ...['router', 'alice', 'bob'].map((n) => ({ netns: `${set.ns}-${n}` }))];
    await differential(async (lane) => {
      const before = await record(lane, 'before', ['sandbox']);
      await apply(file, { set });
      await record(lane, 'applied', inside);
      assert.deepEqual((await apply(file, { set })).plan.steps, [], `${lane.backend}: nothing to do`);
      await execa('ip', ['-n', `${set.ns}-alice`, 'addr', 'flush', 'dev', 'eth1']);
      await execa('ip', ['-n', `${set.ns}-router`, 'link', 'del', 'eth2']);
      await record(lane, 'broken by hand', inside);
      const drift = (await status(file, { set })).drift.map((d) => d.what).join('\n');
      assert.match(drift, /add 192\.0\.2\.10\/24 to "eth1"/, `${lane.backend}: the drift is named`);
      await apply(file, { set });
      await record(lane, 'repaired', inside);
      await destroy(file, { set });
      await record(lane, 'destroyed', ['sandbox']);
      await expectState(['sandbox'], before, `${lane.backend}: destroyed`);
    });
  }));
