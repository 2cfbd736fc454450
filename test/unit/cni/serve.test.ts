/**
 * The hand-over between the launcher and `pipefitter cni serve`: the wire format (cni/wire.ts),
 * the launcher's shell side run by sh against a stand-in server speaking it, and the firewall
 * reading ADDs share in a server (api/cni-serve.ts firewallMemo).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  DECLINE,
  WIRE_KEYS,
  decodeRequest,
  encodeReply,
  encodeRequest,
  settingDiffering,
} from '../../../src/cni/wire.js';
import { findServeClient, launcherText } from '../../../src/api/cni-install.js';
import { firewallMemo, firewallSettled } from '../../../src/api/cni-serve.js';
import type { FirewallState } from '../../../src/model/observed.js';

test('a request round-trips: the parameters set, the configuration byte for byte', () => {
  const conf = '{"cniVersion":"1.0.0","name":"lab"}\n\n  ünïcode\0 and a NUL\n';
  const env = { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=x=y', CNI_PATH: '', PIPEFITTER_STATE_DIR: '/s' };
  const back = decodeRequest(encodeRequest(env, conf));
  assert.ok(!(back instanceof Error));
  assert.deepEqual(back, {
    env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=x=y', PIPEFITTER_STATE_DIR: '/s' },
    stdin: conf,
  });
});

test('a malformed request is an error saying what is wrong, never a call', () => {
  const bad = (b: string | Buffer): string => {
    const r = decodeRequest(Buffer.from(b));
    assert.ok(r instanceof Error, String(b));
    return r.message;
  };
  assert.match(bad('pfcni/2\nCNI_COMMAND=ADD\n'), /ends before its parameters do/);
  assert.match(bad('pfcni/1\0CNI_COMMAND=ADD\0\0{}'), /ends before its parameters do/);
  assert.match(bad('pfcni/9\n\n{}\n'), /not a pfcni\/2 request/);
  assert.match(bad('pfcni/2\nLD_PRELOAD=/x.so\n\n{}\n'), /unexpected parameter "LD_PRELOAD=\/x\.so"/);
  assert.match(bad('pfcni/2\nCNI_COMMAND\n\n{}\n'), /unexpected parameter "CNI_COMMAND"/);
  assert.match(bad('pfcni/2\nCNI_COMMAND=ADD\n\n{}'), /ends before its configuration does/);
});

test('settingDiffering: unset and empty agree; the first differing setting is named', () => {
  assert.equal(settingDiffering({}, { PIPEFITTER_STATE_DIR: '' }), undefined);
  assert.equal(
    settingDiffering({ PIPEFITTER_BACKEND: 'ip' }, { PIPEFITTER_BACKEND: 'ip', PATH: '/x' }),
    undefined,
  );
  assert.equal(settingDiffering({ PIPEFITTER_BACKEND: 'ip' }, {}), 'PIPEFITTER_BACKEND');
  assert.equal(
    settingDiffering(
      { PIPEFITTER_STATE_DIR: '/a', PIPEFITTER_CNI_LOG: '/l' },
      { PIPEFITTER_STATE_DIR: '/b' },
    ),
    'PIPEFITTER_STATE_DIR',
  );
  // the call's own parameters are not settings
  assert.equal(settingDiffering({ CNI_COMMAND: 'ADD' }, {}), undefined);
});

interface StandIn {
  readonly dir: string;
  readonly launcher: string;
  /** What the stand-in server received, decoded. */
  readonly received: ReturnType<typeof decodeRequest>[];
  /** What node (the fallback entry) got: its stdin and arguments, from its record file. */
  readonly fallback: () => Promise<{ stdin: string; args: string[] } | undefined>;
  server?: Server;
}

/**
 * A launcher whose socket is served by `reply` (the stand-in writes this process's PID as the
 * server's: the same network namespace) and whose node entry records what it was given.
 */
