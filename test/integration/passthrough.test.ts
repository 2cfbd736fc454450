/**
 * pipework's route, rule and tc forms: a command that reads prints what ip or tc prints (with
 * --json, their own JSON), one that changes goes through the executor and is read back with ip -j.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { ipJson, readState, routes } from '../helpers/read-back.js';
import type { Container, Sandbox } from '../helpers/sandbox.js';
import { withSandbox } from '../helpers/sandbox.js';
import { expectState, snapshot } from '../helpers/round-trip.js';

/** Run a command inside the container's namespace, as a user would to check pipefitter. */
const inside = async (c: Container, argv: string[]): Promise<string> =>
  (await execa('nsenter', [`--net=${c.netnsPath}`, '--', ...argv])).stdout;

/** A container with eth1 (192.0.2.10/24, up) on a veth whose host end stays in the sandbox. */
const containerWithEth1 = async (sb: Sandbox): Promise<Container> => {
  const c = await sb.container();
  const host = sb.name('h').slice(0, 15);
  sb.own(host);
  await execa('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', String(c.pid)]);
  await execa('ip', ['link', 'set', host, 'up']);
  await inside(c, ['ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'eth1']);
  await inside(c, ['ip', 'link', 'set', 'eth1', 'up']);
  return c;
};

interface PassJson {
  ok: boolean;
  action: string;
  readOnly: boolean;
  changed: boolean;
  target: string;
  outputFormat: 'json' | 'text';
  output: unknown;
}

test('route show, bare route and route get print what ip prints; --json carries ip -j', (t) =>
  withSandbox(t, async (sb) => {
    const c = await containerWithEth1(sb);
    const target = `pid:${c.pid}`;
    // a change first: through the executor, read back from the kernel
    const add = await cli(['route', target, 'add', '198.51.100.0/24', 'via', '192.0.2.254']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^done: ip route add 198\.51\.100\.0\/24 via 192\.0\.2\.254 in pid:\d+/);
    assert.ok(
      routes(await readState({ pid: c.pid })).some(
        (r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.254',
      ),
    );

    const expected = await inside(c, ['ip', 'route', 'show']);
    assert.match(expected, /198\.51\.100\.0\/24 via 192\.0\.2\.254 dev eth1/);
    const show = await cli(['route', target, 'show']);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout, expected, 'the routes, exactly as ip prints them');
    assert.equal(show.stderr, '');
    const bare = await cli(['route', target]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(bare.stdout, expected, '`ip route` alone lists');

    for (const args of [
      ['--json', 'route', target, 'show'],
      ['route', '--json', target],
    ]) {
      const j = await cli(args);
      assert.equal(j.code, 0, j.stderr);
      const body = JSON.parse(j.stdout) as PassJson;
      assert.deepEqual([body.ok, body.action, body.readOnly, body.changed], [true, 'route', true, false]);
      assert.equal(body.target, target);
      assert.equal(body.outputFormat, 'json');
      assert.deepEqual(body.output, await ipJson({ pid: c.pid }, ['route', 'show']));
    }

    const get = await cli(['route', target, 'get', '198.51.100.7']);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, await inside(c, ['ip', 'route', 'get', '198.51.100.7']));
    const getJson = JSON.parse(
      (await cli(['--json', 'route', target, 'get', '198.51.100.7'])).stdout,
    ) as PassJson;
    assert.equal((getJson.output as { gateway?: string }[])[0]?.gateway, '192.0.2.254');

    // a read that fails: ip's own message, exit 1, nothing changed
    const before = await snapshot([{ pid: c.pid }]);
    const bad = await cli(['route', target, 'get', '203.0.113.1']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /ip route get 203\.0\.113\.1 in pid:\d+: RTNETLINK answers: Network is unreachable/,
    );
    assert.doesNotMatch(bad.stderr, /rolled back/);
    // a dry run of a read prints the script and runs nothing
    const dry = await cli(['--dry-run', 'route', target, 'show']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^# pipefitter route ${target} show$`, 'm'));
    assert.match(dry.stdout, new RegExp(`^nsenter --net=/proc/${c.pid}/ns/net -- ip route show$`, 'm'));
    await expectState([{ pid: c.pid }], before, 'nothing changed inside');
  }));

test('rule show prints what ip prints; --json carries ip -j rule', (t) =>
  withSandbox(t, async (sb) => {
    const c = await containerWithEth1(sb);
    const target = `pid:${c.pid}`;
    const add = await cli(['rule', target, 'add', 'from', '192.0.2.10', 'table', '100']);
    assert.equal(add.code, 0, add.stderr);
    const rules = (await ipJson({ pid: c.pid }, ['rule', 'show'])) as { src?: string; table?: string }[];
    assert.ok(rules.some((r) => r.src === '192.0.2.10' && r.table === '100'));

    const show = await cli(['rule', target, 'show']);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout, await inside(c, ['ip', 'rule', 'show']));
    assert.match(show.stdout, /from 192\.0\.2\.10 lookup 100/);
    const j = JSON.parse((await cli(['--json', 'rule', target])).stdout) as PassJson;
    assert.equal(j.readOnly, true);
    assert.deepEqual(j.output, rules);
  }));

test('tc qdisc show and tc -s qdisc print what tc prints; --json carries tc -j', (t) =>
  withSandbox(t, async (sb) => {
    const c = await containerWithEth1(sb);
    const target = `pid:${c.pid}`;
    const tbf = [
      'qdisc',
      'add',
      'dev',
      'eth1',
      'root',
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '32kbit',
      'latency',
      '400ms',
    ];
    const add = await cli(['tc', target, ...tbf]);
    assert.equal(add.code, 0, add.stderr);
    const q = JSON.parse(await inside(c, ['tc', '-j', 'qdisc', 'show', 'dev', 'eth1'])) as { kind: string }[];
    assert.equal(q[0]?.kind, 'tbf');

    const show = await cli(['tc', target, 'qdisc', 'show']);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout, await inside(c, ['tc', 'qdisc', 'show']));
    assert.match(show.stdout, /qdisc tbf \S+ dev eth1 root/);
    const j = JSON.parse((await cli(['--json', 'tc', target, 'qdisc', 'show'])).stdout) as PassJson;
    assert.equal(j.outputFormat, 'json');
    assert.deepEqual(j.output, JSON.parse(await inside(c, ['tc', '-j', 'qdisc', 'show'])));
    // with statistics (they may move between two reads: compare the qdiscs, not the counters)
    const stats = await cli(['tc', target, '-s', 'qdisc']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /qdisc tbf \S+ dev eth1 root[^\n]*\n Sent \d+ bytes/);
    const sj = JSON.parse((await cli(['--json', 'tc', target, '-s', 'qdisc'])).stdout) as PassJson;
    const kinds = (sj.output as { kind: string; dev: string; bytes?: number }[]).map((x) => [x.dev, x.kind]);
    assert.deepEqual(kinds.sort(), [
      ['eth1', 'tbf'],
      ['lo', 'noqueue'],
    ]);
    assert.ok((sj.output as { bytes?: number }[]).every((x) => typeof x.bytes === 'number'));
    // tc has no JSON for tbf's class: its text comes through instead
    const cls = JSON.parse(
      (await cli(['--json', 'tc', target, 'class', 'show', 'dev', 'eth1'])).stdout,
    ) as PassJson;
    assert.deepEqual(
      [cls.outputFormat, cls.output],
      ['text', `${await inside(c, ['tc', 'class', 'show', 'dev', 'eth1'])}\n`],
    );
    assert.match(cls.output as string, /^class tbf /);
    // nothing to list is an empty list, not an error
    const none = JSON.parse(
      (await cli(['--json', 'tc', target, 'class', 'show', 'dev', 'lo'])).stdout,
    ) as PassJson;
    assert.deepEqual([none.outputFormat, none.output], ['json', []]);
    // the change undone by hand through the same form, read back
    const del = await cli(['tc', target, 'qdisc', 'del', 'dev', 'eth1', 'root']);
    assert.equal(del.code, 0, del.stderr);
    const after = JSON.parse(await inside(c, ['tc', '-j', 'qdisc', 'show', 'dev', 'eth1'])) as {
      kind: string;
    }[];
    assert.notEqual(after[0]?.kind, 'tbf');
  }));

test('a verb not known as a read is run as a change: flush empties the table', (t) =>
  withSandbox(t, async (sb) => {
    const c = await containerWithEth1(sb);
    const target = `pid:${c.pid}`;
    assert.equal((await cli(['route', target, 'add', '198.51.100.0/24', 'via', '192.0.2.254'])).code, 0);
    const j = JSON.parse(
      (await cli(['--json', 'route', target, 'flush', '198.51.100.0/24'])).stdout,
    ) as PassJson;
    assert.deepEqual([j.ok, j.readOnly, j.changed], [true, false, true]);
    assert.ok(!routes(await readState({ pid: c.pid })).some((r) => r.dst === '198.51.100.0/24'));
  }));
