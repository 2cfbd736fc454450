import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { diffSnapshots } from '../helpers/kernel-state.js';
import { withSandbox } from '../helpers/sandbox.js';

const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

test('exit 0, --json that parses, and a second run that changes nothing', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('c0');
    const args = [
      'attach',
      `netns:${n}`,
      '--bridge',
      sb.name('c0'),
      '--ip',
      '192.0.2.10/24',
      '--gateway',
      '192.0.2.1',
    ];
    const first = await cli([...args, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const j = JSON.parse(first.stdout) as { ok: boolean; changed: boolean; steps: { command: string }[] };
    assert.equal(j.ok, true);
    assert.equal(j.changed, true);
    assert.ok(
      j.steps.some((s) => s.command.includes('ip -n') && s.command.includes('addr add 192.0.2.10/24')),
    );
    const second = await cli(args);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /nothing to do/);
    const showJson = await cli(['show', `netns:${n}`, '--json']);
    assert.equal(showJson.code, 0);
    assert.equal(
      (JSON.parse(showJson.stdout) as { interfaces: { name: string; managed: boolean }[] }).interfaces.find(
        (i) => i.name === 'eth1',
      )?.managed,
      true,
    );
    const d = await cli(['detach', `netns:${n}`]);
    assert.equal(d.code, 0);
    assert.match(d.stdout, /^detached/);
    const again = await cli(['detach', `netns:${n}`]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /nothing to do/);
  }));

test('bad input: exit 2, the field and the fix on stderr, nothing touched', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('c2');
    const spaces = ['sandbox', { netns: n }] as const;
    const before = await snapshot(spaces);
    const cases: [string[], RegExp][] = [
      [
        ['--ip', '192.0.2.10'],
        /--ip "192\.0\.2\.10": prefix length missing\n {2}hint: add a prefix, e\.g\. 192\.0\.2\.10\/24/,
      ],
      [['--ip', '192.0.2.10/24', '--gateway', '2001:db8::1'], /--gateway .*IPv6 gateway but no IPv6 address/],
      [['--ifname', 'averyveryverylongname'], /at most 15/],
      [['--ifname', 'eth/1'], /contains "\/"/],
      [['--ifname', 'eth 1'], /whitespace/],
      [['--mtu', '70000'], /--mtu "70000": MTU out of range 68-65535/],
      [['--mac', '01:00:00:00:00:01'], /--mac .*multicast/],
    ];
    for (const [extra, re] of cases) {
      const r = await cli(['attach', `netns:${n}`, '--bridge', sb.name('c2'), ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const missing = await cli(['attach', `netns:${n}`, '--macvlan', 'pfnosuchnic', '--ip', '192.0.2.10/24']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /host interface "pfnosuchnic": not found/);
    const unknown = await cli(['attach', 'pf-no-such-container', '--bridge', 'br0'], NO_DOCKER);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /pf-no-such-container: no running Docker container and no network namespace/,
    );
    const json = await cli(['attach', `netns:${n}`, '--bridge', 'br0', '--ip', 'nonsense', '--json']);
    assert.equal(json.code, 2);
    const err = JSON.parse(json.stdout) as {
      ok: boolean;
      error: { code: string; field: string; hint: string };
    };
    assert.deepEqual([err.ok, err.error.code, err.error.field], [false, 'E_BAD_CIDR', '--ip']);
    await expectState(spaces, before, 'the state is as before');
  }));

