/**
 * `pipefitter cni serve`: the launcher `pipefitter cni install` writes hands each call to the
 * resident server over its socket, and runs the plugin itself whenever the server cannot take
 * it (none running, killed, another network namespace, other settings). Every call here goes
 * through the installed launcher, as a runtime runs it; the server's log tells who answered,
 * the kernel (`ip -j`) and host-local's leases what was made.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { BIN, cli } from '../helpers/cli.js';
import { expectError, expectOk, kindNet } from '../helpers/cni-invoke.js';
import type { KindNet } from '../helpers/cni-invoke.js';
import { link, ping, readState } from '../helpers/read-back.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';

interface Served {
  readonly runDir: string;
  readonly socket: string;
  readonly launcher: string;
  /** The plugin's environment for a call (the launcher's pinned run directory, the harness's state). */
  readonly env: (cmd: string, netns: string | undefined, id: string) => Record<string, string>;
  /** Run the launcher as a runtime does. */
  readonly call: (
    env: Record<string, string>,
    conf: string,
    via?: string[],
  ) => Promise<{ code: number; stdout: string; stderr: string; out: Record<string, unknown> | undefined }>;
  /** Start a server (its stderr kept); resolves once it listens. */
  readonly start: (extra?: Record<string, string>) => Promise<Server>;
}

interface Server {
  readonly proc: ResultPromise;
  readonly log: () => string;
  /** The calls it answered, as its log has them ("ADD c1: exit 0 in 42 ms" → "ADD c1 0"). */
  readonly calls: () => string[];
  readonly stop: () => Promise<void>;
}

const served = async (t: { after: (fn: () => unknown) => void }, n: KindNet): Promise<Served> => {
  await needTools('nc.openbsd');
  const runDir = await mkdtemp(`/tmp/pf-${runId}-cni-serve-`);
  const binDir = await mkdtemp(`/tmp/pf-${runId}-cni-bin-`);
  t.after(() =>
    Promise.all([rm(runDir, { recursive: true, force: true }), rm(binDir, { recursive: true, force: true })]),
  );
  const settings = {
    PIPEFITTER_STATE_DIR: process.env.PIPEFITTER_STATE_DIR ?? '',
    PIPEFITTER_RUN_DIR: runDir,
    PIPEFITTER_BACKEND: process.env.PIPEFITTER_BACKEND ?? '',
  };
  const inst = await cli(['--json', 'cni', 'install', '--bin-dir', binDir], settings);
  assert.equal(inst.code, 0, inst.stderr);
  const installed = JSON.parse(inst.stdout) as { socket: string; client?: string };
  assert.equal(installed.socket, `${runDir}/cni.sock`);
  assert.match(String(installed.client), /nc\.openbsd$/, 'the launcher hands calls over with OpenBSD nc');
  const launcher = `${binDir}/pipefitter`;
  const servers: Server[] = [];
  t.after(() => Promise.all(servers.map((s) => s.stop())));
  return {
    runDir,
    socket: installed.socket,
    launcher,
    env: (cmd, netns, id) => {
      const e = n.env(cmd, netns, id);
      // what a runtime passes: the CNI_* and PATH; the launcher supplies its pinned settings
      return Object.fromEntries(
        Object.entries(e).filter(
          (kv): kv is [string, string] => kv[1] !== undefined && !kv[0].startsWith('PIPEFITTER_'),
        ),
      );
    },
    call: async (env, conf, via = []) => {
      const argv = [...via, launcher];
      const r = await execa(argv[0]!, argv.slice(1), { input: conf, env, extendEnv: false, reject: false });
      const stdout = String(r.stdout);
      return {
        code: r.exitCode ?? -1,
        stdout,
        stderr: String(r.stderr),
        out: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>),
      };
    },
    start: async (extra = {}) => {
      let log = '';
      const proc = execa('node', [BIN, 'cni', 'serve'], {
        env: { ...settings, ...extra },
        reject: false,
        buffer: false,
      });
      proc.stderr?.on('data', (c: Buffer) => (log += c.toString()));
      const s: Server = {
        proc,
        log: () => log,
        calls: () =>
          [...log.matchAll(/^pipefitter cni serve: (\S+) (\S+): exit (\d+) in \d+ ms$/gm)].map(
            (m) => `${m[1]} ${m[2]} ${m[3]}`,
          ),
        stop: async () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          await proc;
        },
      };
      servers.push(s);
      for (let i = 0; i < 400 && !/listening on/.test(log); i++) {
        if (proc.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.match(log, /listening on .*cni\.sock \(process \d+\)/, `the server listens: ${log}`);
      return s;
    },
  };
};

