/**
 * Concurrent runs on one host (issue 13, defects 1 and 5): 20 attaches onto a bridge that does
 * not exist yet, then 20 detaches of its ports; two identical applies of a recipe with pool
 * addresses; an apply racing a destroy; ten recipes drawing from one pool at once; a detach of a
 * bridge's last port racing an attach onto it. Every run succeeds (the host lock serialises them, and
 * each then sees what the one before made), no address is given twice, and what is left is
 * exactly what the last run asked for — read back from the kernel and the IPAM file. Rounds:
 * PF_RACE_ROUNDS (default 2; the README gives the count of the last long run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { ipJson, link, readState } from '../helpers/read-back.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { withSandbox } from '../helpers/sandbox.js';
import { recipeFile } from '../helpers/recipe-file.js';

const ROUNDS = Number(process.env.PF_RACE_ROUNDS ?? 2);
const stateDir = process.env.PIPEFITTER_STATE_DIR ?? '';

const ok = (r: CliResult, what: string): void =>
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout.slice(0, 500)}`);

const bridgePorts = async (br: string): Promise<string[]> =>
  ((await ipJson('sandbox', ['link', 'show', 'master', br])) as { ifname: string }[]).map((l) => l.ifname);

const linkExists = async (name: string): Promise<boolean> =>
  ((await ipJson('sandbox', ['link', 'show'])) as { ifname: string }[]).some((l) => l.ifname === name);

/** Global IPv4 addresses on eth1 of a container. */
const eth1Addrs = async (pid: number): Promise<string[]> =>
  link(await readState({ pid }), 'eth1')?.addrs.filter((a) => !a.startsWith('fe80')) ?? [];

test('20 attaches onto one bridge that does not exist yet all succeed; 20 detaches leave nothing', async (t) => {
  await withSandbox(t, async (sb: Sandbox) => {
    const br = sb.name('rb');
    const cs = await Promise.all(Array.from({ length: 20 }, () => sb.container()));
    for (let round = 1; round <= ROUNDS; round++) {
      const attached = await Promise.all(
        cs.map((c, i) =>
          cli(['attach', `pid:${c.pid}`, '--bridge', br, '--ip', `198.51.100.${10 + i}/24`, '--json']),
        ),
      );
      attached.forEach((r, i) => ok(r, `round ${round}: attach ${i}`));
      assert.equal((await bridgePorts(br)).length, 20, `round ${round}: 20 ports on ${br}`);
      for (const [i, c] of cs.entries())
        assert.deepEqual(
          await eth1Addrs(c.pid),
          [`198.51.100.${10 + i}/24`],
          `round ${round}: container ${i}`,
        );
      const detached = await Promise.all(cs.map((c) => cli(['detach', `pid:${c.pid}`, '--json'])));
      detached.forEach((r, i) => ok(r, `round ${round}: detach ${i}`));
      // the last port gone, the bridge pipefitter made goes too: decided under the lock
      assert.equal(await linkExists(br), false, `round ${round}: ${br} removed with its last port`);
      for (const c of cs) assert.equal(link(await readState({ pid: c.pid }), 'eth1'), undefined);
    }
  });
});

test('two identical applies at once, and an apply racing a destroy: no address twice, nothing lost', async (t) => {
  await withSandbox(t, async (sb: Sandbox) => {
    const cs = await Promise.all(Array.from({ length: 4 }, () => sb.container()));
    const name = `race${sb.id}`;
    const br = sb.name('rr');
    const file = await recipeFile(
      t,
      name,
      [
        `  lan: { bridge: ${br}, subnet: 203.0.113.0/24, gateway: 203.0.113.1, pool: 203.0.113.100-203.0.113.199 }`,
      ],
      cs.map(
        (c, i) =>
          `  c${i}: { target: 'pid:${c.pid}', interfaces: { eth1: { network: lan, address: auto } } }`,
      ),
    );
    const allocations = async (): Promise<Map<string, string>> => {
      const text = await readFile(join(stateDir, 'ipam', 'allocations.json'), 'utf8').catch(() => '{}');
      const all =
        (JSON.parse(text) as { allocations?: { key: string; address: string }[] }).allocations ?? [];
      return new Map(all.filter((a) => a.key.startsWith(`${name}/`)).map((a) => [a.key, a.address]));
    };
    /** Applied: every container has its pool address, all distinct, each one the IPAM file's. */
    const expectApplied = async (what: string): Promise<void> => {
      const held = await allocations();
      assert.equal(held.size, 4, `${what}: 4 allocations kept: ${[...held].join(', ')}`);
      const seen = new Set<string>();
      for (const [i, c] of cs.entries()) {
        const got = await eth1Addrs(c.pid);
        assert.equal(got.length, 1, `${what}: c${i} has one address: ${got.join(', ')}`);
        assert.equal(held.get(`${name}/c${i}/eth1`), got[0], `${what}: c${i}'s address is its allocation`);
        seen.add(got[0]!);
      }
      assert.equal(seen.size, 4, `${what}: no address twice`);
      const status = await cli(['status', file, '--json']);
      ok(status, `${what}: status`);
      assert.equal((JSON.parse(status.stdout) as { inSync: boolean }).inSync, true, `${what}: in sync`);
    };
    const expectDestroyed = async (what: string): Promise<void> => {
      assert.equal((await allocations()).size, 0, `${what}: no allocation left`);
      for (const c of cs) assert.equal(link(await readState({ pid: c.pid }), 'eth1'), undefined, what);
      assert.equal(await linkExists(br), false, `${what}: the bridge is gone`);
    };
    for (let round = 1; round <= ROUNDS; round++) {
      const [a, b] = await Promise.all([cli(['apply', file, '--json']), cli(['apply', file, '--json'])]);
      ok(a, `round ${round}: first apply`);
      ok(b, `round ${round}: second apply`);
      await expectApplied(`round ${round}, two applies`);
      // apply racing destroy: whichever runs last decides, and what is left is exactly that
      const [again, gone] = await Promise.all([
        cli(['apply', file, '--json']),
        cli(['destroy', file, '--json']),
      ]);
      ok(again, `round ${round}: apply racing destroy`);
      ok(gone, `round ${round}: destroy racing apply`);
      const applied = (await allocations()).size > 0;
      if (applied) await expectApplied(`round ${round}, apply last`);
      else await expectDestroyed(`round ${round}, destroy last`);
      ok(await cli(['destroy', file, '--json']), `round ${round}: destroy`);
      await expectDestroyed(`round ${round}, destroyed`);
    }
  });
});

