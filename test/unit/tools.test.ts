/**
 * The tool table (src/tools.json) against the code: every program that src/, libexec/, test/,
 * scripts/, bench/ and recipes/ start is in it, marked for whoever starts it (so
 * scripts/ensure.mjs installs it for that mode), and every tool pipefitter itself may start has
 * a "not installed" hint naming its package. The scanner (test/helpers/command-scan.ts) is shown
 * to find each way of starting a program, so an unknown one cannot slip through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { hintFor } from '../../src/exec/hints.js';
import type { Tool, ToolUser } from '../../src/tools.js';
import { TOOLS, installHint, missingToolHint, runtimeTools, toolEntry } from '../../src/tools.js';
import type { FoundCommand } from '../helpers/command-scan.js';
import { scanFile, scanShell, scanTs } from '../helpers/command-scan.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The files that may start programs. */
const sources = (): string[] => {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return ['node_modules', 'fixtures', 'out'].includes(e.name) ? [] : walk(p);
      return [p];
    });
  return [
    ...walk('src').filter((f) => f.endsWith('.ts')),
    ...walk('libexec'),
    // the scanner itself holds lists of wrapper names, not commands it starts
    ...walk('test').filter((f) => f.endsWith('.ts') && f !== 'test/helpers/command-scan.ts'),
    ...walk('scripts').filter((f) => /\.(mjs|ts)$/.test(f)),
    ...walk('bench').filter((f) => f.endsWith('.ts')),
    ...walk('recipes').filter((f) => f.endsWith('.mjs')),
    ...walk('bin'),
  ];
};

/** Tests name a program that must not exist this way (the runner's "not installed" tests). */
const DELIBERATELY_MISSING = /^(?:pf|pipefitter)-no-such-/;

/** `file:line: cmd` for each command the table does not name. */
const undeclared = (found: readonly FoundCommand[]): string[] =>
  found
    .filter((f) => !toolEntry(f.cmd) && !DELIBERATELY_MISSING.test(f.cmd))
    .map((f) => `${f.file}:${f.line}: ${f.cmd}`);

/** Who starts what a file starts: pipefitter itself ('runtime'), or an ensure mode's users. */
const usersOf = (file: string): readonly (ToolUser | 'runtime')[] | undefined => {
  // this file names tools as data (toolEntry('/usr/lib/cni/bridge')), starting none
  if (file === 'test/unit/tools.test.ts') return undefined;
  if (file.startsWith('src/') || file.startsWith('libexec/')) return ['runtime'];
  if (file.startsWith('test/vm/') || file.startsWith('scripts/vm/')) return ['vm'];
  if (file.startsWith('test/helpers/')) return ['test', 'vm'];
  // run-tests.mjs runs in the VM lane too, as its test runner
  if (file === 'scripts/run-tests.mjs') return ['test', 'vm'];
  // recipes/lab.mjs is run by a test
  if (file.startsWith('test/') || file.startsWith('recipes/')) return ['test'];
  if (file.startsWith('bench/')) return ['bench'];
  if (file === 'scripts/demo.mjs') return ['demo'];
  return undefined; // ensure.mjs (the installer), the build scripts, bin/
};

const found = sources().flatMap((f) => scanFile(readFileSync(join(ROOT, f), 'utf8'), f));

