/**
 * Issue 13, defect 11: error messages say each thing once, and bad input to a pass-through
 * command (words ip or tc refuse) exits 2 with nothing changed; the kernel refusing exits 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { BIN, cli } from '../helpers/cli.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { withSandbox } from '../helpers/sandbox.js';

const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };
const count = (s: string, part: string): number => s.split(part).length - 1;

test('route/rule/tc: the target named once; arguments ip or tc refuse exit 2, a kernel refusal 1', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('m0');
    const before = await snapshot(['sandbox', { netns: n }]);
    const cases: [string[], number, RegExp][] = [
      [['route', `netns:${n}`, 'add', 'bogus'], 2, /any valid prefix is expected rather than "bogus"/],
      [['route', `netns:${n}`, 'frob'], 2, /Command "frob" is unknown/],
      [['rule', `netns:${n}`, 'add', 'from', 'bogus'], 2, /is expected rather than/],
      [['tc', `netns:${n}`, 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf'], 2, /"rate" parameter is mandatory/],
      [['route', `netns:${n}`, 'show', 'table', 'nosuch'], 2, /argument "nosuch" is wrong/],
      // the kernel's refusal of a well-formed change: a failed step
      [
        ['route', `netns:${n}`, 'add', '198.51.100.0/24', 'via', '192.0.2.254'],
        1,
        /Nexthop has invalid gateway/,
      ],
    ];
    for (const [args, code, why] of cases) {
      const r = await cli(args, NO_DOCKER);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.equal(count(r.stderr, `in netns:${n}`), 1, r.stderr);
      assert.equal(count(r.stderr, 'pipefitter: '), 1, r.stderr);
      if (code === 2) {
        assert.match(r.stderr, /nothing was changed/);
        assert.match(r.stderr, /hint: the words after the target go to (ip \w+|tc) as they are/);
      }
    }
    await expectState(['sandbox', { netns: n }], before, 'nothing changed');
  }));

test('not root: "pipefitter: must run as root" once, exit 2', (t) =>
  withSandbox(t, async () => {
    const r = await execa(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'node',
        BIN,
        'attach',
        'netns:x',
        '--bridge',
        'b0',
      ],
      { reject: false, env: NO_DOCKER },
    );
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /^pipefitter: must run as root\n/);
    assert.equal(count(r.stderr, 'pipefitter:'), 1, r.stderr);
  }));

test("--gateway equal to the interface's own address: exit 2, naming the field", (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('m1');
    const before = await snapshot(['sandbox', { netns: n }]);
    const r = await cli(
      ['attach', `netns:${n}`, '--bridge', sb.name('m1'), '--ip', '192.0.2.10/24', '--gateway', '192.0.2.10'],
      NO_DOCKER,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^pipefitter: --gateway "192\.0\.2\.10": is the interface's own address/);
    await expectState(['sandbox', { netns: n }], before, 'nothing changed');
  }));
