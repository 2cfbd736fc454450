/**
 * `ipam release` never gives back an address that is still in use (its recipe is applied and
 * declares the interface, or the address sits on an interface the recipe made) unless --force;
 * an unknown key is an error; after destroy there is nothing left to release.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { apply, destroy, plan as recipePlan } from '../../src/api/recipe.js';
import { isPipefitterError } from '../../src/errors.js';
import { parseCidr } from '../../src/addr.js';
import { parsePool } from '../../src/ipam/pool.js';
import { openFileStore } from '../../src/ipam/store.js';
import { cli } from '../helpers/cli.js';
import { ipJson, readState } from '../helpers/read-back.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { runId, withSandbox } from '../helpers/sandbox.js';

interface Alloc {
  key: string;
  address: string;
}

const ls = async (): Promise<Alloc[]> => {
  const r = await cli(['ipam', 'ls', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { allocations: Alloc[] }).allocations;
};

/** The IPv4 addresses on eth1 inside a named namespace, read back from the kernel. */
const eth1Addrs = async (ns: string): Promise<string[]> =>
  (
    (await ipJson({ netns: ns }, ['addr', 'show', 'dev', 'eth1'])) as {
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[]
  ).flatMap((l) => l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));

test('ipam release: refused while the recipe uses the address, --force releases, unknown key exit 2, nothing left after destroy', (t) =>
  withSandbox(t, async (sb) => {
    const name = `ipr${sb.id}`;
    const file = `/tmp/pf-${runId}-${sb.id}-ipam.yaml`;
    const moved = `${file}.moved`;
    const recipe = [
      'version: 1',
      `name: ${name}`,
      'vars: { ns: lab, br: br }',
      'networks:',
      "  lan: { bridge: '${br}', subnet: 192.0.2.0/24, gateway: 192.0.2.1, pool: 192.0.2.100-192.0.2.199 }",
      'containers:',
      "  web: { target: 'netns:${ns}-web', create: true, interfaces: { eth1: { network: lan, address: auto } } }",
    ];
    await writeFile(file, recipe.join('\n') + '\n');
    t.after(() => Promise.all([rm(file, { force: true }), rm(moved, { force: true })]));
    const set = ['--set', `ns=${sb.nsName('r')}`, '--set', `br=b${sb.id}`];
    const web = `${sb.nsName('r')}-web`;
    const key = `${name}/web/eth1`;

    const applied = await cli(['apply', file, ...set]);
    assert.equal(applied.code, 0, applied.stderr);
    const mine = (await ls()).find((a) => a.key === key);
    assert.ok(mine, 'apply allocated the auto address');
    assert.deepEqual(await eth1Addrs(web), [mine.address]);

    // in use: refused, with who holds it and the fix; the allocation and the address stay
    const refused = await cli(['ipam', 'release', key]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `^pipefitter: ipam release "${key}": ${mine.address.replace(/\./g, '\\.')} is in use: recipe "${name}" is applied and still declares container web, interface eth1; nothing was released`,
      ),
    );
    assert.match(
      refused.stderr,
      new RegExp(`hint: .*\`pipefitter destroy ${file} --set ns=\\S+ --set br=\\S+\``),
    );
    assert.match(refused.stderr, /--force/);
    const refusedJson = await cli(['ipam', 'release', key, '--json']);
    assert.equal(refusedJson.code, 2);
    assert.equal((JSON.parse(refusedJson.stdout) as { error: { code: string } }).error.code, 'E_CONFLICT');
    const whole = await cli(['ipam', 'release', '--recipe', name]);
    assert.equal(whole.code, 2, whole.stderr);
    assert.match(whole.stderr, new RegExp(`ipam release --recipe "${name}": .*is in use`));
    // the recipe file gone: the kernel still shows the address on what the recipe made
    await rename(file, moved);
    const gone = await cli(['ipam', 'release', key]);
    assert.equal(gone.code, 2, gone.stderr);
    assert.match(
      gone.stderr,
      new RegExp(`is in use: it is on eth1 in netns:${web}, which recipe "${name}" made`),
    );
    await rename(moved, file);
    assert.ok(
      (await ls()).some((a) => a.key === key && a.address === mine.address),
      'still allocated',
    );
    assert.deepEqual(await eth1Addrs(web), [mine.address]);

    // an unknown key: exit 2, the fix; nothing released
    const before = await ls();
    const unknown = await cli(['ipam', 'release', 'no/such']);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /^pipefitter: ipam release: no allocation "no\/such"\n {2}hint: .*`pipefitter ipam ls`/,
    );
    const unknownJson = await cli(['ipam', 'release', 'no/such', '--force', '--json']);
    assert.equal(unknownJson.code, 2);
    assert.equal((JSON.parse(unknownJson.stdout) as { error: { code: string } }).error.code, 'E_BAD_VALUE');
    assert.deepEqual(await ls(), before);

    // --force releases it; the next apply allocates again
    const forced = await cli(['ipam', 'release', key, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, new RegExp(`^released ${mine.address.replace(/\./g, '\\.')} \\(${key}\\)`));
    assert.match(forced.stderr, /note: .* was in use/);
    assert.ok(!(await ls()).some((a) => a.key === key));
    assert.equal((await cli(['apply', file, ...set])).code, 0);
    const again = (await ls()).find((a) => a.key === key);
    assert.ok(again);
    assert.deepEqual(await eth1Addrs(web), [again.address]);

    // destroy gives it back: nothing left to release
    assert.equal((await cli(['destroy', file, ...set])).code, 0);
    assert.ok(!(await ls()).some((a) => a.key.startsWith(`${name}/`)));
    const afterKey = await cli(['ipam', 'release', key]);
    assert.equal(afterKey.code, 2);
    assert.match(afterKey.stderr, /no allocation/);
    const afterRecipe = await cli(['ipam', 'release', '--recipe', name]);
    assert.equal(afterRecipe.code, 0, afterRecipe.stderr);
    assert.match(afterRecipe.stdout, new RegExp(`nothing to release: recipe "${name}" has no allocations`));
  }));