const standIn = async (
  t: { after: (fn: () => unknown) => void },
  reply: ((req: ReturnType<typeof decodeRequest>) => string) | undefined,
): Promise<StandIn> => {
  const client = findServeClient();
  assert.ok(client, 'OpenBSD nc is installed (netcat-openbsd; scripts/ensure.mjs installs it for the tests)');
  const dir = await mkdtemp(join(tmpdir(), 'pf-unit-serve-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const entry = join(dir, 'entry.mjs');
  await writeFile(
    entry,
    [
      "import { writeFileSync } from 'node:fs';",
      'const chunks = []; for await (const c of process.stdin) chunks.push(c);',
      `writeFileSync(${JSON.stringify(join(dir, 'fallback.json'))}, JSON.stringify({ stdin: Buffer.concat(chunks).toString(), args: process.argv.slice(2) }));`,
      "process.stdout.write('from node\\n'); process.exitCode = 3;",
    ].join('\n'),
  );
  const socket = join(dir, 'cni.sock');
  const launcher = join(dir, 'pipefitter');
  await writeFile(
    launcher,
    launcherText(process.execPath, entry, [['PIPEFITTER_STATE_DIR', '/pinned']], { socket, client }),
  );
  await chmod(launcher, 0o755);
  const s: StandIn = {
    dir,
    launcher,
    received: [],
    fallback: async () =>
      readFile(join(dir, 'fallback.json'), 'utf8').then(
        (x) => JSON.parse(x) as { stdin: string; args: string[] },
        () => undefined,
      ),
  };
  if (reply) {
    const server = createServer({ allowHalfOpen: true }, (c) => {
      const chunks: Buffer[] = [];
      c.on('data', (x: Buffer) => chunks.push(x));
      c.on('end', () => {
        const req = decodeRequest(Buffer.concat(chunks));
        s.received.push(req);
        c.end(reply(req));
      });
    });
    await new Promise<void>((done) => server.listen(socket, done));
    await writeFile(`${socket}.pid`, `${process.pid}\n`);
    s.server = server;
    t.after(() => new Promise<void>((done) => server.close(() => done())));
  }
  return s;
};

const launch = (s: StandIn, env: Record<string, string>, stdin: string, args: string[] = []) =>
  execa(s.launcher, args, {
    input: stdin,
    env: { PATH: '/usr/bin:/bin', ...env },
    extendEnv: false,
    reject: false,
  });

test('the launcher hands the call over: every parameter and the pinned settings sent, the reply is its stdout and exit code', async (t) => {
  // stdout as the plugin prints it: one JSON document and a line break
  const out = '{\n  "cniVersion": "1.0.0",\n  "code": 7,\n  "msg": "odd % \\\\ $HOME `x` EOF\\nEOF"\n}\n';
  const s = await standIn(t, () => encodeReply(1, out));
  // a configuration whose line is the here-document's end word, and no final line break
  const conf = '{"cniVersion":\n"1.0.0", "x": "$HOME \\\\ `id`"\nEOF\n\n}';
  const env = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=a b',
    CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
  };
  const r = await launch(s, env, conf);
  assert.equal(r.exitCode, 1);
  assert.equal(r.stdout, out.slice(0, -1), 'stdout as the server wrote it (execa drops one final newline)');
  assert.deepEqual(s.received, [{ env: { ...env, PIPEFITTER_STATE_DIR: '/pinned' }, stdin: conf }]);
  assert.equal(await s.fallback(), undefined, 'node never ran');
  const ok = await launch(s, { CNI_COMMAND: 'VERSION', PIPEFITTER_STATE_DIR: '/runtime' }, '');
  assert.equal(ok.exitCode, 1);
  assert.deepEqual(s.received[1], {
    env: { CNI_COMMAND: 'VERSION', PIPEFITTER_STATE_DIR: '/runtime' },
    stdin: '',
  });
  assert.equal(WIRE_KEYS.length, 10);
  // no stdout (a DEL done): the exit code alone
  const del = await standIn(t, () => encodeReply(0, ''));
  const r0 = await launch(del, { CNI_COMMAND: 'DEL' }, conf);
  assert.deepEqual([r0.exitCode, r0.stdout], [0, '']);
});

test('a parameter with a line break is not handed over (a wire line could not carry it): node runs the call', async (t) => {
  const s = await standIn(t, () => encodeReply(0, ''));
  const conf = '{"cniVersion":"1.0.0"}\n';
  const r = await launch(s, { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1\nCNI_COMMAND=DEL' }, conf);
  assert.deepEqual([r.exitCode, r.stdout], [3, 'from node']);
  assert.equal(s.received.length, 0);
  assert.deepEqual(await s.fallback(), { stdin: conf, args: [] });
});

test('declined, or no server, or a dead socket: node runs the call on the configuration already read', async (t) => {
  const conf = '{"cniVersion":"1.0.0","name":"lab"}\n';
  const declining = await standIn(t, () => DECLINE);
  const d = await launch(declining, { CNI_COMMAND: 'DEL' }, conf, ['a b']);
  assert.equal(declining.received.length, 1);
  assert.deepEqual([d.exitCode, d.stdout], [3, 'from node']);
  assert.deepEqual(await declining.fallback(), { stdin: conf, args: ['a b'] });

  const none = await standIn(t, undefined);
  const n = await launch(none, { CNI_COMMAND: 'DEL' }, conf);
  assert.deepEqual([n.exitCode, n.stdout], [3, 'from node']);
  assert.deepEqual(await none.fallback(), { stdin: conf, args: [] });

  // a socket nobody listens on any more (its listener killed outright), its PID file naming a
  // live process (this one)
  const dead = await standIn(t, undefined);
  const sock = join(dead.dir, 'cni.sock');
  const listener = execa(findServeClient()!, ['-lU', sock], { reject: false });
  for (
    let i = 0;
    i < 200 &&
    !(await stat(sock).then(
      (st) => st.isSocket(),
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 10));
  listener.kill('SIGKILL');
  await listener;
  assert.ok((await stat(sock)).isSocket(), 'the dead listener left its socket');
  await writeFile(`${sock}.pid`, `${process.pid}\n`);
  const x = await launch(dead, { CNI_COMMAND: 'DEL' }, conf);
  assert.deepEqual([x.exitCode, x.stdout], [3, 'from node']);
  assert.deepEqual(await dead.fallback(), { stdin: conf, args: [] });
});

const fw = (over: Partial<FirewallState> = {}): FirewallState => ({
  brNetfilter: { 4: true, 6: true },
  forwardDrop: { 4: false, 6: false },
  dockerUser: { 4: false, 6: false },
  bridgeRules: [],
  natRules: [],
  ...over,
});

test('firewallSettled: an ADD onto the bridge would add no rule', () => {
  const rule4 = [{ family: 4 as const, chain: 'FORWARD', bridge: 'br0' }];
  const cases: [Partial<FirewallState>, boolean, string][] = [
    [{}, true, 'FORWARD accepts'],
    [{ forwardDrop: { 4: true, 6: false } }, false, 'IPv4 drops, no rule'],
    [{ forwardDrop: { 4: true, 6: false }, bridgeRules: rule4 }, true, 'the rule is there'],
    [{ forwardDrop: { 4: true, 6: true }, bridgeRules: rule4 }, false, 'IPv6 lacks it'],
    [
      { brNetfilter: { 4: false, 6: false }, forwardDrop: { 4: true, 6: true } },
      true,
      'bridged frames never meet iptables',
    ],
  ];
  for (const [over, settled, why] of cases) assert.equal(firewallSettled(fw(over), 'br0'), settled, why);
});

test('firewallMemo: one reading reused while young, settled and with br_netfilter unchanged; a change of ours drops it', async () => {
  let clock = 0;
  let br = { 4: true, 6: true } as Record<4 | 6, boolean>;
  let reads = 0;
  let current = fw();
  const read = (): Promise<FirewallState> => {
    reads++;
    return Promise.resolve(current);
  };
  const m = firewallMemo(
    2000,
    () => clock,
    () => br,
  );
  await m.firewallFor('br0')(read);
  await m.firewallFor('br0')(read);
  assert.equal(reads, 1, 'the second ADD reuses the reading');
  await m.firewallFor(undefined)(read);
  assert.equal(reads, 2, 'no bridge named: read afresh');
  clock = 2500;
  await m.firewallFor('br0')(read);
  assert.equal(reads, 3, 'too old');
  br = { 4: false, 6: true };
  await m.firewallFor('br0')(read);
  assert.equal(reads, 4, 'br_netfilter changed since');
  m.firewallTouched();
  await m.firewallFor('br0')(read);
  assert.equal(reads, 5, 'a change of ours dropped it');
  current = fw({ forwardDrop: { 4: true, 6: true } });
  m.firewallTouched();
  await m.firewallFor('br0')(read);
  await m.firewallFor('br0')(read);
  assert.equal(reads, 7, 'a reading on which the ADD adds a rule is never reused');
  // a reading started before a change of ours is used by its ADD, not kept
  current = fw();
  let release!: () => void;
  const slow = m.firewallFor('br0')(() => new Promise((done) => (release = () => done(current))));
  m.firewallTouched();
  release();
  await slow;
  await m.firewallFor('br0')(read);
  assert.equal(reads, 8);
});