test('the tool table: one entry per command, each with a Debian package and known users', () => {
  const users = new Set(['demo', 'test', 'bench', 'vm']);
  const seen = new Set<string>();
  for (const t of TOOLS as readonly (Tool & Record<string, unknown>)[]) {
    assert.ok(!seen.has(t.cmd), `${t.cmd} twice`);
    seen.add(t.cmd);
    assert.match(t.cmd, /^(\/[\w./+-]+|[\w.+-]+)$/, 'a name or an absolute path');
    assert.ok(t.pkg === null || /^[a-z0-9][a-z0-9.+-]+$/.test(t.pkg), `${t.cmd}: a Debian package name`);
    assert.deepEqual(
      Object.keys(t).filter((k) => !['cmd', 'pkg', 'feature', 'required', 'base', 'usedBy'].includes(k)),
      [],
      `${t.cmd}: known fields only`,
    );
    for (const u of t.usedBy ?? []) assert.ok(users.has(u), `${t.cmd}: usedBy ${u}`);
    assert.ok(t.feature !== undefined || (t.usedBy ?? []).length > 0, `${t.cmd}: someone starts it`);
    if (t.required) assert.ok(t.feature, `${t.cmd}: required by pipefitter, so it has a feature`);
  }
  for (const cmd of ['ip', 'bridge', 'tc', 'nsenter', 'unshare', 'sysctl', 'arping', 'nft', 'iptables'])
    assert.ok(toolEntry(cmd)?.feature, `${cmd} is a runtime tool`);
  for (const cmd of ['udhcpc', 'dhclient', 'dhcpcd', 'ovs-vsctl', 'podman'])
    assert.ok(toolEntry(cmd)?.feature, `${cmd} is a runtime tool`);
});

test('every program that src/, libexec/, test/, scripts/, bench/ and recipes/ start is in the tool table', () => {
  // the scan sees the tools it must (a scanner that found nothing would pass trivially)
  const cmds = new Set(found.map((f) => f.cmd));
  for (const c of ['ip', 'nsenter', 'nft', 'iptables', 'arping', 'sysctl', 'dnsmasq', 'udhcpc', 'dhclient'])
    assert.ok(cmds.has(c), `the scan finds ${c}`);
  for (const c of ['/usr/sbin/dockerd', 'containerd', 'ovs-vsctl', 'podman', 'setsid', '/bin/bash', 'ping'])
    assert.ok(cmds.has(c), `the scan finds ${c}`);
  assert.deepEqual(undeclared(found), [], 'add these to src/tools.json, with their Debian package');
});

test('a tool is marked for whoever starts it, so scripts/ensure.mjs installs it for that mode', () => {
  const bad: string[] = [];
  for (const f of found) {
    const t = toolEntry(f.cmd);
    const who = usersOf(f.file);
    if (!t || !who) continue;
    const ok = who.some((u) => (u === 'runtime' ? t.feature !== undefined : t.usedBy?.includes(u)));
    if (!ok)
      bad.push(
        `${f.file}:${f.line}: ${f.cmd} needs ${who.map((u) => (u === 'runtime' ? 'a "feature"' : `"${u}" in usedBy`)).join(' or ')}`,
      );
  }
  assert.deepEqual(bad, []);
});

test('scripts/ensure.mjs installs for each mode the packages the table marks for it', async () => {
  const list = async (mode: string): Promise<string[]> =>
    JSON.parse(
      (await execa('node', ['scripts/ensure.mjs', '--list', mode], { cwd: ROOT })).stdout,
    ) as string[];
  const expect = (users: ToolUser[]): string[] =>
    [
      ...new Set(
        TOOLS.filter((t) => t.pkg !== null && t.usedBy?.some((u) => users.includes(u))).map(
          (t) => t.pkg as string,
        ),
      ),
    ].sort();
  for (const mode of ['demo', 'test', 'bench', 'vm'] as const)
    assert.deepEqual(await list(mode), expect([mode]), mode);
  assert.deepEqual(await list('ci'), expect(['test', 'vm']), 'ci is test and vm');
  // what the issue found missing on a fresh machine, and what the tests had before
  const test = await list('test');
  for (const p of ['dnsmasq-base', 'udhcpc', 'isc-dhcp-client', 'dhcpcd-base', 'nftables'])
    assert.ok(test.includes(p), `npm test installs ${p}`);
  for (const p of ['iproute2', 'util-linux', 'procps', 'arping', 'busybox-static', 'iptables', 'docker.io'])
    assert.ok(test.includes(p), `npm test installs ${p}`);
  assert.deepEqual((await list('demo')).sort(), [
    'arping',
    'iproute2',
    'iputils-ping',
    'procps',
    'util-linux',
  ]);
});