test('names never reach a shell: "eth1;touch /tmp/…" is refused and nothing runs', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('c3');
    const marker = `/tmp/${sb.nsName('marker')}`;
    for (const flag of ['--ifname', '--bridge', '--host-ifname']) {
      const r = await cli(['attach', `netns:${n}`, '--bridge', 'br0', flag, `eth1;touch ${marker}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(!existsSync(marker));
    }
    const r = await cli(['attach', `netns:${n};touch ${marker}`, '--bridge', 'br0']);
    assert.equal(r.code, 2);
    assert.ok(!existsSync(marker));
  }));

test('a step the kernel refuses: exit 1, rolled back, the command and stderr shown', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('c4');
    const spaces = ['sandbox', { netns: n }] as const;
    const before = await snapshot(spaces);
    // macvlan needs an Ethernet parent; the loopback passes planning and the kernel says no.
    const r = await cli(['attach', `netns:${n}`, '--macvlan', 'lo', '--ip', '192.0.2.10/24']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^pipefitter: create macvlan "eth1" on lo inside netns:\S+ in host: \S/);
    assert.match(r.stderr, /command: ip link add name eth1 link lo /);
    assert.match(r.stderr, /rolled back/);
    await expectState(spaces, before, 'the state is as before');
  }));

test('--dry-run prints a script and touches nothing; that script, run in a fresh sandbox, gives the same state', (t) =>
  withSandbox(t, async (sb) => {
    const n1 = await sb.netns('d1');
    const n2 = await sb.netns('d2');
    const br = sb.name('d');
    const attachArgs = (n: string, ip: string): string[] => [
      'attach',
      `netns:${n}`,
      '--bridge',
      br,
      '--ip',
      ip,
      '--ip',
      '2001:db8::10/64',
      '--gateway',
      '192.0.2.1',
      '--mac',
      '02:00:00:00:00:10',
      '--mtu',
      '1400',
      '--route',
      '198.51.100.0/24:192.0.2.254',
    ];
    const spaces = ['sandbox', { netns: n1 }] as const;
    const before = await snapshot(spaces);
    const dry = await cli([...attachArgs(n1, '192.0.2.10/24'), '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^#!\/bin\/sh\n/);
    await expectState(spaces, before, 'the dry run changed nothing');
    // the real run
    assert.equal((await cli(attachArgs(n1, '192.0.2.10/24'))).code, 0);
    const real = await snapshot(spaces);
    // a fresh sandbox: the same namespace name, made anew, and the host as before
    assert.equal((await cli(['detach', `netns:${n1}`])).code, 0);
    await execa('ip', ['netns', 'del', n1]);
    await execa('ip', ['netns', 'add', n1]);
    await execa('ip', ['-n', n1, 'link', 'set', 'dev', 'lo', 'up']);
    const script = await execa('sh', ['-c', dry.stdout], { reject: false });
    assert.equal(script.exitCode, 0, script.stderr);
    const fromScript = await snapshot(spaces);
    // the host end's MAC is random (a veth's, when not given), and so is the bridge's, which
    // takes its port's; everything else is the same
    const differs = diffSnapshots(real, fromScript, ['sandbox', n1]).filter(
      (d) => !/^sandbox: link \S+ address: /.test(d),
    );
    assert.deepEqual(differs, [], 'the script gives the state the real run gave');
    void n2;
    assert.equal((await cli(['detach', `netns:${n1}`])).code, 0);
    await expectState(spaces, before, 'and detach removes what the script made');
  }));

test('--help shows both verbs and examples; unknown options are usage errors', async () => {
  const h = await cli(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /attach \[options\] <target>/);
  assert.match(h.stdout, /Examples:/);
  const bad = await cli(['attach', 'x', '--no-such-flag']);
  assert.equal(bad.code, 2);
});

test('every --dry-run script is titled with the command that made it (destroy says destroy)', (t) =>
  withSandbox(t, async (sb) => {
    const [a, b] = [await sb.netns('ta'), await sb.netns('tb')];
    const file = `/tmp/${sb.nsName('titles')}.yaml`;
    await writeFile(
      file,
      [
        'version: 1',
        `name: t${sb.id}`,
        'vars: { ns: x }',
        'networks:',
        `  lan: { bridge: 'tb${sb.id}', subnet: 192.0.2.0/24 }`,
        'containers:',
        "  web: { target: 'netns:${ns}', interfaces: { eth1: { network: lan, address: 192.0.2.10/24 } } }",
      ].join('\n') + '\n',
    );
    t.after(() => rm(file, { force: true }));
    const title = async (args: string[]): Promise<string> => {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^#!\/bin\/sh\n/);
      return r.stdout.split('\n')[1] ?? '';
    };
    const before = await snapshot(['sandbox', { netns: a }, { netns: b }]);
    const br = `br${sb.id}`; // pipework makes only bridges named br*
    assert.equal(
      await title(['attach', `netns:${a}`, '--bridge', br, '--ip', '192.0.2.11/24', '--dry-run']),
      `# pipefitter attach netns:${a} --ifname eth1`,
    );
    assert.equal(
      await title(['detach', `netns:${a}`, '--dry-run']),
      `# pipefitter detach netns:${a} --ifname eth1`,
    );
    assert.equal(
      await title(['link', `netns:${a}:eth2`, `netns:${b}`, '--dry-run']),
      `# pipefitter link netns:${a}:eth2 netns:${b}:eth1`,
    );
    assert.equal(
      await title(['--dry-run', br, '-i', 'eth3', `netns:${a}`, '192.0.2.12/24']),
      `# pipefitter ${br} -i eth3 netns:${a} 192.0.2.12/24`,
    );
    assert.equal(
      await title(['--dry-run', 'route', `netns:${a}`, 'add', '198.51.100.0/24', 'via', '192.0.2.1']),
      `# pipefitter route netns:${a} add 198.51.100.0/24 via 192.0.2.1`,
    );
    const set = ['--set', `ns=${a}`];
    assert.equal(
      await title(['apply', file, ...set, '--dry-run']),
      `# pipefitter apply ${file} --set ns=${a}`,
    );
    await expectState(['sandbox', { netns: a }, { netns: b }], before, 'the dry runs changed nothing');
    assert.equal((await cli(['apply', file, ...set])).code, 0);
    const applied = await snapshot(['sandbox', { netns: a }, { netns: b }]);
    const destroyDry = await cli(['destroy', file, ...set, '--dry-run']);
    assert.equal(destroyDry.code, 0, destroyDry.stderr);
    assert.equal(destroyDry.stdout.split('\n')[1], `# pipefitter destroy ${file} --set ns=${a}`);
    assert.doesNotMatch(destroyDry.stdout, /pipefitter apply/);
    assert.match(destroyDry.stdout, /^ip -n \S+ link del eth1$|^ip link del /m, 'the script removes');
    await expectState(
      ['sandbox', { netns: a }, { netns: b }],
      applied,
      'the dry run of destroy changed nothing',
    );
    // the library's plan() names plan
    const { plan } = await import('../../src/api/recipe.js');
    assert.match(
      (await plan(file, { set: { ns: a } })).script,
      new RegExp(`^# pipefitter plan ${file} --set ns=`, 'm'),
    );
    assert.equal((await cli(['destroy', file, ...set])).code, 0);
    await expectState(['sandbox', { netns: a }, { netns: b }], before, 'the state is as before');
  }));