test('cni serve: the launcher hands ADD, CHECK, DEL and errors to the server; results and kernel as without it', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await kindNet(t, sb);
    const s = await served(t, n);
    const server = await s.start();
    const bridge = sb.name('sv');
    const conf = n.conf({ bridge }, { cniVersion: '1.0.0' });
    const [a, b] = [await sb.netns('a'), await sb.netns('b')];

    const ra = await s.call(s.env('ADD', a, 'ca'), conf);
    expectOk(ra, 'ADD a through the server');
    const rb = await s.call(s.env('ADD', b, 'cb'), conf);
    expectOk(rb, 'ADD b through the server');
    assert.deepEqual(server.calls(), ['ADD ca 0', 'ADD cb 0'], 'the server answered both');
    const ips = ra.out?.ips as { address: string; interface: number }[];
    assert.deepEqual(ips, [{ address: '198.51.100.2/24', gateway: '198.51.100.1', interface: 2 }]);
    const eth0 = link(await readState({ netns: a }), 'eth0');
    assert.deepEqual(
      eth0?.addrs.filter((x) => !x.startsWith('fe80')),
      ['198.51.100.2/24'],
    );
    assert.equal(link(await readState('sandbox'), bridge)?.kind, 'bridge');
    assert.ok(await ping({ netns: a }, '198.51.100.3'), 'a reaches b across the bridge');

    // CHECK with the ADD's result; an error comes back as the plugin's own, exit code and all
    const checked = await s.call(
      s.env('CHECK', a, 'ca'),
      JSON.stringify({ ...(JSON.parse(conf) as object), prevResult: ra.out }),
    );
    expectOk(checked, 'CHECK through the server');
    assert.equal(checked.stdout, '');
    const again = await s.call(s.env('ADD', a, 'ca'), conf);
    expectError(again, 100, /^CNI_IFNAME "eth0": an interface of that name already exists/, 'ADD twice');
    const bad = await s.call(s.env('ADD', a, 'cx'), n.conf({ bridge, mtu: 'big' }));
    expectError(bad, 7, /^mtu "big"/, 'a bad configuration');
    assert.deepEqual(server.calls().slice(2), ['CHECK ca 0', 'ADD ca 1', 'ADD cx 1']);

    for (const [ns, id] of [
      [a, 'ca'],
      [b, 'cb'],
    ] as const) {
      const d = await s.call(s.env('DEL', ns, id), conf);
      expectOk(d, `DEL ${id}`);
      assert.equal(d.stdout, '');
    }
    assert.deepEqual(await n.leases(), [], 'the leases are released');
    assert.equal(link(await readState('sandbox'), bridge), undefined, 'the bridge pipefitter made is gone');

    // VERSION needs no configuration; the server answers it too
    const v = await s.call({ CNI_COMMAND: 'VERSION' }, '');
    assert.equal(v.out?.cniVersion, '1.1.0');
    await server.stop();
    assert.equal(server.proc.exitCode, 0, server.log());
    assert.match(server.log(), /stopped after 8 calls/);
    assert.equal(existsSync(s.socket), false, 'the socket is removed');
    assert.equal(existsSync(`${s.socket}.pid`), false, 'the PID file is removed');
  });
});

test('cni serve: eight ADDs at once, each its own address; then eight DELs at once', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await kindNet(t, sb);
    const s = await served(t, n);
    const server = await s.start();
    const conf = n.conf({ bridge: sb.name('sp') }, { cniVersion: '1.0.0' });
    const nss = await Promise.all([...Array(8).keys()].map((i) => sb.netns(`p${i}`)));
    t.after(() => Promise.all(nss.map((ns, i) => s.call(s.env('DEL', ns, `c${i}`), conf))));
    const adds = await Promise.all(nss.map((ns, i) => s.call(s.env('ADD', ns, `c${i}`), conf)));
    adds.forEach((r, i) => expectOk(r, `ADD c${i}`));
    const got = adds.map((r) => (r.out?.ips as { address: string }[])[0]!.address).sort();
    assert.equal(new Set(got).size, 8, `eight addresses: ${got.join(' ')}`);
    for (const [i, ns] of nss.entries()) {
      const mine = (adds[i]!.out?.ips as { address: string }[])[0]!.address;
      assert.ok(link(await readState({ netns: ns }), 'eth0')?.addrs.includes(mine), `c${i} has ${mine}`);
    }
    assert.equal(server.calls().filter((c) => c.endsWith(' 0')).length, 8, server.log());
    const dels = await Promise.all(nss.map((ns, i) => s.call(s.env('DEL', ns, `c${i}`), conf)));
    dels.forEach((r, i) => expectOk(r, `DEL c${i}`));
    assert.deepEqual(await n.leases(), []);
    await server.stop();
  });
});

