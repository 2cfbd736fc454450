/**
 * `--json` is one JSON document on every command: each form of test/helpers/json-cases.ts (every
 * commander command, pipework's syntax, route/rule/tc) run once to succeed and once to fail,
 * with --json last and first; stdout is parsed whole (nothing else on it), `ok` says which.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from '../helpers/cli.js';
import { JSON_CASES } from '../helpers/json-cases.js';
import { recipeFileText } from '../helpers/recipe-file.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { mkdtemp, rm } from 'node:fs/promises';

const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

const parsed = (stdout: string, what: string): unknown => {
  try {
    return JSON.parse(stdout);
  } catch (e) {
    assert.fail(`${what}: stdout is not one JSON document (${String(e)}):\n${stdout}`);
  }
};

test('--json: every command prints exactly one JSON document on stdout, on success and on failure', async (t) => {
  await withSandbox(t, async (sb) => {
    const [a, b] = [await sb.container(), await sb.container()];
    const bridge = sb.name('js');
    const recipe = await recipeFileText(
      t,
      `js${sb.id}`,
      [
        'version: 1',
        `name: js${sb.id}`,
        'networks:',
        `  lan: { bridge: ${sb.name('jr')}, subnet: 198.51.100.0/24 }`,
        'containers:',
        `  c: { target: 'pid:${b.pid}', interfaces: { eth3: { network: lan, address: 198.51.100.10 } } }`,
      ].join('\n'),
    );
    const dir = await mkdtemp(`/tmp/pf-${runId}-json-`);
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ctx = { a: `pid:${a.pid}`, b: `pid:${b.pid}`, bridge, recipe, dir };
    t.after(async () => {
      await cli(['destroy', recipe], NO_DOCKER);
      for (const [c, i] of [
        [ctx.a, 'eth1'],
        [ctx.a, 'eth2'],
      ] as const)
        await cli(['detach', c, '--ifname', i], NO_DOCKER);
    });
    for (const c of JSON_CASES) {
      const ok = c.ok(ctx);
      const fail = c.fail(ctx);
      // --json first for the forms outside commander (after `route GUEST` every word is ip's)
      const first =
        c.command === 'route' || c.command === 'rule' || c.command === 'tc' || c.command === 'pipework';
      const run = (args: string[]) => cli(first ? ['--json', ...args] : [...args, '--json'], NO_DOCKER);

      const good = await run(ok);
      const what = `${c.command}: ${ok.join(' ')} --json`;
      // doctor exits 1 when a required feature is missing; its report is still one document
      if (c.command !== 'doctor') assert.equal(good.code, 0, `${what}: exit 0\n${good.stderr}`);
      const body = parsed(good.stdout, what);
      assert.equal((body as { ok?: unknown }).ok, true, `${what}: ok is true: ${good.stdout}`);

      const bad = await run(fail);
      const whatBad = `${c.command}: ${fail.join(' ')} --json`;
      assert.equal(bad.code, c.failCode ?? 2, `${whatBad}: exit ${c.failCode ?? 2}\n${bad.stderr}`);
      const err = parsed(bad.stdout, whatBad) as {
        ok?: unknown;
        error?: { code?: unknown; message?: unknown };
      };
      assert.equal(err.ok, false, `${whatBad}: ok is false: ${bad.stdout}`);
      assert.equal(typeof err.error?.code, 'string', whatBad);
      assert.equal(typeof err.error?.message, 'string', whatBad);
    }
    // the rest: the version, help in each spelling, and a mistyped command
    for (const args of [['--version'], ['--help'], ['help'], ['attach', '--help'], ['help', 'compat'], []]) {
      const r = await cli([...args, '--json'], NO_DOCKER);
      assert.equal(r.code, 0, `${args.join(' ')} --json`);
      const body = parsed(r.stdout, `${args.join(' ')} --json`) as { ok: boolean };
      assert.equal(body.ok, true);
    }
    const typo = await cli(['atach', ctx.a, '--bridge', bridge, '--json'], NO_DOCKER);
    assert.notEqual(typo.code, 0);
    assert.equal((parsed(typo.stdout, 'atach') as { ok: boolean }).ok, false);
  });
});
