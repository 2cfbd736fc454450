/**
 * The host-to-macvlan shim (pipework #4, #130): by a kernel rule a host cannot reach its own
 * macvlan containers through their parent. `attach … --macvlan P --host-shim` (and a recipe's
 * `hostShim: true`) makes a macvlan of the host on P (mode bridge) with a route to each container
 * address; shared by the containers on P, removed with the last. The "host" is the sandbox
 * namespace the CLI runs in; the parent is a veth there, with the host's address on it, as a
 * host's LAN NIC has. The machine's own namespace is never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import type { CliResult } from '../helpers/cli.js';
import { cli } from '../helpers/cli.js';
import { ipJson, ping } from '../helpers/read-back.js';
import { recipeFileText } from '../helpers/recipe-file.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import type { Container, Sandbox } from '../helpers/sandbox.js';
import { withSandbox } from '../helpers/sandbox.js';

const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

interface RawLink {
  ifname: string;
  link?: string;
  flags: string[];
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

/** The host's macvlans on `parent`, as the kernel lists them. */
const shimsOn = async (parent: string): Promise<RawLink[]> =>
  ((await ipJson('sandbox', ['-d', 'link', 'show'])) as RawLink[]).filter(
    (l) => l.link === parent && l.linkinfo?.info_kind === 'macvlan',
  );

/** The host's routes through `dev`, destinations only, sorted. */
const routesVia = async (dev: string): Promise<string[]> =>
  ((await ipJson('sandbox', ['route', 'show', 'dev', dev])) as { dst: string }[]).map((r) => r.dst).sort();

const ok = (r: CliResult, what: string): CliResult => {
  assert.equal(r.code, 0, `${what}: exit 0\n${r.stderr}`);
  return r;
};

/**
 * A parent NIC with the host's address on it, and two containers. Made before it, as Docker's
 * docker0 is on a real host: another interface with an address the containers have no route to,
 * which the kernel would choose as the source of what goes through the shim (it has none).
 */
const setup = async (sb: Sandbox): Promise<{ parent: string; c1: Container; c2: Container }> => {
  const decoy = await sb.hostNic('d');
  await execa('ip', ['addr', 'add', '203.0.113.77/24', 'dev', decoy]);
  const parent = await sb.hostNic('m');
  await execa('ip', ['addr', 'add', '192.0.2.1/24', 'dev', parent]);
  return { parent, c1: await sb.container(), c2: await sb.container() };
};

const attach = (
  c: Container,
  parent: string,
  ip: string,
  extra: string[] = [],
  env: Record<string, string> = NO_DOCKER,
) => cli(['attach', `pid:${c.pid}`, '--macvlan', parent, '--ip', `${ip}/24`, ...extra], env);

