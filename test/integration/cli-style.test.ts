/**
 * Colours, the live progress bar and the summary table (issue 14): on a terminal (a pseudo-TTY
 * made by util-linux's `script`) they are there; through a pipe, with NO_COLOR, --json or -q
 * there is not one escape code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { BIN, cli, onTtyArgs } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';
import { link, readState } from '../helpers/read-back.js';

const ESC = '\x1b[';
const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

/** Run the CLI on a pseudo-terminal: stdout and stderr both a TTY; what it printed, as one text. */
const onTty = async (args: string[], env: Record<string, string> = {}) => {
  const r = await execa('script', onTtyArgs(['node', BIN, ...args]), {
    reject: false,
    env: { ...NO_DOCKER, TERM: 'xterm', ...env },
    extendEnv: true,
    stdin: 'ignore',
  });
  return { code: r.exitCode, text: String(r.stdout) };
};

const recipe = (id: string, names: readonly string[]): string =>
  [
    'version: 1',
    `name: s${id}`,
    'networks:',
    `  lan: { bridge: 'ts${id}', subnet: 192.0.2.0/24 }`,
    'containers:',
    ...names.map(
      (n, i) =>
        `  c${i}: { target: 'netns:${n}', interfaces: { eth1: { network: lan, address: 192.0.2.${10 + i}/24 }, eth2: { network: lan, address: 192.0.2.${100 + i}/24 } } }`,
    ),
  ].join('\n') + '\n';

test('on a terminal: a coloured error with its hint; piped or NO_COLOR: plain', async () => {
  const tty = await onTty(['attach', 'netns:nope', '--ip', 'bad']);
  assert.equal(tty.code, 2);
  assert.ok(tty.text.includes(`${ESC}1m${ESC}31mpipefitter:`), JSON.stringify(tty.text));
  const noColor = await onTty(['attach', 'netns:nope', '--ip', 'bad'], { NO_COLOR: '1' });
  assert.equal(noColor.code, 2);
  assert.ok(!noColor.text.includes(ESC), JSON.stringify(noColor.text));
  assert.match(noColor.text, /pipefitter: /);
  const json = await onTty(['attach', 'netns:nope', '--ip', 'bad', '--json']);
  assert.ok(!json.text.includes(ESC));
  const piped = await cli(['attach', 'netns:nope', '--ip', 'bad'], NO_DOCKER);
  assert.equal(piped.code, 2);
  assert.ok(!piped.stderr.includes(ESC) && !piped.stdout.includes(ESC));
});