test('the scanner finds each way of starting a program, so an unknown one fails the drift check', () => {
  // each snippet starts pf-frob (not a tool): the scan must report it, and the check must fail on it
  const ts: [string, string][] = [
    ['execa', "await execa('pf-frob', ['-x']);"],
    ['execa through nsenter', "await execa('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'pf-frob']);"],
    [
      'execa through unshare and a wrapper prefix',
      "execa('unshare', ['--net', '--propagation', 'private', 'pf-frob']);",
    ],
    ['a spread-in wrapper prefix', "execa(enter[0]!, [...enter.slice(1), 'pf-frob', 'x']);"],
    ['runner.run', "await runner.run(['pf-frob', 'list'], { netns: HOST });"],
    [
      'opts.runner.run behind unshare',
      "await opts.runner.run(['unshare', '--net', '--', 'pf-frob'], { netns });",
    ],
    ['an argv property', "const s = { id: 'x', argv: ['pf-frob', '-f', '-'], undo: 'covered' };"],
    ['an undo argv', "const s = { undo: { netns, argv: ['pf-frob', 'del'], describes: 'x' } };"],
    ['a conditional argv', "const argv = tool === 'tc' ? ['tc', ...args] : ['pf-frob', tool, ...args];"],
    [
      'a helper returning the argv',
      "const cmd = (...a: string[]) => ['pf-frob', ...a];\nconst s = { argv: cmd('x') };",
    ],
    [
      'a first element from a function',
      "const tool = (f: 4 | 6) => (f === 4 ? 'iptables' : 'pf-frob');\nconst s = { argv: [tool(4), '-S'] };",
    ],
    ['a constant', "const FROB = 'pf-frob';\nawait execa(FROB, []);"],
    [
      'an object of commands',
      "const SAVE = { 4: 'iptables-save', 6: 'pf-frob' } as const;\nawait execa(SAVE[family], []);",
    ],
    ['an absolute path constant', "export const FROB = '/usr/sbin/pf-frob';"],
    ['a TOOLS list', "export const DAEMON_TOOLS = ['containerd', 'pf-frob'];"],
    ['zx', 'await $`pf-frob -j link`;'],
    ['zx with options', 'await $({ nothrow: true })`ip netns exec ${n} pf-frob -c 1`;'],
    ['a { file, args } command', "await must({ file: 'pf-frob', args: ['-batch', '-'] });"],
    ['bench run(file, ...args)', "await run('pf-frob', 'netns', 'add', sandbox);"],
    [
      'a local helper',
      "const out = async (file: string, ...a: string[]) => (await execa(file, a)).stdout;\nawait out('pf-frob', '-V');",
    ],
    ['sh -c', "await execa('sh', ['-c', 'ip link show && pf-frob -x']);"],
    [
      'a setpriv wrapper script',
      "const W = ['set -e', 'exec \"$@\"', 'pf-frob -n'].join('\\n');\nexeca('setpriv', [...wrap, 'sh', '-c', W, dir]);",
    ],
    ['spawnSync', "spawnSync('pf-frob', ['-c', 'x']);"],
  ];
  for (const [what, code] of ts) {
    const got = scanTs(code, 'snippet.ts');
    assert.ok(
      got.some((f) => f.cmd.endsWith('pf-frob')),
      `${what}: found ${JSON.stringify(got)}`,
    );
    assert.ok(undeclared(got).length > 0, `${what}: the check fails`);
  }
  const sh: [string, string][] = [
    ['a simple command', 'pf-frob -x'],
    ['after an assignment and a redirection', 'PATH=/bin 2>/dev/null pf-frob'],
    ['in a pipeline', 'ip -o route | pf-frob -n'],
    ['in a list', 'true && pf-frob || exit 1'],
    ['in $(…)', 'x=$(pf-frob --list)'],
    ['in quotes and $(…)', 'echo "$(cat "$f" 2>/dev/null || pf-frob)"'],
    ['in backquotes', 'x=`pf-frob`'],
    ['an if condition', 'if pf-frob; then :; fi'],
    ['a while body', 'while read -r l; do pf-frob "$l"; done <f'],
    ['a case body', 'case $x in\na | b) pf-frob ;;\n*) ;;\nesac'],
    ['a function body', 'f() {\n\tpf-frob "$@"\n}'],
    ['behind exec', 'exec pf-frob --run'],
    ['behind nsenter', 'nsenter -t "$1" -n -m -- pf-frob -4'],
    ['behind timeout and nsenter', 'timeout 5 nsenter -t "$1" -n -- pf-frob'],
    ['behind setsid, in the background', 'setsid pf-frob "$@" </dev/null >>log 2>&1 &'],
    ['looked up with command -v', 'bin=$(command -v pf-frob) || exit 3'],
    ['a shebang', '#!/usr/bin/env pf-frob\necho hi'],
  ];
  for (const [what, code] of sh) {
    const got = scanShell(code, 'snippet.sh');
    assert.ok(
      got.some((f) => f.cmd === 'pf-frob'),
      `${what}: found ${JSON.stringify(got)}`,
    );
    assert.ok(undeclared(got).length > 0, `${what}: the check fails`);
  }
  // and it does not report what is no program: keywords, builtins, functions, variables, case
  // patterns, here-document bodies, options
  const quiet = [
    'set -eu',
    'die() { printf "%s\\n" "$1" >&2; exit 1; }',
    'case $c in udhcpc | frob) die x ;; esac',
    'for c in pf-a pf-b; do echo "$c"; done',
    '"$client_bin" "$@" &',
    '${cmd:-x} -y',
    'cat <<EOF\npf-inside-heredoc\nEOF',
    '[ -n "$x" ] || die "no"',
    'local x=1; read -r y <f; wait "$!"; trap - INT',
  ].join('\n');
  assert.deepEqual(
    scanShell(quiet, 'quiet.sh').map((f) => f.cmd),
    ['cat'],
  );
  // the line of each finding, for the failure message
  assert.deepEqual(
    scanShell('#!/bin/sh\n\nip link\n  pf-frob\n', 'x').map((f) => `${f.cmd}:${f.line}`),
    ['/bin/sh:1', 'ip:3', 'pf-frob:4'],
  );
  assert.deepEqual(undeclared(scanTs("\n\nawait execa('pf-frob');", 'src/x.ts')), ['src/x.ts:3: pf-frob']);
});

