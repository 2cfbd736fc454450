/**
 * Issue 13: two containers given one address on one bridge by two separate runs. The second
 * `attach` is refused (exit 2) naming the address, the other attachment and the fix, and the
 * kernel is as before; `--allow-duplicate-address` lets it through. The bridge's own address
 * counts too; the same attach again does not trip on itself, nor a recipe on its own
 * containers. Read back from the kernel, under both backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { ipJson, link, readState } from '../helpers/read-back.js';
import { recipeFile } from '../helpers/recipe-file.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';

const ok = (r: CliResult, what: string): void =>
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout.slice(0, 500)}`);

/** Global addresses on eth1 of a container, as the kernel has them. */
const eth1Addrs = async (pid: number): Promise<string[]> =>
  link(await readState({ pid }), 'eth1')?.addrs.filter((a) => !a.startsWith('fe80')) ?? [];

/** The alias of a host link, as the kernel has it. */
const aliasOf = async (name: string): Promise<string | undefined> =>
  ((await ipJson('sandbox', ['-d', 'link', 'show', 'dev', name])) as { ifalias?: string }[])[0]?.ifalias;

test('a second attach of one address to one bridge: exit 2 naming both and the fix, nothing changed', (t) =>
  withSandbox(t, async (sb) => {
    const br = sb.name('dup');
    const [a, b] = await Promise.all([sb.container(), sb.container()]);
    const spaces = ['sandbox' as const, { pid: a.pid }, { pid: b.pid }];
    const attachA = ['attach', `pid:${a.pid}`, '--bridge', br, '--ip', '198.51.100.10/24'];
    ok(await cli([...attachA, '--bridge-ip', '198.51.100.1/24']), 'first attach');
    // the host end records the address given to the container's end
    assert.match((await aliasOf(`veth1pl${a.pid}`)) ?? '', /&a=198\.51\.100\.10\/24(&|$)/);
    const applied = await snapshot(spaces);

    const second = await cli(['attach', `pid:${b.pid}`, '--bridge', br, '--ip', '198.51.100.10/24']);
    assert.equal(second.code, 2, second.stderr);
    assert.ok(
      second.stderr.includes(
        `pipefitter: --ip "198.51.100.10/24": 198.51.100.10 is already used on bridge "${br}" by pid:${a.pid} eth1 (host side "veth1pl${a.pid}")`,
      ),
      second.stderr,
    );
    assert.ok(
      second.stderr.includes(
        `hint: give pid:${b.pid} another address, or detach the other first (pipefitter detach pid:${a.pid} --ifname eth1); --allow-duplicate-address accepts it anyway`,
      ),
      second.stderr,
    );
    await expectState(spaces, applied, 'the refused attach changed nothing');

    // the bridge's own address (the host's) is taken as much
    const own = await cli(['attach', `pid:${b.pid}`, '--bridge', br, '--ip', '198.51.100.1/24', '--json']);
    assert.equal(own.code, 2, own.stderr);
    const err = (JSON.parse(own.stdout) as { error: { code: string; message: string; field: string } }).error;
    assert.equal(err.code, 'E_CONFLICT');
    assert.equal(err.field, '--ip');
    assert.match(err.message, new RegExp(`by bridge "${br}" itself \\(the host's address\\)`));
    await expectState(spaces, applied, 'the refused attach changed nothing');

    // the same attach again: not a conflict with itself, and nothing to do
    ok(await cli([...attachA, '--bridge-ip', '198.51.100.1/24']), 'the same attach again');
    await expectState(spaces, applied, 'the same attach again changed nothing');

    // another address is free; and the flag accepts the duplicate, saying so
    const forced = await cli([
      'attach',
      `pid:${b.pid}`,
      '--bridge',
      br,
      '--ip',
      '198.51.100.10/24',
      '--allow-duplicate-address',
      '--json',
    ]);
    ok(forced, 'attach with --allow-duplicate-address');
    assert.ok(
      (JSON.parse(forced.stdout) as { notes: string[] }).notes.some((n) =>
        n.includes(`198.51.100.10 is also used on bridge "${br}" by pid:${a.pid} eth1`),
      ),
      forced.stdout,
    );
    assert.deepEqual(await eth1Addrs(b.pid), ['198.51.100.10/24']);
    assert.deepEqual(await eth1Addrs(a.pid), ['198.51.100.10/24']);

    ok(await cli(['detach', `pid:${b.pid}`]), 'detach b');
    // b gone, its address is free again
    ok(
      await cli(['attach', `pid:${b.pid}`, '--bridge', br, '--ip', '198.51.100.11/24']),
      'b, another address',
    );
    // changing b's address in place to a's is refused too, and leaves b as it was
    const beforeChange = await snapshot(spaces);
    const change = await cli(['attach', `pid:${b.pid}`, '--bridge', br, '--ip', '198.51.100.10/24']);
    assert.equal(change.code, 2, change.stderr);
    await expectState(spaces, beforeChange, 'the refused change changed nothing');
    ok(await cli(['detach', `pid:${b.pid}`]), 'detach b');
    ok(await cli(['detach', `pid:${a.pid}`]), 'detach a');
  }));

test("a recipe's containers do not trip on each other (even swapping addresses); an attach trips on them", (t) =>
  withSandbox(t, async (sb) => {
    const br = sb.name('dr');
    const [a, b, c] = await Promise.all([sb.container(), sb.container(), sb.container()]);
    const name = `dup${sb.id}`;
    const write = (x: string, y: string): Promise<string> =>
      recipeFile(
        t,
        name,
        [`  lan: { bridge: ${br}, subnet: 198.51.100.0/24 }`],
        [
          `  a: { target: 'pid:${a.pid}', interfaces: { eth1: { network: lan, address: ${x} } } }`,
          `  b: { target: 'pid:${b.pid}', interfaces: { eth1: { network: lan, address: ${y} } } }`,
        ],
      );
    const file = await write('198.51.100.10', '198.51.100.11');
    ok(await cli(['apply', file]), 'apply');
    const swapped = await write('198.51.100.11', '198.51.100.10');
    ok(await cli(['apply', swapped]), 'apply with the addresses swapped');
    assert.deepEqual(await eth1Addrs(a.pid), ['198.51.100.11/24']);
    assert.deepEqual(await eth1Addrs(b.pid), ['198.51.100.10/24']);

    const spaces = ['sandbox' as const, { pid: a.pid }, { pid: b.pid }, { pid: c.pid }];
    const applied = await snapshot(spaces);
    const r = await cli(['attach', `pid:${c.pid}`, '--bridge', br, '--ip', '198.51.100.10/24']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`by pid:${b.pid} eth1 of recipe "${name}"`), r.stderr);
    assert.ok(r.stderr.includes(`change it in recipe "${name}"`), r.stderr);
    await expectState(spaces, applied, 'the refused attach changed nothing');
    ok(await cli(['destroy', swapped]), 'destroy');
  }));