test('ipam release: an allocation whose recipe is not applied is released at once', (t) =>
  withSandbox(t, async (sb) => {
    const key = `gone${sb.id}/web/eth1`;
    const subnet = parseCidr('198.51.100.0/24', 'subnet');
    const a = await openFileStore().allocate(
      `gone${sb.id}/lan`,
      parsePool('198.51.100.10-198.51.100.20', 'pool', subnet),
      key,
    );
    const r = await cli(['ipam', 'release', key]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `released ${a.address} (${key})`);
    assert.ok(!(await ls()).some((x) => x.key === key));
  }));

/** The allocations in a store's file on disk, as [key, address] (what a release must change). */
const onDisk = async (ipamDir: string): Promise<[string, string][]> =>
  (
    JSON.parse(await readFile(`${ipamDir}/allocations.json`, 'utf8')) as {
      allocations: Alloc[];
    }
  ).allocations.map((a) => [a.key, a.address]);

/** A one-container recipe (netns it makes, eth1 with an auto address from .100-.199), and its --set. */
const recipeFile = async (
  t: { after: (fn: () => Promise<unknown>) => void },
  sb: Sandbox,
  name: string,
  containers: string[],
): Promise<{ file: string; set: Record<string, string> }> => {
  const file = `/tmp/${sb.nsName(name)}.yaml`;
  await writeFile(
    file,
    [
      'version: 1',
      `name: ${name}`,
      'vars: { ns: lab, br: br }',
      'networks:',
      "  lan: { bridge: '${br}', subnet: 192.0.2.0/24, gateway: 192.0.2.1, pool: 192.0.2.100-192.0.2.199 }",
      'containers:',
      ...containers.map(
        (c) =>
          `  ${c}: { target: 'netns:\${ns}-${c}', create: true, interfaces: { eth1: { network: lan, address: auto } } }`,
      ),
    ].join('\n') + '\n',
  );
  t.after(() => rm(file, { force: true }));
  return { file, set: { ns: sb.nsName('r'), br: `b${sb.id}` } };
};