test('a "not installed" hint names the package of every tool pipefitter itself may start', () => {
  const runtime = runtimeTools();
  assert.ok(runtime.length >= 20, `${runtime.length} runtime tools`);
  for (const t of runtime) {
    const hint = hintFor('tool-missing', 'some step', [t.cmd]) ?? '';
    assert.ok(t.pkg, `${t.cmd} has a package`);
    assert.ok(hint.startsWith(`${t.cmd} is not installed: apt-get install ${t.pkg} `), hint);
    assert.ok(hint.includes(`(needed for ${t.feature ?? '?'})`), hint);
  }
  assert.equal(
    missingToolHint(['nft']),
    'nft is not installed: apt-get install nftables (needed for recipe NAT and published ports)',
  );
  // pipefitter's own words for the old wrong fix are gone
  assert.doesNotMatch(hintFor('tool-missing', 'x', ['nft']) ?? '', /iproute2|util-linux/);
  // any of several (`--dhcp` with none installed)
  assert.equal(
    missingToolHint(['udhcpc', 'dhclient', 'dhcpcd']),
    'none of udhcpc, dhclient, dhcpcd is installed: apt-get install udhcpc (or isc-dhcp-client, or dhcpcd-base) (needed for DHCP)',
  );
  // by path, and a program the table does not know
  assert.equal(toolEntry('/usr/sbin/nft')?.pkg, 'nftables');
  assert.equal(toolEntry('/usr/lib/cni/bridge')?.pkg, 'containernetworking-plugins');
  assert.equal(toolEntry('/opt/x/bridge'), undefined);
  assert.equal(installHint(['pf-no-such-tool']), 'install the package that provides it');
});