test('ten recipes on one pool applied at once, then destroyed at once: all succeed, no address twice', async (t) => {
  await withSandbox(t, async (sb: Sandbox) => {
    const names = Array.from({ length: 10 }, (_, i) => `pool${sb.id}r${i}`);
    const cs = await Promise.all(Array.from({ length: 20 }, () => sb.container()));
    // each recipe its own bridge (and no gateway on it), all drawing from one range
    const files = await Promise.all(
      names.map((name, r) =>
        recipeFile(
          t,
          name,
          [
            `  lan: { bridge: ${sb.name(`p${r}`)}, subnet: 198.51.100.0/24, pool: 198.51.100.100-198.51.100.139 }`,
          ],
          [0, 1].map(
            (j) =>
              `  c${j}: { target: 'pid:${cs[2 * r + j]!.pid}', interfaces: { eth1: { network: lan, address: auto } } }`,
          ),
        ),
      ),
    );
    const held = async (): Promise<string[]> => {
      const text = await readFile(join(stateDir, 'ipam', 'allocations.json'), 'utf8').catch(() => '{}');
      const all =
        (JSON.parse(text) as { allocations?: { key: string; address: string }[] }).allocations ?? [];
      return all.filter((a) => names.some((n) => a.key.startsWith(`${n}/`))).map((a) => a.address);
    };
    for (let round = 1; round <= ROUNDS; round++) {
      const applied = await Promise.all(files.map((f) => cli(['apply', f, '--json'])));
      applied.forEach((r, i) => ok(r, `round ${round}: apply ${names[i]}`));
      const onLinks = (await Promise.all(cs.map((c) => eth1Addrs(c.pid)))).flat();
      assert.equal(onLinks.length, 20, `round ${round}: 20 containers, an address each`);
      assert.equal(new Set(onLinks).size, 20, `round ${round}: no address twice: ${onLinks.join(' ')}`);
      assert.deepEqual(
        [...onLinks].sort(),
        (await held()).sort(),
        `round ${round}: the kernel's are the IPAM file's`,
      );
      const destroyed = await Promise.all(files.map((f) => cli(['destroy', f, '--json'])));
      destroyed.forEach((r, i) => ok(r, `round ${round}: destroy ${names[i]}`));
      assert.deepEqual(await held(), [], `round ${round}: every address given back`);
      for (const [r] of names.entries())
        assert.equal(await linkExists(sb.name(`p${r}`)), false, `round ${round}: bridge ${r} gone`);
    }
  });
});

test('a detach of the last port racing an attach onto the same bridge: whichever runs last, nothing is left over', async (t) => {
  await withSandbox(t, async (sb: Sandbox) => {
    const br = sb.name('dr');
    const [a, b] = await Promise.all([sb.container(), sb.container()]);
    const attachOf = (pid: number, ip: string) =>
      cli(['attach', `pid:${pid}`, '--bridge', br, '--ip', ip, '--json']);
    for (let round = 1; round <= ROUNDS * 3; round++) {
      ok(await attachOf(a.pid, '198.51.100.10/24'), `round ${round}: first attach`);
      const [gone, made] = await Promise.all([
        cli(['detach', `pid:${a.pid}`, '--json']),
        attachOf(b.pid, '198.51.100.11/24'),
      ]);
      ok(gone, `round ${round}: detach`);
      ok(made, `round ${round}: attach`);
      assert.equal(link(await readState({ pid: a.pid }), 'eth1'), undefined, `round ${round}: a detached`);
      assert.deepEqual(await eth1Addrs(b.pid), ['198.51.100.11/24'], `round ${round}: b attached`);
      assert.equal(
        (await bridgePorts(br)).length,
        1,
        `round ${round}: one port, b's: ${(await bridgePorts(br)).join(' ')}`,
      );
      ok(await cli(['detach', `pid:${b.pid}`, '--json']), `round ${round}: detach b`);
      assert.equal(await linkExists(br), false, `round ${round}: the bridge goes with its last port`);
    }
  });
});