test('cni serve: the launcher runs the plugin itself when the server cannot take the call', async (t) => {
  await withSandbox(t, async (sb) => {
    const n = await kindNet(t, sb);
    const s = await served(t, n);
    const conf = n.conf({ bridge: sb.name('sf') }, { cniVersion: '1.0.0' });
    const [a, other] = [await sb.netns('a'), await sb.netns('o')];
    const inA = async (): Promise<string[]> =>
      (link(await readState({ netns: a }), 'eth0')?.addrs ?? []).filter((x) => !x.startsWith('fe80'));

    // no server at all
    expectOk(await s.call(s.env('ADD', a, 'ca'), conf), 'ADD with no server');
    assert.deepEqual(await inA(), ['198.51.100.2/24']);

    // a server with other settings (its own state directory) declines; node runs the call
    const elsewhere = await mkdtemp(`/tmp/pf-${runId}-cni-serve-state-`);
    t.after(() => rm(elsewhere, { recursive: true, force: true }));
    const other1 = await s.start({ PIPEFITTER_STATE_DIR: elsewhere });
    expectOk(await s.call(s.env('DEL', a, 'ca'), conf), 'DEL declined by the server');
    assert.deepEqual(other1.calls(), []);
    assert.match(other1.log(), /declined a call .*PIPEFITTER_STATE_DIR differs/);
    assert.deepEqual(await inA(), [], 'the DEL was done, by the launcher');
    await other1.stop();

    // a server killed outright leaves its socket and PID file: the launcher's connection fails
    const killed = await s.start();
    killed.proc.kill('SIGKILL');
    await killed.proc;
    assert.ok(existsSync(s.socket), 'a killed server leaves its socket');
    expectOk(await s.call(s.env('ADD', a, 'ca'), conf), 'ADD beside a dead socket');
    // (host-local hands out the address after the last one it gave)
    assert.deepEqual(await inA(), ['198.51.100.3/24']);

    // a new server takes the dead one's place; from another network namespace the launcher
    // does not use it (the host side would be made in the server's namespace, not the caller's)
    const server = await s.start();
    const fromOther = await s.call({ CNI_COMMAND: 'VERSION', PATH: process.env.PATH ?? '' }, '', [
      'ip',
      'netns',
      'exec',
      other,
    ]);
    expectOk(fromOther, 'VERSION from another namespace');
    assert.deepEqual(server.calls(), [], 'not answered by the server');
    expectOk(await s.call(s.env('DEL', a, 'ca'), conf), 'DEL through the new server');
    assert.deepEqual(server.calls(), ['DEL ca 0']);
    assert.deepEqual(await inA(), []);
    assert.deepEqual(await n.leases(), []);

    // one server per socket
    const second = await cli(['cni', 'serve'], {
      PIPEFITTER_STATE_DIR: process.env.PIPEFITTER_STATE_DIR ?? '',
      PIPEFITTER_RUN_DIR: s.runDir,
    });
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /another `pipefitter cni serve` answers there \(process \d+\)/);
    await server.stop();
    // the log file names the server as the one that ran the call
    const logFile = `${s.runDir}/cni.log`;
    const logged = await s.start({ PIPEFITTER_CNI_LOG: logFile });
    const gone = await s.call({ ...s.env('DEL', undefined, 'cz'), PIPEFITTER_CNI_LOG: logFile }, conf);
    expectOk(gone, 'DEL of an attachment that never was');
    assert.deepEqual(logged.calls(), ['DEL cz 0']);
    const pid = logged.proc.pid;
    await logged.stop();
    assert.match(await readFile(logFile, 'utf8'), new RegExp(`^\\S+ serve:${pid} DEL cz eth0: .*done$`, 'm'));
  });
});
