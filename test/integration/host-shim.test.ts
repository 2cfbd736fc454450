/**
 * The host-to-macvlan shim (pipework #4, #130): by a kernel rule a host cannot reach its own
 * macvlan containers through their parent. `attach … --macvlan P --host-shim` (and a recipe's
 * `hostShim: true`) makes a macvlan of the host on P (mode bridge) with a route to each container
 * address; shared by the containers on P, removed with the last. The "host" is the sandbox
 * namespace the CLI runs in; the parent is a veth there, with the host's address on it, as a
 * host's LAN NIC has. The machine's own namespace is never touched.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import type { CliResult } from '../helpers/cli.js';
import { cli } from '../helpers/cli.js';
import type { Ns } from '../helpers/read-back.js';
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
 * A parent NIC with the host's address on it, and two containers (both detached after the test);
 * `spaces` the sandbox and the containers, `before` their state. Made before the parent, as
 * Docker's docker0 is on a real host: another interface with an address the containers have no
 * route to, which the kernel would choose as the source of what goes through the shim (it has
 * none).
 */
const setup = async (t: TestContext, sb: Sandbox) => {
  const decoy = await sb.hostNic('d');
  await execa('ip', ['addr', 'add', '203.0.113.77/24', 'dev', decoy]);
  const parent = await sb.hostNic('m');
  await execa('ip', ['addr', 'add', '192.0.2.1/24', 'dev', parent]);
  const [c1, c2] = [await sb.container(), await sb.container()];
  t.after(async () => {
    for (const c of [c1, c2]) await cli(['detach', `pid:${c.pid}`], NO_DOCKER);
  });
  const spaces: Ns[] = ['sandbox', { pid: c1.pid }, { pid: c2.pid }];
  return { parent, c1, c2, spaces, before: await snapshot(spaces) };
};

/** `attach TARGET --macvlan PARENT --ip IP/24 EXTRA…`; TARGET a container (pid:) or a target spec. */
const attach = (
  c: Container | string,
  parent: string,
  ip: string,
  extra: string[] = [],
  env: Record<string, string> = NO_DOCKER,
) =>
  cli(
    ['attach', typeof c === 'string' ? c : `pid:${c.pid}`, '--macvlan', parent, '--ip', `${ip}/24`, ...extra],
    env,
  );

/** The shim on `parent`: there, and only one. */
const onlyShim = async (parent: string, why = ''): Promise<RawLink> => {
  const [shim, ...more] = await shimsOn(parent);
  assert.ok(shim, `a host macvlan on the parent\n${why}`);
  assert.deepEqual(more, [], `only one\n${why}`);
  return shim;
};

/** A recipe NAME with the macvlan network lan on `parent`, hostShim on, and a container per member. */
const shimRecipe = (t: TestContext, name: string, parent: string, members: [string, Container, string][]) =>
  recipeFileText(
    t,
    name,
    [
      'version: 1',
      `name: ${name}`,
      'networks:',
      `  lan: { kind: macvlan, parent: ${parent}, subnet: 192.0.2.0/24, hostShim: true }`,
      'containers:',
      ...members.map(
        ([n, c, ip]) =>
          `  ${n}: { target: 'pid:${c.pid}', interfaces: { eth1: { network: lan, address: ${ip} } } }`,
      ),
    ].join('\n'),
  );

/**
 * After an attach --replace (result `r`) of the shim's only user (c1, now at 192.0.2.21): the same
 * shim, routing the new address only, and the host reaches it; detached, the shim goes.
 */
const expectReplaced = async (r: CliResult, parent: string, shim: RawLink, c1: Container) => {
  assert.equal(
    (await onlyShim(parent, r.stderr)).ifname,
    shim.ifname,
    `the shim is still there\n${r.stderr}`,
  );
  assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.21'], 'the new address routed, the old one not');
  assert.equal(await ping('sandbox', '192.0.2.21'), true, 'the host reaches the container');
  ok(await cli(['detach', `pid:${c1.pid}`, '--ifname', 'eth1'], NO_DOCKER), 'detach');
  assert.deepEqual(await shimsOn(parent), []);
};

