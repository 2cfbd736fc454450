/**
 * `status` answers with its exit code, so scripts can branch on it: 0 in sync, 4 drift found
 * (with `inSync: false` and each difference, in human and --json form), and it changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { recipeFileText } from '../helpers/recipe-file.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';

test('status exits 0 in sync and 4 on drift (an address removed by hand), human and --json; it changes nothing', async (t) => {
  await withSandbox(t, async (sb) => {
    const c = await sb.container();
    const br = sb.name('sd');
    const file = await recipeFileText(
      t,
      `sd${sb.id}`,
      [
        'version: 1',
        `name: sd${sb.id}`,
        'bridges:',
        `  ${br}: {}`,
        'networks:',
        `  lan: { bridge: ${br}, subnet: 192.0.2.0/24 }`,
        'containers:',
        `  c: { target: 'pid:${c.pid}', interfaces: { eth1: { network: lan, address: 192.0.2.10 } } }`,
      ].join('\n'),
    );
    t.after(async () => void (await cli(['destroy', file])));
    const spaces = ['sandbox' as const, { pid: c.pid }];
    assert.equal((await cli(['apply', file])).code, 0);

    const inSync = await cli(['status', file, '--json']);
    assert.equal(inSync.code, 0, inSync.stderr);
    const a = JSON.parse(inSync.stdout) as { ok: boolean; inSync: boolean; drift: unknown[] };
    assert.deepEqual([a.ok, a.inSync, a.drift], [true, true, []]);
    const human = await cli(['status', file]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /in sync/);

    await execa('nsenter', [`--net=/proc/${c.pid}/ns/net`, 'ip', 'addr', 'flush', 'dev', 'eth1']);
    const before = await snapshot(spaces);
    const drifted = await cli(['status', file, '--json']);
    assert.equal(drifted.code, 4, `drift: exit 4\n${drifted.stderr}`);
    const d = JSON.parse(drifted.stdout) as {
      ok: boolean;
      inSync: boolean;
      drift: { where: string; what: string }[];
    };
    assert.equal(d.ok, true, 'drift is an answer, not an error');
    assert.equal(d.inSync, false);
    assert.ok(
      d.drift.some((x) => /192\.0\.2\.10/.test(x.what)),
      `the missing address named: ${JSON.stringify(d.drift)}`,
    );
    const dh = await cli(['status', file]);
    assert.equal(dh.code, 4);
    assert.match(dh.stdout, /drifted/);
    assert.match(dh.stdout, /192\.0\.2\.10/);
    await expectState(spaces, before, 'status changes nothing');

    assert.match((await cli(['status', '--help'])).stdout, /4 drift found/);
    assert.equal((await cli(['apply', file])).code, 0, 'repaired');
    assert.equal((await cli(['status', file])).code, 0, 'in sync again');
    assert.equal((await cli(['destroy', file])).code, 0);
  });
});

test('status: a container not running is exit 4 (inSync false, listed); with --skip-missing it does not count', async (t) => {
  await withSandbox(t, async (sb) => {
    const c = await sb.container();
    const br = sb.name('sm');
    const file = await recipeFileText(
      t,
      `sm${sb.id}`,
      [
        'version: 1',
        `name: sm${sb.id}`,
        'networks:',
        `  lan: { bridge: ${br}, subnet: 192.0.2.0/24 }`,
        'containers:',
        `  c: { target: 'pid:${c.pid}', interfaces: { eth1: { network: lan, address: 192.0.2.10 } } }`,
        `  gone: { target: 'netns:${sb.nsName('gone')}', interfaces: { eth1: { network: lan, address: 192.0.2.11 } } }`,
      ].join('\n'),
    );
    t.after(async () => void (await cli(['destroy', file])));
    const applied = await cli(['apply', file, '--skip-missing']);
    assert.equal(applied.code, 0, applied.stderr);
    const counted = await cli(['status', file, '--json']);
    assert.equal(counted.code, 4, counted.stderr);
    const s = JSON.parse(counted.stdout) as {
      inSync: boolean;
      drift: unknown[];
      missing: { container: string }[];
    };
    assert.deepEqual([s.inSync, s.drift, s.missing.map((m) => m.container)], [false, [], ['gone']]);
    const skipped = await cli(['status', file, '--skip-missing', '--json']);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.equal((JSON.parse(skipped.stdout) as { inSync: boolean }).inSync, true);
    assert.equal((await cli(['destroy', file])).code, 0);
  });
});
