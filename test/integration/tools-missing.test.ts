/**
 * A program pipefitter starts that is not installed: the runner says which one (reason
 * `tool-missing`, `missing`), and the hint names its package from the tool table, however it was
 * started — directly, behind `nsenter --net=` into a container, as `ip -n NAME`. End to end, the CLI names the package, exits
 * non-zero and changes nothing. A tool is made missing the way a machine lacks it: PATH holds
 * every other tool (test/helpers/tools.ts pathWith); for the DHCP clients, which the DHCP runner
 * looks up on its own fixed PATH, an empty file is mounted over the program in a private mount
 * namespace of the CLI's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { realpath, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { hintFor } from '../../src/exec/hints.js';
import { createRunner } from '../../src/exec/runner.js';
import { HOST } from '../../src/model/netns.js';
import type { NetnsRef } from '../../src/model/netns.js';
import { dhcpStateDir } from '../../src/plan/dhcp.js';
import { runtimeTools } from '../../src/tools.js';
import { BIN, cli } from '../helpers/cli.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { link, readState } from '../helpers/read-back.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { needTools, pathWith, toolPath } from '../helpers/tools.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The runtime tools installed here (podman and dot may not be: they are missing anyway). */
const installed = async (): Promise<string[]> => {
  const out: string[] = [];
  for (const t of runtimeTools()) if (await toolPath(t.cmd)) out.push(t.cmd);
  return out;
};

/** A PATH with every runtime tool (and node) but `without`. */
const pathWithout = async (...without: string[]) =>
  pathWith([...(await installed()).filter((c) => !without.includes(c)), 'node']);

const withPath = async <T>(path: string, fn: () => Promise<T>): Promise<T> => {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
};

test('the runner names each missing tool pipefitter may start, and the hint its package: directly, behind nsenter, as ip -n', (t) =>
  withSandbox(t, async (sb) => {
    const c = await sb.container();
    const named = await sb.netns('n');
    const inContainer: NetnsRef = { kind: 'pid', pid: c.pid };
    const runner = createRunner();
    const problems: string[] = [];
    for (const tool of runtimeTools()) {
      const pkg = tool.pkg ?? '?';
      const path = await pathWithout(tool.cmd);
      try {
        await withPath(path.path, async () => {
          const check = async (
            how: string,
            netns: NetnsRef,
            direct: boolean,
            exitCode: number | undefined,
          ) => {
            const r = await runner.run([tool.cmd, '--version'], { netns, ...(direct ? { env: {} } : {}) });
            const hint = hintFor(r.reason ?? 'other', 'a step', r.missing) ?? '';
            const ok =
              r.failed &&
              r.reason === 'tool-missing' &&
              JSON.stringify(r.missing) === JSON.stringify([tool.cmd]) &&
              r.exitCode === exitCode &&
              hint.startsWith(`${tool.cmd} is not installed: apt-get install ${pkg} (needed for `) &&
              r.stderr === `${tool.cmd}: command not found`;
            if (!ok)
              problems.push(
                `${tool.cmd} ${how}: exit ${String(r.exitCode)} reason ${String(r.reason)} missing ${JSON.stringify(r.missing)} stderr ${JSON.stringify(r.stderr)} hint ${hint}`,
              );
          };
          // started directly: ENOENT, with or without an environment of its own
          await check('directly', HOST, false, undefined);
          await check('directly, with an environment', HOST, true, undefined);
          // behind nsenter: nsenter's own exit 127 ("failed to execute"), unless nsenter is the one missing
          const wrapped = tool.cmd === 'nsenter' ? undefined : 127;
          await check('behind nsenter', inContainer, false, wrapped);
          if (tool.cmd === 'ip' || tool.cmd === 'bridge')
            await check('as -n NAME', { kind: 'name', name: named }, false, undefined);
        });
      } finally {
        await path.remove();
      }
    }
    assert.deepEqual(problems, []);
  }));

