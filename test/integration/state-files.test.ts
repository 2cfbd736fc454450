/**
 * pipefitter's own files: one state root (PIPEFITTER_STATE_DIR alone moves all of it, DHCP state
 * included, and nothing is written elsewhere), and a corrupt state file (IPAM, recipe state)
 * makes `destroy` refuse with exit 2 before the kernel is touched — not clean the kernel and fail;
 * a corrupt parents file makes every command that reads the host refuse so, reading ones too.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { dhcpLan } from '../helpers/dnsmasq.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { runId, withSandbox } from '../helpers/sandbox.js';

/** Every path under `dir` with its mtime (empty when there is no such directory). */
const tree = async (dir: string): Promise<string[]> => {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return Promise.all(
    names.sort().map(async (n) => `${n} ${(await stat(`${dir}/${n}`).catch(() => undefined))?.mtimeMs}`),
  );
};

const DEFAULTS = ['/var/lib/pipefitter', '/run/pipefitter'];

const recipeFor = async (t: TestContext, sb: Sandbox): Promise<{ file: string; name: string }> => {
  const name = `st${sb.id}`;
  const text = `version: 1
name: ${name}
bridges:
  t${sb.id}-br: { addresses: 192.0.2.1/24 }
networks:
  lan: { bridge: t${sb.id}-br, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.109 }
containers:
  a:
    target: netns:pf-${runId}-${sb.id}-a
    create: true
    interfaces: { eth1: { network: lan, address: auto } }
`;
  const file = `/tmp/pf-${runId}-${sb.id}-state.yaml`;
  await writeFile(file, text);
  t.after(() => rm(file, { force: true }));
  return { file, name };
};

const stateDirFor = async (t: TestContext, sb: Sandbox): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${runId}-${sb.id}-root-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