test('host shim: without it the host cannot reach its macvlan container, with it it can; two containers share one; it goes with the last', async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c1, c2, spaces, before } = await setup(t, sb);

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
    const shim = await onlyShim(parent);
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
    assert.equal((await onlyShim(parent)).ifname, shim.ifname, 'still one shim');
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
    assert.equal((await onlyShim(parent)).ifname, shim.ifname);
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
    const { parent, c1, spaces, before } = await setup(t, sb);
    const base = ['attach', `pid:${c1.pid}`, '--macvlan', parent, '--host-shim'];
    for (const extra of [['--mode', 'private', '--ip', '192.0.2.11/24'], ['--dhcp']]) {
      const r = await cli([...base, ...extra], NO_DOCKER);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--host-shim/);
    }
    const b = await cli(['attach', `pid:${c1.pid}`, '--bridge', sb.name('b'), '--host-shim'], NO_DOCKER);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /only applies to --macvlan/);
    await expectState(spaces, before, 'nothing touched');
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
    const { parent, c1, c2, spaces } = await setup(t, sb);
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
    assert.deepEqual(
      await routesVia((await onlyShim(parent)).ifname),
      ['192.0.2.11'],
      "the first user's route only",
    );

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
    const { parent, c1, c2, spaces, before } = await setup(t, sb);
    const file = await shimRecipe(t, `hs${sb.id}`, parent, [
      ['a', c1, '192.0.2.11'],
      ['b', c2, '192.0.2.12'],
    ]);
    t.after(async () => void (await cli(['destroy', file], NO_DOCKER)));
    ok(await cli(['apply', file], NO_DOCKER), 'apply');
    const shim = await onlyShim(parent);
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
    const { parent, c1, spaces, before } = await setup(t, sb);
    ok(await attach(c1, parent, '192.0.2.11', ['--host-shim']), 'attach with shim');
    const shim = await onlyShim(parent);
    assert.deepEqual(await routesVia(shim.ifname), ['192.0.2.11']);

    const r = ok(
      await attach(c1, parent, '192.0.2.21', ['--host-shim', '--replace', '--mtu', '1400']),
      'replace',
    );
    await expectReplaced(r, parent, shim, c1);
    await expectState(spaces, before, 'as before');
  });
});

test("host shim: attach --replace of a recipe's interface, the shim's only user, keeps the shim for the replacement", async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c1, spaces, before } = await setup(t, sb);
    const file = await shimRecipe(t, `hr${sb.id}`, parent, [['a', c1, '192.0.2.11']]);
    t.after(async () => void (await cli(['destroy', file], NO_DOCKER)));
    ok(await cli(['apply', file], NO_DOCKER), 'apply');
    const shim = await onlyShim(parent);
    // the recipe's interface is another attachment's: replaced (removed, made anew), not repaired
    const r = ok(
      await attach(c1, parent, '192.0.2.21', ['--ifname', 'eth1', '--host-shim', '--replace']),
      'replace',
    );
    assert.match(r.stderr, /--replace removes the existing/);
    await expectReplaced(r, parent, shim, c1);
    ok(await cli(['destroy', file], NO_DOCKER), 'destroy: only the recipe record is left');
    await expectState(spaces, before, 'as before');
  });
});

test('host shim: a user whose interface is gone (its namespace made anew, as a restarted container) — its detach takes its route off the shim, the other keeps its own', async (t) => {
  await withSandbox(t, async (sb) => {
    const { parent, c2, spaces } = await setup(t, sb);
    const ns = await sb.netns('r');
    t.after(async () => void (await cli(['detach', `netns:${ns}`, '--ifname', 'eth1'], NO_DOCKER)));
    // the namespace made after setup's snapshot: the state before is taken with it
    const before = await snapshot(spaces);
    ok(await attach(`netns:${ns}`, parent, '192.0.2.11', ['--ifname', 'eth1', '--host-shim']), 'first');
    ok(await attach(c2, parent, '192.0.2.12', ['--host-shim']), 'second');
    const shim = await onlyShim(parent);
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
    await expectState(spaces, before, 'as before');
  });
});