test('host shim: without it the host cannot reach its macvlan container, with it it can; two containers share one; it goes with the last', async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c1, c2 } = await setup(sb);
    const spaces = ['sandbox' as const, { pid: c1.pid }, { pid: c2.pid }];
    t.after(async () => {
      for (const c of [c1, c2]) await cli(['detach', `pid:${c.pid}`], NO_DOCKER);
    });
    const before = await snapshot(spaces);

    // without the shim: the kernel's rule stands
    ok(await attach(c1, parent, '192.0.2.11'), 'attach without shim');
    assert.equal(await ping('sandbox', '192.0.2.11'), false, 'the host cannot reach its macvlan container');
    ok(await cli(['detach', `pid:${c1.pid}`], NO_DOCKER), 'detach');
    await expectState(spaces, before, 'detached: as before');

    // --dry-run shows the shim and its route as ip commands, and changes nothing
    const dry = ok(await attach(c1, parent, '192.0.2.11', ['--host-shim', '--dry-run']), 'dry run');
    assert.match(
      dry.stdout,
      new RegExp(`ip link add (name )?pfshim-\\S+ link ${parent} type macvlan mode bridge`),
    );
    assert.match(dry.stdout, /ip route add 192\.0\.2\.11\/32 dev pfshim-/);
    await expectState(spaces, before, 'a dry run changes nothing');

    const first = ok(await attach(c1, parent, '192.0.2.11', ['--host-shim']), 'attach with shim');
    assert.match(first.stderr, /host shim "pfshim-\S+" is made/);
    const [shim, ...more] = await shimsOn(parent);
    assert.ok(shim, 'a host macvlan on the parent');
    assert.deepEqual(more, [], 'only one');
    assert.equal(shim.linkinfo?.info_data?.mode, 'bridge');
    assert.ok(shim.flags.includes('UP'));
    assert.ok(shim.ifname.length <= 15 && shim.ifname.startsWith('pfshim-'), shim.ifname);
    assert.match(shim.ifalias ?? '', /^pf2:k=macvlan-shim&l=/, "tagged as pipefitter's");
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11']);
    assert.equal(
      await ping('sandbox', '192.0.2.11'),
      true,
      'the host reaches the container through the shim',
    );
    assert.equal(await ping({ pid: c1.pid }, '192.0.2.1'), true, 'and the container the host');

    // a second container shares the shim
    ok(await attach(c2, parent, '192.0.2.12', ['--host-shim']), 'second attach with shim');
    assert.deepEqual(
      (await shimsOn(parent)).map((l) => l.ifname),
      [shim.ifname],
      'still one shim',
    );
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11', '192.0.2.12']);
    assert.equal(await ping('sandbox', '192.0.2.12'), true);
    assert.equal(await ping('sandbox', '192.0.2.11'), true);
    const again = ok(await attach(c2, parent, '192.0.2.12', ['--host-shim', '--json']), 'again');
    assert.equal(
      (JSON.parse(again.stdout) as { changed: boolean }).changed,
      false,
      'the same attach again changes nothing',
    );

    // a route removed by hand comes back with the same attach
    await execa('ip', ['route', 'del', '192.0.2.12/32', 'dev', shim.ifname]);
    ok(await attach(c2, parent, '192.0.2.12', ['--host-shim']), 'repair');
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11', '192.0.2.12'], 'repaired');

    // the first goes: its route goes, the shim stays for the second
    ok(await cli(['detach', `pid:${c1.pid}`], NO_DOCKER), 'detach c1');
    assert.deepEqual(
      (await shimsOn(parent)).map((l) => l.ifname),
      [shim.ifname],
    );
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.12']);
    assert.equal(await ping('sandbox', '192.0.2.12'), true);

    // the last goes: the shim and its routes go
    ok(await cli(['detach', `pid:${c2.pid}`], NO_DOCKER), 'detach c2');
    assert.deepEqual(await shimsOn(parent), [], 'the shim is gone with its last user');
    await expectState(spaces, before, 'everything as before');
  });
});

test('host shim: refused with a mode other than bridge, with DHCP, or without --macvlan; nothing touched', async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c1 } = await setup(sb);
    const before = await snapshot(['sandbox', { pid: c1.pid }]);
    const base = ['attach', `pid:${c1.pid}`, '--macvlan', parent, '--host-shim'];
    for (const extra of [['--mode', 'private', '--ip', '192.0.2.11/24'], ['--dhcp']]) {
      const r = await cli([...base, ...extra], NO_DOCKER);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--host-shim/);
    }
    const b = await cli(['attach', `pid:${c1.pid}`, '--bridge', sb.name('b'), '--host-shim'], NO_DOCKER);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /only applies to --macvlan/);
    await expectState(['sandbox', { pid: c1.pid }], before, 'nothing touched');
  });
});