test('PIPEFITTER_STATE_DIR alone: recipe, IPAM and DHCP state all under it, nothing in the default places', (t) =>
  withSandbox(t, async (sb) => {
    const dir = await stateDirFor(t, sb);
    // PIPEFITTER_RUN_DIR empty is unset: the DHCP state must follow PIPEFITTER_STATE_DIR
    const env = { PIPEFITTER_STATE_DIR: dir, PIPEFITTER_RUN_DIR: '' };
    const defaultsBefore = await Promise.all(DEFAULTS.map(tree));
    const { file, name } = await recipeFor(t, sb);
    const applied = await cli(['apply', file], env);
    assert.equal(applied.code, 0, applied.stderr);
    assert.ok(existsSync(`${dir}/recipes/${name}.json`));
    const ipam = JSON.parse(await readFile(`${dir}/ipam/allocations.json`, 'utf8')) as {
      allocations: { key: string }[];
    };
    assert.deepEqual(
      ipam.allocations.map((a) => a.key),
      [`${name}/a/eth1`],
    );
    // a DHCP client's state
    const { br } = await dhcpLan(sb);
    const c = await sb.container();
    const r = await cli(['attach', `pid:${c.pid}`, '--bridge', br, '--dhcp', 'udhcpc'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (await readdir(`${dir}/run/dhcp`)).length,
      1,
      'the DHCP state is under $PIPEFITTER_STATE_DIR/run',
    );
    assert.equal((await cli(['detach', `pid:${c.pid}`], env)).code, 0);
    assert.deepEqual(await readdir(`${dir}/run/dhcp`).catch(() => []), [], 'detach removed it');
    assert.equal((await cli(['destroy', file], env)).code, 0);
    assert.deepEqual(
      await Promise.all(DEFAULTS.map(tree)),
      defaultsBefore,
      'nothing written in the default places',
    );
    // nothing but state files (and no temporary file) in the root
    const left = (await readdir(dir, { recursive: true })).filter((n) => n.endsWith('.tmp'));
    assert.deepEqual(left, []);
  }));

test('a corrupt IPAM file or recipe state: destroy refuses (exit 2, the file and the fix named) and touches nothing', (t) =>
  withSandbox(t, async (sb) => {
    const dir = await stateDirFor(t, sb);
    const env = { PIPEFITTER_STATE_DIR: dir };
    const { file, name } = await recipeFor(t, sb);
    const before = await snapshot(['sandbox']);
    assert.equal((await cli(['apply', file], env)).code, 0);
    const applied = await snapshot(['sandbox']);

    const ipamFile = `${dir}/ipam/allocations.json`;
    const ipamText = await readFile(ipamFile, 'utf8');
    await writeFile(ipamFile, '{"version": 1, "allocations": [');
    const d1 = await cli(['destroy', file], env);
    assert.equal(d1.code, 2, d1.stderr);
    assert.match(d1.stderr, new RegExp(`${ipamFile}: not a valid IPAM store`));
    assert.ok(d1.stderr.includes(`mv ${ipamFile} ${ipamFile}.bad`), d1.stderr);
    await expectState(['sandbox'], applied, 'the kernel is untouched');
    await writeFile(ipamFile, ipamText);

    const stateFile = `${dir}/recipes/${name}.json`;
    const stateText = await readFile(stateFile, 'utf8');
    const s = JSON.parse(stateText) as Record<string, unknown>;
    await writeFile(stateFile, JSON.stringify({ ...s, createdNamespaces: 'a', targets: [{ id: 1 }] }));
    const d2 = await cli(['destroy', file], env);
    assert.equal(d2.code, 2, d2.stderr);
    assert.match(d2.stderr, new RegExp(`${stateFile}: not a valid recipe state: `));
    assert.doesNotMatch(d2.stderr, /TypeError|internal error/);
    await expectState(['sandbox'], applied, 'the kernel is untouched');
    await writeFile(stateFile, stateText);

    // repaired: destroy removes it all
    assert.equal((await cli(['destroy', file], env)).code, 0);
    await expectState(['sandbox'], before, 'destroyed');
    assert.equal((await execa('ip', ['netns', 'list'])).stdout.includes(`pf-${runId}-${sb.id}-a`), false);
  }));

test('a corrupt parents file: attach, detach, show, plan and status refuse (exit 2, the file and the fix named), nothing touched', (t) =>
  withSandbox(t, async (sb) => {
    const dir = await stateDirFor(t, sb);
    const env = { PIPEFITTER_STATE_DIR: dir };
    const nic = await sb.hostNic('p');
    const c = await sb.container();
    const spaces = ['sandbox' as const, { pid: c.pid }];
    const attachArgs = ['attach', `pid:${c.pid}`, '--macvlan', nic, '--ip', '198.51.100.7/24'];
    assert.equal((await cli(attachArgs, env)).code, 0);
    const attached = await snapshot(spaces);
    const { file } = await recipeFor(t, sb);

    const parents = `${dir}/parents`;
    const record = `${parents}/x.json`;
    await mkdir(parents, { recursive: true });
    for (const [body, why] of [
      ['{"version": 1, "parent":', 'not a valid record of a host interface pipefitter brought up: '],
      [JSON.stringify({ version: 1, parent: 'x', ifindex: 3, users: 'pid:1/eth1' }), 'users must be a list'],
    ] as const) {
      await writeFile(record, body);
      for (const args of [
        attachArgs,
        ['attach', `pid:${c.pid}`, '--macvlan', nic, '--ip', '198.51.100.8/24', '--ifname', 'eth2'],
        ['detach', `pid:${c.pid}`],
        ['show', `pid:${c.pid}`],
        ['plan', file],
        ['status', file],
      ]) {
        const r = await cli(args, env);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(r.stderr.includes(`pipefitter: ${record}: `), `${args.join(' ')}: ${r.stderr}`);
        assert.ok(r.stderr.includes(why), r.stderr);
        assert.ok(r.stderr.includes(`mv ${record} ${record}.bad`), r.stderr);
        assert.doesNotMatch(r.stderr, /internal error|TypeError/);
      }
      await expectState(spaces, attached, 'the kernel is untouched');
      assert.equal(await readFile(record, 'utf8'), body, 'the file is left as it was');
    }
    // repaired (moved away, as the hint says): detach works again
    await rm(record);
    assert.equal((await cli(['detach', `pid:${c.pid}`], env)).code, 0);
  }));