test('recipe apply on a terminal: a live progress bar, a green result, a summary table; piped: none of the codes', (t) =>
  withSandbox(t, async (sb) => {
    const names = [await sb.netns('s0'), await sb.netns('s1'), await sb.netns('s2')];
    const file = `/tmp/${sb.nsName('style')}.yaml`;
    await writeFile(file, recipe(sb.id, names));
    t.after(() => rm(file, { force: true }));
    try {
      const tty = await onTty(['apply', file]);
      assert.equal(tty.code, 0, tty.text);
      // the bar: redrawn in place with \r and erase-line, counting up to the last step, then cleared
      // eslint-disable-next-line no-control-regex
      const bars = [...tty.text.matchAll(/\r\x1b\[K\x1b\[36mapply \[[#-]{24}\] (\d+)\/(\d+) /g)];
      assert.ok(bars.length >= 5, JSON.stringify(tty.text.slice(0, 400)));
      const total = Number(bars[0]?.[2]);
      assert.deepEqual(
        bars.map((m) => Number(m[1])),
        Array.from({ length: total }, (_, i) => i + 1),
      );
      // cleared before the result, which is green
      assert.ok(tty.text.includes(`\r${ESC}K${ESC}32ms${sb.id}: applied`), 'bar cleared, green result line');
      // the table: a header, then one row per interface with the container's status
      // eslint-disable-next-line no-control-regex
      const plain = tty.text.replace(/\x1b\[[0-9;]*[mK]/g, '').replace(/\r/g, '');
      assert.match(plain, /CONTAINER +TARGET +INTERFACE +NETWORK +ADDRESSES +STATUS/);
      for (const [i, n] of names.entries()) {
        assert.match(plain, new RegExp(`c${i} +netns:${n} +eth1 +lan +192\\.0\\.2\\.${10 + i}/24 +changed`));
        assert.match(plain, new RegExp(`\\n +eth2 +lan +192\\.0\\.2\\.${100 + i}/24\\n`));
      }
      // what the table says is what the kernel has
      for (const [i, n] of names.entries()) {
        const st = await readState({ netns: n });
        assert.deepEqual(
          link(st, 'eth1')?.addrs.filter((a) => !a.startsWith('fe80')),
          [`192.0.2.${10 + i}/24`],
        );
        assert.deepEqual(
          link(st, 'eth2')?.addrs.filter((a) => !a.startsWith('fe80')),
          [`192.0.2.${100 + i}/24`],
        );
      }
      // again, piped: the same table in plain text, no escape code anywhere
      const again = await cli(['apply', file, '--set', 'x=y'], NO_DOCKER);
      assert.equal(again.code, 0, again.stderr);
      assert.ok(!again.stdout.includes(ESC) && !again.stderr.includes(ESC));
      // NO_COLOR on a terminal: destroy with no bar and no colour
      const destroy = await onTty(['destroy', file], { NO_COLOR: '1' });
      assert.equal(destroy.code, 0, destroy.text);
      assert.ok(!destroy.text.includes(ESC), JSON.stringify(destroy.text.slice(0, 300)));
      assert.match(destroy.text, /removed/);
    } finally {
      await cli(['destroy', file], NO_DOCKER);
    }
  }));

test('-q and --json on a terminal: no bar, no colour', (t) =>
  withSandbox(t, async (sb) => {
    const names = [await sb.netns('q0')];
    const file = `/tmp/${sb.nsName('quiet')}.yaml`;
    await writeFile(file, recipe(sb.id, names));
    t.after(() => rm(file, { force: true }));
    try {
      const q = await onTty(['-q', 'apply', file]);
      assert.equal(q.code, 0, q.text);
      assert.ok(!q.text.includes(ESC), JSON.stringify(q.text));
      const j = await onTty(['--json', 'destroy', file]);
      assert.equal(j.code, 0, j.text);
      assert.ok(!j.text.includes(ESC));
      assert.equal((JSON.parse(j.text) as { ok: boolean }).ok, true);
    } finally {
      await cli(['destroy', file], NO_DOCKER);
    }
  }));

test('attach on a terminal: the bar counts its steps, the result is green; then detach', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('a0');
    const br = sb.name('ab');
    const args = ['attach', `netns:${n}`, '--bridge', br, '--ip', '192.0.2.30/24', '--gateway', '192.0.2.1'];
    const tty = await onTty(args);
    assert.equal(tty.code, 0, tty.text);
    // eslint-disable-next-line no-control-regex
    const bars = [...tty.text.matchAll(/\r\x1b\[K\x1b\[36mattach \[[#-]{24}\] (\d+)\/(\d+) /g)];
    assert.ok(bars.length >= 5, JSON.stringify(tty.text.slice(0, 300)));
    assert.equal(bars.at(-1)?.[1], bars.at(-1)?.[2]);
    assert.ok(
      tty.text.includes(`\r${ESC}K${ESC}32mattached: netns:${n} eth1`),
      JSON.stringify(tty.text.slice(-300)),
    );
    const st = await readState({ netns: n });
    assert.deepEqual(
      link(st, 'eth1')?.addrs.filter((a) => !a.startsWith('fe80')),
      ['192.0.2.30/24'],
    );
    const again = await onTty(args, { NO_COLOR: '1' });
    assert.equal(again.code, 0);
    assert.ok(!again.text.includes(ESC));
    assert.match(again.text, /nothing to do/);
    const d = await cli(['detach', `netns:${n}`, '--ifname', 'eth1'], NO_DOCKER);
    assert.equal(d.code, 0, d.stderr);
    sb.own(br);
  }));