test('ipam gc releases the allocations of recipes that are gone, and only those; a released address is handed out again', (t) =>
  withSandbox(t, async (sb) => {
    // a state directory of this test's own: gc looks at every recipe of its store
    const stateDir = await mkdtemp(`/tmp/${sb.nsName('gc')}-`);
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const env = { PIPEFITTER_STATE_DIR: stateDir };
    const name = `gc${sb.id}`;
    const { file, set } = await recipeFile(t, sb, name, ['web']);
    const setArgs = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const applied = await cli(['apply', file, ...setArgs], env);
    assert.equal(applied.code, 0, applied.stderr);
    const ipamDir = `${stateDir}/ipam`;
    assert.deepEqual(await onDisk(ipamDir), [[`${name}/web/eth1`, '192.0.2.100/24']]);

    // two allocations of a recipe that is gone (no state: destroyed without its store, or a crash)
    const store = openFileStore(ipamDir);
    const pool = parsePool('192.0.2.100-192.0.2.199', 'pool', parseCidr('192.0.2.0/24', 'subnet'));
    for (const c of ['a', 'b']) await store.allocate(`gone${sb.id}/lan`, pool, `gone${sb.id}/${c}/eth1`);
    const gc = await cli(['ipam', 'gc'], env);
    assert.equal(gc.code, 0, gc.stderr);
    assert.equal(
      gc.stdout,
      `released 192.0.2.101/24 (gone${sb.id}/a/eth1)\nreleased 192.0.2.102/24 (gone${sb.id}/b/eth1)`,
    );
    assert.deepEqual(await onDisk(ipamDir), [[`${name}/web/eth1`, '192.0.2.100/24']], 'the live one stays');
    assert.deepEqual(await eth1Addrs(`${set.ns}-web`), ['192.0.2.100/24'], 'and on its interface');
    // released means free: the next allocation of the pool gets the lowest of them
    assert.equal(
      (await store.allocate(`new${sb.id}/lan`, pool, `new${sb.id}/x/eth1`)).address,
      '192.0.2.101/24',
    );
    // one by one too: release gives it back, and the next allocation takes it
    const r = await cli(['ipam', 'release', `new${sb.id}/x/eth1`], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await onDisk(ipamDir), [[`${name}/web/eth1`, '192.0.2.100/24']]);
    assert.equal(
      (await store.allocate(`new${sb.id}/lan`, pool, `new${sb.id}/y/eth1`)).address,
      '192.0.2.101/24',
    );
    assert.equal((await cli(['ipam', 'gc'], env)).stdout, `released 192.0.2.101/24 (new${sb.id}/y/eth1)`);
    assert.equal((await cli(['ipam', 'gc'], env)).stdout, 'nothing to collect');
    assert.equal((await cli(['destroy', file, ...setArgs], env)).code, 0);
    assert.deepEqual(await onDisk(ipamDir), []);
  }));

test('a failed apply gives back the addresses it allocated, and keeps those it had', (t) =>
  withSandbox(t, async (sb) => {
    const ipamDir = await mkdtemp(`/tmp/${sb.nsName('fresh')}-`);
    t.after(() => rm(ipamDir, { recursive: true, force: true }));
    const ipam = openFileStore(ipamDir);
    const name = `fr${sb.id}`;
    const one = await recipeFile(t, sb, name, ['web']);
    assert.equal((await apply(one.file, { set: one.set, ipam })).applied, true);
    const had = await onDisk(ipamDir);
    assert.deepEqual(had, [[`${name}/web/eth1`, '192.0.2.100/24']]);

    // the recipe grows by db; its apply fails at its last step and is rolled back
    const two = await recipeFile(t, sb, name, ['web', 'db']);
    const host = await readState('sandbox');
    const plan = await recipePlan(two.file, { set: two.set, ipam });
    const last = plan.plan.steps.length - 1;
    assert.ok(last > 0);
    await assert.rejects(
      apply(two.file, {
        set: two.set,
        ipam,
        hooks: {
          beforeStep: (_s, i) => {
            if (i === last) throw new Error('injected');
          },
        },
      }),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_STEP_FAILED' && /injected/.test(e.message),
    );
    assert.deepEqual(await onDisk(ipamDir), had, "db's fresh address is given back, web keeps its own");
    assert.deepEqual(await readState('sandbox'), host, 'rolled back');
    assert.deepEqual(await eth1Addrs(`${two.set.ns}-web`), ['192.0.2.100/24']);
    assert.ok(!(await execa('ip', ['netns', 'list'])).stdout.includes(`${two.set.ns}-db`), 'no db namespace');

    await destroy(one.file, { set: one.set, ipam });
    assert.deepEqual(await onDisk(ipamDir), []);
  }));
