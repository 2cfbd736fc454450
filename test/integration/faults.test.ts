/**
 * Faults at every point (issue 13), through the CLI as users run it, under each backend (the
 * runner's lanes): PIPEFITTER_TEST_FAULT=fail:K (a failure right before step K of the schedule)
 * and kill:K (SIGKILL right after it) on
 *
 * - a recipe apply with NAT, a published port and pool addresses (`auto`), over two namespaces
 *   it creates and a container: a failure exits 1 and leaves the full state as before (kernel,
 *   nftables, state files: no recipe state, no allocation, no journal); after a kill, the next
 *   apply converges (in sync) or the next destroy leaves everything as before, in turn;
 * - its destroy: a failure exits 1 (the state as applied) or, past a step that cannot be undone,
 *   3 naming each and saying to run it again; after either, and after a kill, the next destroy
 *   finishes: nothing left;
 * - detach of each kind this kernel has (a bridge port whose gateway replaced a default route,
 *   which detach puts back; a macvlan on a host NIC that was down, which pipefitter brought up
 *   and records; a pair between two containers; a host NIC moved in, with its alias, addresses
 *   and a route, which detach brings home): the same codes, and the next detach leaves the state
 *   as before the attach;
 * - attach of each of those kinds: a failure exits 1 and leaves the state as before; a kill is
 *   undone by the next attach, and detach restores the state.
 *
 * After each case nothing of pipefitter's is left outside the kernel either: no journal, no
 * temporary file, no recipe state or allocation, nothing new in $PIPEFITTER_RUN_DIR, nothing
 * named pipefitter in /dev/shm. Positions: a spread over each schedule; PF_FAULT_ALL=1: every
 * step. Each test says how many faults it injected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { detach } from '../../src/api/attach.js';
import { destroy, plan } from '../../src/api/recipe.js';
import type { Step } from '../../src/model/step.js';
import { schedule } from '../../src/render/schedule.js';
import type { CliResult } from '../helpers/cli.js';
import { cli } from '../helpers/cli.js';
import type { Ns } from '../helpers/kernel-state.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';

const ALL = process.env.PF_FAULT_ALL === '1';

/**
 * Positions to inject at in a schedule of n steps: a spread — six over a recipe apply's, three
 * (first, middle, last) over the shorter ones of a destroy, an attach and a detach, whose every
 * step the in-process round trips fail too (round-trip.ts, recipes) — or (PF_FAULT_ALL=1) every
 * one.
 */
const positions = (n: number, spread: 'six' | 'three' = 'six'): number[] =>
  ALL
    ? Array.from({ length: n }, (_, k) => k)
    : [
        ...new Set(
          spread === 'six'
            ? [0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1]
            : [0, Math.floor(n / 2), n - 1],
        ),
      ].filter((k) => k >= 0 && k < n);

let total = 0;
/** Counts the faults a test injects; says how many at its end. */
const counter = (t: { diagnostic: (m: string) => void; after: (fn: () => void) => void }) => {
  let n = 0;
  t.after(() => {
    total += n;
    t.diagnostic(`${n} faults injected (${total} in this file so far${ALL ? ', PF_FAULT_ALL=1' : ''})`);
  });
  return (args: string[], fault: string): Promise<CliResult> => {
    n++;
    return cli(args, { PIPEFITTER_TEST_FAULT: fault });
  };
};

const stateDir = process.env.PIPEFITTER_STATE_DIR ?? '';
const runDir = process.env.PIPEFITTER_RUN_DIR ?? '';

const filesUnder = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []))
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();

/** pipefitter's files outside the kernel that a finished command must not leave. */
const strays = async (recipe?: string): Promise<string[]> => {
  assert.ok(stateDir && runDir, 'the runner sets PIPEFITTER_STATE_DIR and PIPEFITTER_RUN_DIR');
  const out: string[] = [];
  for (const f of await filesUnder(stateDir)) {
    if (f.includes('/journal/')) out.push(`a journal: ${f}`);
    if (f.endsWith('.tmp')) out.push(`a temporary file: ${f}`);
  }
  if (recipe !== undefined) {
    for (const f of await filesUnder(`${stateDir}/recipes`))
      if (f.endsWith(`/${recipe}.json`)) out.push(`the recipe's state: ${f}`);
    const ipam = await readFile(`${stateDir}/ipam/allocations.json`, 'utf8').catch(() => '{}');
    for (const a of (JSON.parse(ipam) as { allocations?: { key: string; address: string }[] }).allocations ??
      [])
      if (a.key.startsWith(`${recipe}/`)) out.push(`an allocation: ${a.key} ${a.address}`);
  }
  for (const f of await filesUnder(runDir)) out.push(`in the run directory: ${f}`);
  for (const f of await readdir('/dev/shm').catch(() => [] as string[]))
    if (/pipefitter/i.test(f)) out.push(`/dev/shm/${f}`);
  return out;
};