test('end to end, ip backend: a container target without nsenter names util-linux; nothing changes', (t) =>
  withSandbox(t, async (sb) => {
    const c = await sb.container();
    const path = await pathWithout('nsenter');
    t.after(() => path.remove());
    const before = await snapshot(['sandbox', { pid: c.pid }]);
    const r = await cli(['attach', `pid:${c.pid}`, '--bridge', sb.name('ns'), '--ip', '192.0.2.10/24'], {
      PATH: path.path,
      PIPEFITTER_BACKEND: 'ip',
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /nsenter: command not found/);
    assert.match(
      r.stderr,
      /hint: nsenter is not installed: apt-get install util-linux \(needed for entering containers/,
    );
    await expectState(['sandbox', { pid: c.pid }], before, 'nothing changed');
  }));

test('end to end, netlink backend: a container target needs no nsenter: attach, detach, as before', (t) =>
  withSandbox(t, async (sb) => {
    const c = await sb.container();
    const path = await pathWithout('nsenter');
    t.after(() => path.remove());
    const spaces = ['sandbox', { pid: c.pid }] as const;
    const before = await snapshot(spaces);
    const env = { PATH: path.path, PIPEFITTER_BACKEND: 'netlink' };
    const r = await cli(['attach', `pid:${c.pid}`, '--bridge', sb.name('nn'), '--ip', '192.0.2.10/24'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /no carrier/, 'the carrier is read in-process too');
    const addrs = link(await readState({ pid: c.pid }), 'eth1')?.addrs ?? [];
    assert.deepEqual(
      addrs.filter((a) => !a.startsWith('fe80:')),
      ['192.0.2.10/24'],
    );
    const d = await cli(['detach', `pid:${c.pid}`], env);
    assert.equal(d.code, 0, d.stderr);
    await expectState(spaces, before, 'detached');
  }));

/** Run the CLI in a private mount namespace where each of `hide` is an empty, non-executable file. */
const cliHiding = async (hide: readonly string[], args: readonly string[]) => {
  const empty = `/tmp/pf-${runId}-hidden`;
  await writeFile(empty, '');
  try {
    const r = await execa(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        'e=$1; n=$2; shift 2; i=0; while [ "$i" -lt "$n" ]; do mount -n --bind "$e" "$1"; shift; i=$((i + 1)); done; exec "$@"',
        'sh',
        empty,
        String(hide.length),
        ...hide,
        process.execPath,
        BIN,
        ...args,
      ],
      { reject: false, cwd: ROOT },
    );
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  } finally {
    await rm(empty, { force: true });
  }
};

test('end to end: a NAT recipe without nft is refused before anything changes, naming nftables', (t) =>
  withSandbox(t, async (sb) => {
    await needTools('nft', 'unshare', 'mount');
    const set = ['--set', `ns=pf-${runId}-${sb.id}`, '--set', `p=t${sb.id}`];
    const nft = [await realpath((await toolPath('nft')) ?? 'nft')];
    const before = await snapshot(['sandbox']);
    const r = await cliHiding(nft, ['apply', 'recipes/shared-bridge-nat.yaml', ...set]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /nft is not installed; nothing was changed/);
    assert.match(r.stderr, /hint: apt-get install nftables \(needed for recipe NAT and published ports\)/);
    const json = await cliHiding(nft, ['apply', 'recipes/shared-bridge-nat.yaml', ...set, '--json']);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'E_TOOL_MISSING');
    await expectState(['sandbox'], before, 'nothing changed (the namespaces of the run included)');
    assert.equal(existsSync(`${process.env.PIPEFITTER_STATE_DIR ?? ''}/recipes/natlab.json`), false);
    // a dry run still prints the script, and says where it will fail
    const dry = await cliHiding(nft, ['apply', 'recipes/shared-bridge-nat.yaml', ...set, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /nft is not installed: the script will fail where it is needed/);
  }));

test("end to end: a DHCP client that is not installed — the DHCP runner's exit 3 — names its package; rolled back", (t) =>
  withSandbox(t, async (sb) => {
    await needTools('udhcpc', 'dhclient', 'dhcpcd', 'busybox', 'unshare', 'mount');
    const where = async (cmd: string) => realpath((await toolPath(cmd)) ?? cmd);
    const c = await sb.container();
    const before = await snapshot(['sandbox', { pid: c.pid }]);
    const attach = (dhcp: string[]) => ['attach', `pid:${c.pid}`, '--bridge', sb.name('dh'), ...dhcp];

    const one = await cliHiding([await where('dhcpcd')], attach(['--dhcp', 'dhcpcd']));
    assert.equal(one.code, 1, one.stderr);
    assert.match(one.stderr, /pipefitter-dhcp: dhcpcd is not installed/);
    assert.match(
      one.stderr,
      /hint: dhcpcd is not installed: apt-get install dhcpcd-base \(needed for DHCP: --dhcp dhcpcd\)/,
    );
    assert.match(one.stderr, /rolled back/);
    await expectState(['sandbox', { pid: c.pid }], before, 'nothing changed');
    assert.equal(existsSync(dhcpStateDir(`pid:${c.pid}`, 'eth1')), false, 'no DHCP state left');

    // `--dhcp` (the first installed client) with none: busybox's udhcpc applet hidden too
    const hide = await Promise.all(['udhcpc', 'dhclient', 'dhcpcd', 'busybox'].map(where));
    const none = await cliHiding(hide, attach(['--dhcp']));
    assert.equal(none.code, 1, none.stderr);
    assert.match(
      none.stderr,
      /hint: none of udhcpc, dhclient, dhcpcd is installed: apt-get install udhcpc \(or isc-dhcp-client, or dhcpcd-base\) \(needed for DHCP\)/,
    );
    await expectState(['sandbox', { pid: c.pid }], before, 'nothing changed');
  }));