/** Every step of an attach with the shim, failed before it: exit 1, and the state as before. */
const failEverywhere = async (
  run: (env: Record<string, string>) => Promise<CliResult>,
  n: number,
  spaces: Parameters<typeof snapshot>[0],
  what: string,
): Promise<void> => {
  const before = await snapshot(spaces);
  for (let k = 0; k < n; k++) {
    const r = await run({ ...NO_DOCKER, PIPEFITTER_TEST_FAULT: `fail:${k}` });
    assert.equal(r.code, 1, `${what}, fail:${k}: exit 1\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`injected fault before step ${k}`));
    await expectState(spaces, before, `${what}, fail:${k} of ${n}: as before`);
  }
};

test('host shim: a failure before any step of an attach is rolled back — a new shim, or a user added to one', async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c1, c2 } = await setup(sb);
    const spaces = ['sandbox' as const, { pid: c1.pid }, { pid: c2.pid }];
    t.after(async () => {
      for (const c of [c1, c2]) await cli(['detach', `pid:${c.pid}`], NO_DOCKER);
    });
    const steps = async (c: Container, ip: string): Promise<number> =>
      (
        JSON.parse(
          ok(await attach(c, parent, ip, ['--host-shim', '--dry-run', '--json']), 'plan').stdout,
        ) as {
          steps: unknown[];
        }
      ).steps.length;

    const n1 = await steps(c1, '192.0.2.11');
    assert.ok(n1 >= 4, `the attach making the shim has ${n1} steps`);
    await failEverywhere(
      (env) => attach(c1, parent, '192.0.2.11', ['--host-shim'], env),
      n1,
      spaces,
      'new shim',
    );
    assert.deepEqual(await shimsOn(parent), []);

    ok(await attach(c1, parent, '192.0.2.11', ['--host-shim']), 'c1');
    const n2 = await steps(c2, '192.0.2.12');
    await failEverywhere(
      (env) => attach(c2, parent, '192.0.2.12', ['--host-shim'], env),
      n2,
      spaces,
      'shared shim',
    );
    const [shim] = await shimsOn(parent);
    assert.deepEqual(await routesVia(shim!.ifname), ['192.0.2.11'], "the first user's route only");

    // a detach of the last user stopped at any step (a deletion cannot be undone: exit 3 past
    // it), then the same detach again: the shim and its routes are gone, nothing else
    const nd = (
      JSON.parse(
        ok(await cli(['detach', `pid:${c1.pid}`, '--dry-run', '--json'], NO_DOCKER), 'plan').stdout,
      ) as { steps: unknown[] }
    ).steps.length;
    ok(await cli(['detach', `pid:${c1.pid}`], NO_DOCKER), 'detach');
    const empty = await snapshot(spaces);
    for (let k = 0; k < nd; k++) {
      ok(await attach(c1, parent, '192.0.2.11', ['--host-shim']), `c1 again (${k})`);
      const attached = await snapshot(spaces);
      const r = await cli(['detach', `pid:${c1.pid}`], { ...NO_DOCKER, PIPEFITTER_TEST_FAULT: `fail:${k}` });
      assert.equal(r.code, k === 0 ? 1 : 3, `detach, fail:${k}\n${r.stderr}`);
      if (k === 0) await expectState(spaces, attached, 'detach, fail:0: as attached');
      ok(await cli(['detach', `pid:${c1.pid}`], NO_DOCKER), `detach after fail:${k}`);
      assert.deepEqual(await shimsOn(parent), [], `fail:${k}, detach again: no shim`);
      await expectState(spaces, empty, `detach, fail:${k}, detach again: nothing left`);
    }
  });
});

test('host shim from a recipe: hostShim on a macvlan network; apply, status, destroy', async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c1, c2 } = await setup(sb);
    const spaces = ['sandbox' as const, { pid: c1.pid }, { pid: c2.pid }];
    const file = await recipeFileText(
      t,
      `hs${sb.id}`,
      [
        'version: 1',
        `name: hs${sb.id}`,
        'networks:',
        `  lan: { kind: macvlan, parent: ${parent}, subnet: 192.0.2.0/24, hostShim: true }`,
        'containers:',
        `  a: { target: 'pid:${c1.pid}', interfaces: { eth1: { network: lan, address: 192.0.2.11 } } }`,
        `  b: { target: 'pid:${c2.pid}', interfaces: { eth1: { network: lan, address: 192.0.2.12 } } }`,
      ].join('\n'),
    );
    t.after(async () => void (await cli(['destroy', file], NO_DOCKER)));
    const before = await snapshot(spaces);
    ok(await cli(['apply', file], NO_DOCKER), 'apply');
    const [shim, ...more] = await shimsOn(parent);
    assert.ok(shim);
    assert.deepEqual(more, []);
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11', '192.0.2.12']);
    assert.equal(await ping('sandbox', '192.0.2.11'), true);
    assert.equal(await ping('sandbox', '192.0.2.12'), true);
    ok(await cli(['status', file], NO_DOCKER), 'in sync');
    await execa('ip', ['route', 'del', '192.0.2.11/32', 'dev', shim.ifname]);
    const drift = await cli(['status', file], NO_DOCKER);
    assert.equal(drift.code, 4, `a shim route removed by hand is drift: ${drift.stdout}`);
    ok(await cli(['apply', file], NO_DOCKER), 'repair');
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11', '192.0.2.12']);
    ok(await cli(['destroy', file], NO_DOCKER), 'destroy');
    assert.deepEqual(await shimsOn(parent), []);
    await expectState(spaces, before, 'destroy: as before');
  });
});

test('host shim: attach --replace of its only user with another address and MTU keeps the shim, routes the new address only; detach leaves all as before', async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c1 } = await setup(sb);
    const spaces = ['sandbox' as const, { pid: c1.pid }];
    t.after(async () => {
      await cli(['detach', `pid:${c1.pid}`], NO_DOCKER);
    });
    const before = await snapshot(spaces);
    ok(await attach(c1, parent, '192.0.2.11', ['--host-shim']), 'attach with shim');
    const [shim] = await shimsOn(parent);
    assert.ok(shim);
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11']);

    const r = ok(
      await attach(c1, parent, '192.0.2.21', ['--host-shim', '--replace', '--mtu', '1400']),
      'replace',
    );
    assert.deepEqual(
      (await shimsOn(parent)).map((l) => l.ifname),
      [shim.ifname],
      `the shim is still there\n${r.stderr}`,
    );
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.21'], 'the new address routed, the old one not');
    assert.equal(await ping('sandbox', '192.0.2.21'), true, 'the host reaches the container');

    ok(await cli(['detach', `pid:${c1.pid}`], NO_DOCKER), 'detach');
    assert.deepEqual(await shimsOn(parent), []);
    await expectState(spaces, before, 'as before');
  });
});

test("host shim: attach --replace of a recipe's interface, the shim's only user, keeps the shim for the replacement", async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c1 } = await setup(sb);
    const spaces = ['sandbox' as const, { pid: c1.pid }];
    const file = await recipeFileText(
      t,
      `hr${sb.id}`,
      [
        'version: 1',
        `name: hr${sb.id}`,
        'networks:',
        `  lan: { kind: macvlan, parent: ${parent}, subnet: 192.0.2.0/24, hostShim: true }`,
        'containers:',
        `  a: { target: 'pid:${c1.pid}', interfaces: { eth1: { network: lan, address: 192.0.2.11 } } }`,
      ].join('\n'),
    );
    t.after(async () => {
      await cli(['detach', `pid:${c1.pid}`], NO_DOCKER);
      await cli(['destroy', file], NO_DOCKER);
    });
    const before = await snapshot(spaces);
    ok(await cli(['apply', file], NO_DOCKER), 'apply');
    const [shim] = await shimsOn(parent);
    assert.ok(shim);
    // the recipe's interface is another attachment's: replaced (removed, made anew), not repaired
    const r = ok(
      await cli(
        ['attach', `pid:${c1.pid}`, '--macvlan', parent, '--ip', '192.0.2.21/24', '--ifname', 'eth1'].concat([
          '--host-shim',
          '--replace',
        ]),
        NO_DOCKER,
      ),
      'replace',
    );
    assert.match(r.stderr, /--replace removes the existing/);
    assert.deepEqual(
      (await shimsOn(parent)).map((l) => l.ifname),
      [shim.ifname],
      `the shim is still there\n${r.stderr}`,
    );
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.21'], 'the new address routed, the old one not');
    assert.equal(await ping('sandbox', '192.0.2.21'), true, 'the host reaches the container');
    ok(await cli(['detach', `pid:${c1.pid}`, '--ifname', 'eth1'], NO_DOCKER), 'detach');
    assert.deepEqual(await shimsOn(parent), []);
    ok(await cli(['destroy', file], NO_DOCKER), 'destroy: only the recipe record is left');
    await expectState(spaces, before, 'as before');
  });
});

test('host shim: a user whose interface is gone (its namespace made anew, as a restarted container) — its detach takes its route off the shim, the other keeps its own', async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c2 } = await setup(sb);
    const ns = await sb.netns('r');
    t.after(async () => {
      await cli(['detach', `netns:${ns}`, '--ifname', 'eth1'], NO_DOCKER);
      await cli(['detach', `pid:${c2.pid}`], NO_DOCKER);
    });
    const before = await snapshot(['sandbox', { pid: c2.pid }]);
    ok(
      await cli(
        ['attach', `netns:${ns}`, '--macvlan', parent, '--ip', '192.0.2.11/24', '--ifname', 'eth1'].concat([
          '--host-shim',
        ]),
        NO_DOCKER,
      ),
      'first',
    );
    ok(await attach(c2, parent, '192.0.2.12', ['--host-shim']), 'second');
    const [shim] = await shimsOn(parent);
    assert.ok(shim);
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11', '192.0.2.12']);

    // "restart": the namespace goes, with its interface, and a new one of the same name comes
    await execa('ip', ['netns', 'del', ns]);
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11', '192.0.2.12'], 'the route outlives it');

    const d = ok(await cli(['detach', `netns:${ns}`, '--ifname', 'eth1'], NO_DOCKER), 'detach the gone one');
    assert.deepEqual(
      await routesVia(shim.ifname),
      ['192.0.2.12'],
      `only the second's route is left\n${d.stderr}`,
    );
    assert.equal(await ping('sandbox', '192.0.2.12'), true, 'and the host still reaches it');
    const tag = (await shimsOn(parent))[0]?.ifalias ?? '';
    assert.equal(tag.split('u=')[1]?.split(/[,&]/).length, 1, `one user left: ${tag}`);

    ok(await cli(['detach', `pid:${c2.pid}`], NO_DOCKER), 'detach the second');
    assert.deepEqual(await shimsOn(parent), [], 'the shim goes with its last user');
    await expectState(['sandbox', { pid: c2.pid }], before, 'as before');
  });
});