/** Nothing of pipefitter's left outside the kernel (besides what was there at the start). */
const expectNoStrays = async (base: readonly string[], what: string, recipe?: string): Promise<void> => {
  const now = (await strays(recipe)).filter((s) => !base.includes(s));
  assert.deepEqual(now, [], `${what}: nothing of pipefitter's left outside the kernel`);
};

/** The steps at positions before k that cannot be undone: a failure after them exits 3 naming each. */
const pastNoReturn = (order: readonly Step[], k: number): Step[] =>
  order.slice(0, k).filter((s) => s.undo === 'irreversible');

/**
 * A failure before step k: exit 1 with everything done undone, or — past a step that cannot be
 * undone — exit 3 listing exactly those steps as not undone.
 */
const expectFailed = (r: CliResult, order: readonly Step[], k: number, what: string): 1 | 3 => {
  const at = `${what}: a failure before step ${k} (${order[k]?.describes ?? '?'})`;
  assert.ok(
    r.stderr.includes(`stopped before ${order[k]?.describes ?? '?'}: injected fault before step ${k}`),
    `${at} names the step: ${r.stderr}`,
  );
  const gone = pastNoReturn(order, k);
  if (gone.length === 0) {
    assert.equal(r.code, 1, `${at}: exit 1\n${r.stderr}`);
    assert.ok(
      r.stderr.includes(`rolled back: ${k} step(s) undone`),
      `${at}: says what it undid: ${r.stderr}`,
    );
    return 1;
  }
  assert.equal(r.code, 3, `${at}, past ${gone.length} step(s) that cannot be undone: exit 3\n${r.stderr}`);
  assert.ok(
    r.stderr.includes(
      'hint: what is listed below was removed and cannot be put back: run the same command again to finish it',
    ),
    `${at}: says how to finish: ${r.stderr}`,
  );
  const listed = r.stderr.split('\n').filter((l) => l.includes('(cannot be undone)'));
  assert.equal(listed.length, gone.length, `${at}: lists each step that cannot be undone: ${r.stderr}`);
  for (const s of gone)
    assert.ok(
      listed.some((l) => l.includes(s.describes)),
      `${at}: names "${s.describes}": ${r.stderr}`,
    );
  return 3;
};

const killedAt = async (run: Promise<CliResult>, k: number, what: string): Promise<void> => {
  const r = await run;
  // killed by SIGKILL: no exit code
  assert.equal(r.code, -1, `${what}: killed after step ${k}: ${r.code} ${r.stderr}`);
};

const ok = (r: CliResult, what: string): CliResult => {
  assert.equal(r.code, 0, `${what}: exit 0\n${r.stderr}`);
  return r;
};

/**
 * A recipe with a NAT'd bridge (masquerade, a published port), a pool, two namespaces it
 * creates and a container, all on the bridge: a static address and two `auto` ones.
 */
const natRecipe = async (t: { after: (fn: () => Promise<void>) => void }, sb: Sandbox) => {
  await needTools('nft');
  const c = await sb.container();
  const [web, app] = [sb.nsName('web'), sb.nsName('app')];
  const name = `flt${sb.id}`;
  const br = sb.name('nb');
  const dir = await mkdtemp(`/tmp/pf-${runId}-recipe-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      'version: 1',
      `name: ${name}`,
      'bridges:',
      `  ${br}:`,
      '    addresses: 192.0.2.1/24',
      '    nat: { subnet: 192.0.2.0/24 }',
      "    publish: [{ port: 8080, to: '192.0.2.10:80' }]",
      'networks:',
      `  lan: { bridge: ${br}, subnet: 192.0.2.0/24, gateway: 192.0.2.1, pool: 192.0.2.100-192.0.2.199 }`,
      'containers:',
      `  web: { target: 'netns:${web}', create: true, interfaces: { eth1: { network: lan, address: 192.0.2.10, gateway: true } } }`,
      `  app: { target: 'netns:${app}', create: true, interfaces: { eth1: { network: lan, address: auto, gateway: true } } }`,
      `  c: { target: 'pid:${c.pid}', interfaces: { eth1: { network: lan, address: auto, gateway: true } } }`,
      '',
    ].join('\n'),
  );
  t.after(async () => {
    await cli(['destroy', file]);
  });
  return { file, name, spaces: ['sandbox' as const, { pid: c.pid }] as Ns[] };
};

const inSync = async (file: string): Promise<boolean> =>
  (JSON.parse((await cli(['status', file, '--json'])).stdout) as { inSync: boolean }).inSync;

test('a recipe apply with NAT and pool addresses: a failure before any step leaves everything as before; a kill after any step is undone by the next apply or destroy', async (t) => {
  await withSandbox(t, async (sb) => {
    const inject = counter(t);
    const { file, name, spaces } = await natRecipe(t, sb);
    const before = await snapshot(spaces);
    const base = await strays(name);
    const order = schedule((await plan(file)).plan.steps);
    const n = order.length;
    assert.ok(n >= 20, `a plan of many steps (${n})`);
    t.diagnostic(`apply: ${n} steps`);
    assert.ok(
      order.some((s) => /NAT|masquerade/i.test(s.describes)),
      `the plan has NAT steps: ${order.map((s) => s.describes).join('; ')}`,
    );
    for (const k of positions(n)) {
      const what = `apply, fail:${k} of ${n}`;
      expectFailed(await inject(['apply', file], `fail:${k}`), order, k, what);
      await expectState(spaces, before, `${what}: as before`);
      await expectNoStrays(base, what, name);
    }
    for (const [i, k] of positions(n).entries()) {
      const what = `apply, kill:${k} of ${n}`;
      await killedAt(inject(['apply', file], `kill:${k}`), k, what);
      if (i % 2 === 0) {
        const d = ok(await cli(['destroy', file]), `${what}, then destroy`);
        assert.match(d.stderr, /undid an interrupted run/, `${what}, then destroy says it`);
      } else {
        const a = ok(await cli(['apply', file]), `${what}, then apply`);
        assert.match(a.stderr, /undid an interrupted run/, `${what}, then apply says it`);
        assert.equal(await inSync(file), true, `${what}, then apply: in sync`);
        ok(await cli(['destroy', file]), `${what}, apply, destroy`);
      }
      await expectState(
        spaces,
        before,
        `${what}, then ${i % 2 === 0 ? 'destroy' : 'apply, destroy'}: as before`,
      );
      await expectNoStrays(base, what, name);
    }
  });
});

test('a destroy of a recipe with NAT and pool addresses: after a failure (exit 1 or 3) or a kill at any step, the next destroy leaves nothing', async (t) => {
  await withSandbox(t, async (sb) => {
    const inject = counter(t);
    const { file, name, spaces } = await natRecipe(t, sb);
    const before = await snapshot(spaces);
    const base = await strays(name);
    ok(await cli(['apply', file]), 'apply');
    const order = schedule((await destroy(file, { dryRun: true })).plan.steps);
    const n = order.length;
    assert.ok(n >= 5, `a destroy of several steps (${n})`);
    t.diagnostic(`destroy: ${n} steps`);
    for (const fault of ['fail', 'kill'] as const)
      for (const k of positions(n, 'three')) {
        const what = `destroy, ${fault}:${k} of ${n}`;
        if (fault === 'fail') {
          const applied = await snapshot(spaces);
          const code = expectFailed(await inject(['destroy', file], `fail:${k}`), order, k, what);
          if (code === 1) await expectState(spaces, applied, `${what}: exit 1, the state as applied`);
        } else await killedAt(inject(['destroy', file], `kill:${k}`), k, what);
        const d = ok(await cli(['destroy', file]), `${what}, then destroy`);
        if (fault === 'kill')
          assert.match(
            d.stderr,
            pastNoReturn(order, k + 1).length
              ? /had removed things that cannot be put back; run it again to finish it/
              : /undid an interrupted run/,
            `${what}, then destroy says what it found`,
          );
        await expectState(spaces, before, `${what}, then destroy: nothing left`);
        await expectNoStrays(base, what, name);
        ok(await cli(['apply', file]), `${what}: apply again`);
      }
    ok(await cli(['destroy', file]), 'destroy');
    await expectState(spaces, before, 'destroyed');
  });
});

/** A container like Docker's: eth0 with an address and a default route through it. */
interface Kind {
  readonly name: string;
  readonly spaces: readonly Ns[];
  readonly attach: string[];
  readonly detach: { target: string; ifname: string };
}

/**
 * The attachments this host's kernel can make: a bridge port (replacing a default route), a
 * macvlan on `parent` (a host NIC that is down: pipefitter brings it up, records that in its
 * state, and takes it down again with the detach), a pair between two containers, and `nic`
 * moved in (--phys; a NIC with an alias, addresses and a route, which detach brings home).
 */
const kinds = async (sb: Sandbox): Promise<Kind[]> => {
  const parent = await sb.hostNic('mp');
  await execa('ip', ['link', 'set', 'dev', parent, 'down']);
  const nic = await sb.dressedHostNic('ph');
  const [a, b, c] = [await sb.dockerLike(), await sb.container(), await sb.container()];
  return [
    {
      name: 'bridge port with a gateway',
      spaces: ['sandbox', a],
      attach: [
        'attach',
        `pid:${a.pid}`,
        '--bridge',
        sb.name('fb'),
        '--ip',
        '192.0.2.10/24',
        '--ip',
        '2001:db8:f::10/64',
        '--gateway',
        '192.0.2.1',
        '--route',
        '198.51.100.0/24:192.0.2.254',
      ],
      detach: { target: `pid:${a.pid}`, ifname: 'eth1' },
    },
    {
      name: `macvlan on ${parent} (down)`,
      spaces: ['sandbox', b],
      attach: ['attach', `pid:${b.pid}`, '--macvlan', parent, '--ip', '198.51.100.20/24', '--ifname', 'lan0'],
      detach: { target: `pid:${b.pid}`, ifname: 'lan0' },
    },
    {
      name: 'pair between two containers',
      spaces: ['sandbox', b, c],
      attach: [
        'link',
        `pid:${b.pid}:p2p0`,
        `pid:${c.pid}:p2p0`,
        '--ip',
        '203.0.113.21/30',
        '--peer-ip',
        '203.0.113.22/30',
      ],
      detach: { target: `pid:${b.pid}`, ifname: 'p2p0' },
    },
    {
      name: `${nic} moved in`,
      spaces: ['sandbox', c],
      attach: ['attach', `pid:${c.pid}`, '--phys', nic, '--ifname', 'wan0', '--ip', '203.0.113.2/30'],
      detach: { target: `pid:${c.pid}`, ifname: 'wan0' },
    },
  ];
};

const detachArgs = (d: Kind['detach']): string[] => ['detach', d.target, '--ifname', d.ifname];

test('detach of each kind: after a failure (exit 1 or 3) or a kill at any step, the next detach leaves the state as before the attach', async (t) => {
  await withSandbox(t, async (sb) => {
    const inject = counter(t);
    const base = await strays();
    for (const kind of await kinds(sb)) {
      const before = await snapshot(kind.spaces);
      ok(await cli(kind.attach), `${kind.name}: attach`);
      const order = schedule((await detach(kind.detach, { dryRun: true })).plan.steps);
      const n = order.length;
      t.diagnostic(`${kind.name}: detach, ${n} steps`);
      for (const fault of ['fail', 'kill'] as const)
        for (const k of positions(n, 'three')) {
          const what = `${kind.name}: detach, ${fault}:${k} of ${n}`;
          if (fault === 'fail') {
            const attached = await snapshot(kind.spaces);
            const code = expectFailed(await inject(detachArgs(kind.detach), `fail:${k}`), order, k, what);
            if (code === 1)
              await expectState(kind.spaces, attached, `${what}: exit 1, the state as attached`);
          } else await killedAt(inject(detachArgs(kind.detach), `kill:${k}`), k, what);
          ok(await cli(detachArgs(kind.detach)), `${what}, then detach`);
          await expectState(kind.spaces, before, `${what}, then detach: as before the attach`);
          await expectNoStrays(base, what);
          ok(await cli(kind.attach), `${what}: attach again`);
        }
      ok(await cli(detachArgs(kind.detach)), `${kind.name}: detach`);
      await expectState(kind.spaces, before, `${kind.name}: detached`);
    }
  });
});

test('attach of each kind: a failure before a step leaves the state as before (exit 1); after a kill the next attach converges; detach restores the state', async (t) => {
  await withSandbox(t, async (sb) => {
    const inject = counter(t);
    const base = await strays();
    for (const kind of await kinds(sb)) {
      const before = await snapshot(kind.spaces);
      const dry = JSON.parse((await cli([...kind.attach, '--dry-run', '--json'])).stdout) as {
        steps: { describes: string }[];
      };
      const n = dry.steps.length;
      t.diagnostic(`${kind.name}: attach, ${n} steps`);
      for (const k of positions(n, 'three')) {
        const what = `${kind.name}: attach, fail:${k} of ${n}`;
        const r = await inject(kind.attach, `fail:${k}`);
        assert.equal(r.code, 1, `${what}: exit 1\n${r.stderr}`);
        assert.ok(r.stderr.includes(`rolled back: ${k} step(s) undone`), `${what}: ${r.stderr}`);
        await expectState(kind.spaces, before, `${what}: as before`);
        await expectNoStrays(base, what);
      }
      for (const k of positions(n, 'three')) {
        const what = `${kind.name}: attach, kill:${k} of ${n}`;
        await killedAt(inject(kind.attach, `kill:${k}`), k, what);
        const a = ok(await cli(kind.attach), `${what}, then attach`);
        assert.match(a.stderr, /undid an interrupted run/, `${what}, then attach says it`);
        ok(await cli(detachArgs(kind.detach)), `${what}, attach, detach`);
        await expectState(kind.spaces, before, `${what}, attach, detach: as before`);
        await expectNoStrays(base, what);
      }
    }
  });
});
