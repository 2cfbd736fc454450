#!/usr/bin/env node
// Test entry point used by `npm test`, `npm run test:unit` and `npm run test:integration`.
//
// Integration tests never run in the machine's own network namespace: this script makes a
// sandbox namespace with no uplink (only `lo`), runs the node test runner inside it with
// `nsenter --net=` (not `ip netns exec`, which remounts /sys and upsets dockerd), and removes
// the sandbox afterwards. Every namespace, link and daemon a test makes therefore lives in
// the sandbox or in namespaces made from inside it.
import { $, fs, path } from 'zx';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

$.verbose = false;
$.quiet = true;

const mode = process.argv[2] ?? 'all';
const extra = process.argv.slice(3);
const root = path.resolve(import.meta.dirname, '..');
process.chdir(root);

const find = async (dir) => {
  if (!(await fs.pathExists(dir))) return [];
  const out = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.test.ts'))
      out.push(path.relative(root, path.join(e.parentPath ?? e.path, e.name)));
  }
  return out.sort();
};

const unit = await find('test/unit');
// The leak check must come last: it proves nothing the suite made is left.
const integration = (await find('test/integration')).sort((a, b) => {
  const la = a.endsWith('zz-leaks.test.ts') ? 1 : 0;
  const lb = b.endsWith('zz-leaks.test.ts') ? 1 : 0;
  return la - lb || a.localeCompare(b);
});

// The kernel VM lane's tests (run inside the VM by `npm run test:vm`), never part of `all`.
const vm = await find('test/vm');

// Backend lanes (issue 12, differential tests): as root, the integration files run under the
// default backend (netlink, in-process) and again under PIPEFITTER_BACKEND=ip, whose test names
// carry "[ip] "; one summary counts both. These files run once, each for a reason:
const ONCE = {
  // about the netlink backend itself: each compares it with `ip` on twin namespaces already
  'test/integration/netlink-read.test.ts': 'the netlink reader against ip -j',
  'test/integration/netlink-write.test.ts': 'each netlink operation against its ip command',
  'test/integration/netlink-observe.test.ts': 'netlink observation against ip -j',
  // runs its scenarios under both backends itself and compares the kernel states they leave
  'test/integration/differential.test.ts': 'both backends, side by side, by itself',
  // choose their backend per test (the ip backend's tools, nsenter needed by one backend only)
  'test/integration/tools-missing.test.ts': 'sets PIPEFITTER_BACKEND per test',
  'test/integration/harness-mutants.test.ts': 'its subject runs PIPEFITTER_BACKEND=ip by design',
  // pipefitter's backend plays no part: the harness and the DHCP runner script alone
  'test/integration/docker-harness.test.ts': "the Docker harness's self-test",
  'test/integration/daemon-start.test.ts': "the helpers' daemon start-up errors",
  'test/integration/podman-harness.test.ts': "the Podman harness's sweep of dead tests' environments",
  'test/integration/containerd-sweep.test.ts': "the sweep of killed containerd tests' host files",
  'test/integration/dhcp-runner.test.ts': 'libexec/pipefitter-dhcp against the clients, no backend',
  // the whole run's leak check: last, after both lanes
  'test/integration/zz-leaks.test.ts': 'the leak check of the whole run, last',
};

const isRoot = process.getuid?.() === 0;
let files;
switch (mode) {
  case 'unit':
    files = unit;
    break;
  case 'integration':
    files = integration;
    break;
  case 'all':
    files = [...unit, ...integration];
    break;
  case 'vm':
    files = vm;
    break;
  case 'files':
    files = extra.splice(0);
    break;
  default:
    console.error(`run-tests: unknown mode "${mode}"; use unit, integration, all, vm or files`);
    process.exit(2);
}
const needsRoot = files.some((f) => f.startsWith('test/integration/') || f.startsWith('test/vm/'));

const nodeBase = [
  '--import',
  'tsx',
  '--import',
  './test/setup.ts',
  '--test',
  '--test-concurrency=1',
  ...extra,
];
const nodeArgs = [...nodeBase, ...files];

if (!needsRoot || !isRoot) {
  if (needsRoot) {
    // Loud, and a failure unless asked for: a run that drops every integration test and says
    // "pass" looks exactly like one that ran them.
    const integrationFiles = files.filter((f) => !f.startsWith('test/unit/'));
    const optOut = process.env.PF_SKIP_INTEGRATION === '1';
    console.error(
      [
        '',
        '#'.repeat(78),
        `# ${integrationFiles.length} INTEGRATION TEST FILES DID NOT RUN: they need root (uid 0) to make network`,
        '# namespaces, and this is uid ' + String(process.getuid?.()) + '. Only the unit tests run below.',
        '# Run `sudo npm test` for the whole suite.',
        optOut
          ? '# PF_SKIP_INTEGRATION=1 is set: this run passes on the unit tests alone.'
          : '# This run FAILS because of that; set PF_SKIP_INTEGRATION=1 to pass on the unit tests alone.',
        '#'.repeat(78),
        '',
      ].join('\n'),
    );
    files = files.filter((f) => f.startsWith('test/unit/'));
    if (!optOut) process.exitCode = 1;
  }
  const p = await $({
    stdio: 'inherit',
    nothrow: true,
  })`node ${nodeArgs.filter((a) => !a.startsWith('test/') || files.includes(a))}`;
  process.exit(p.exitCode || process.exitCode || 0);
}

/**
 * The lanes of this run, in order: the default backend's (every file but the leak check), the
 * ip backend's (the integration files not in ONCE), and the leak check. PF_LANES=netlink runs
 * the first and last only (the default of `files`), PF_LANES=ip the ip lane instead of the
 * default backend's integration files, PF_LANES=both (the default of `all` and `integration`)
 * all three.
 */
const lanesOf = (all) => {
  const wanted = process.env.PF_LANES ?? (mode === 'files' ? 'netlink' : 'both');
  if (!['netlink', 'ip', 'both'].includes(wanted)) {
    console.error(`run-tests: PF_LANES must be netlink, ip or both, not "${wanted}"`);
    process.exit(2);
  }
  const last = all.filter((f) => f.endsWith('zz-leaks.test.ts'));
  const rest = all.filter((f) => !last.includes(f));
  const twice = rest.filter((f) => f.startsWith('test/integration/') && !(f in ONCE));
  const lanes = [
    {
      name: 'netlink',
      prefix: '',
      backend: undefined,
      files: wanted === 'ip' ? rest.filter((f) => !twice.includes(f)) : rest,
    },
    { name: 'ip', prefix: '[ip] ', backend: 'ip', files: wanted === 'netlink' ? [] : twice },
    { name: 'leak check', prefix: '', backend: undefined, files: last },
  ];
  return lanes.filter((l) => l.files.length > 0);
};

const SUMMARY = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/**
 * Runs each lane's files with node's test runner in the sandbox. One lane alone prints as node
 * does; several are read as TAP and printed as one: the top-level tests numbered on, each lane's
 * names prefixed, and one summary at the end whose counts are the sums of the lanes' own (a lane
 * that ends without its summary is counted as one failed test, named).
 */
const runLanes = async (lanes, env) => {
  const envOf = (lane) => {
    const e = { ...env };
    // the default lane runs the default backend, whatever the caller's environment says
    delete e.PIPEFITTER_BACKEND;
    if (lane.backend) e.PIPEFITTER_BACKEND = lane.backend;
    return e;
  };
  const node = (lane, reporter) =>
    $({
      stdio: reporter.length ? ['inherit', 'pipe', 'inherit'] : 'inherit',
      nothrow: true,
      env: envOf(lane),
    })`nsenter --net=/run/netns/${sandbox} -- node ${[...reporter, ...nodeBase, ...lane.files]}`;
  if (lanes.length === 1 && !lanes[0].prefix) return (await node(lanes[0], [])).exitCode ?? 1;

  const total = Object.fromEntries(SUMMARY.map((k) => [k, 0]));
  const perLane = [];
  let offset = 0;
  let code = 0;
  console.log('TAP version 13');
  for (const lane of lanes) {
    const started = Date.now();
    const got = {};
    let top = 0;
    let inSummary = false;
    const p = node(lane, ['--test-reporter=tap']);
    const lines = createInterface({ input: p.stdout, crlfDelay: Infinity });
    for await (const line of lines) {
      if (line === 'TAP version 13') continue;
      const planLine = /^1\.\.(\d+)$/.exec(line);
      if (planLine) {
        inSummary = true;
        continue;
      }
      const sum = inSummary ? /^# (\w+) (\S+)$/.exec(line) : null;
      if (sum && SUMMARY.includes(sum[1])) {
        got[sum[1]] = Number(sum[2]);
        continue;
      }
      const result = /^(not ok|ok) (\d+)( - (.*))?$/.exec(line);
      if (result) {
        top = Math.max(top, Number(result[2]));
        console.log(
          `${result[1]} ${Number(result[2]) + offset}${result[3] ? ` - ${lane.prefix}${result[4]}` : ''}`,
        );
        continue;
      }
      const subtest = /^# Subtest: (.*)$/.exec(line);
      console.log(subtest ? `# Subtest: ${lane.prefix}${subtest[1]}` : line);
    }
    const r = await p;
    if (r.exitCode !== 0) code = 1;
    if (got.tests === undefined) {
      // node itself failed (or was killed): say so, and count it
      top += 1;
      console.log(
        `not ok ${top + offset} - ${lane.prefix}the ${lane.name} lane ended without a summary (exit ${r.exitCode ?? r.signal})`,
      );
      got.tests = top;
      got.fail = 1;
      got.duration_ms = Date.now() - started;
      code = 1;
    }
    for (const k of SUMMARY) total[k] += got[k] ?? 0;
    offset += top;
    perLane.push(
      `# lane ${lane.name}${lane.backend ? ` (PIPEFITTER_BACKEND=${lane.backend})` : ''}: ${got.tests} tests, ${got.pass ?? 0} passed, ${got.fail ?? 0} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  for (const l of perLane) console.log(l);
  console.log(`1..${offset}`);
  for (const k of SUMMARY) console.log(`# ${k} ${k === 'duration_ms' ? total[k].toFixed(3) : total[k]}`);
  return code;
};

// Every namespace a test makes is named pf-<run id>-…, so this run cleans up only its own.
const runId = randomBytes(3).toString('hex');
// The machine's own links, before: the run must not add any (everything belongs in the sandbox).
const hostLinks = async () =>
  JSON.parse((await $`ip -j link show`).stdout)
    .map((l) => l.ifname)
    .sort();
const hostBefore = await hostLinks();
const sandbox = `pf-${runId}-sandbox`;
const stateDir = `/tmp/pf-${runId}-state`;
const runDir = `/tmp/pf-${runId}-run`;
await $`ip netns add ${sandbox}`;
let code = 1;
let keeper;
let keeperExit;
try {
  await $`ip -n ${sandbox} link set lo up`;
  // pipefitter's persistent state (recipes, IPAM) goes to a directory of this run, never the machine's
  const env = {
    ...process.env,
    PF_SANDBOX: sandbox,
    PF_RUN_ID: runId,
    PF_REPO: root,
    PIPEFITTER_STATE_DIR: stateDir,
    // and its runtime state (DHCP clients) too: other runs on this machine keep theirs apart
    PIPEFITTER_RUN_DIR: runDir,
  };
  // One Docker daemon for the whole run, in the sandbox, when a test file uses Docker; the test
  // files get it from PF_DOCKER_DIR (test/helpers/docker.ts useDocker()).
  const usesDocker = files.some(
    (f) => f.startsWith('test/integration/') && readFileSync(f, 'utf8').includes('helpers/docker.js'),
  );
  if (usesDocker) {
    keeper = $({
      env,
      nothrow: true,
      quiet: true,
      stdio: ['pipe', 'pipe', 'inherit'],
    })`nsenter --net=/run/netns/${sandbox} -- node --import tsx test/fixtures/docker-daemon.ts`;
    const exited = keeper.then((r) => r.exitCode ?? r.signal);
    keeperExit = exited;
    const ready = await new Promise((resolve) => {
      let buf = '';
      keeper.stdout.on('data', (d) => {
        buf += String(d);
        const m = /^ready (.*)$/m.exec(buf);
        if (m) resolve(JSON.parse(m[1]));
      });
      void exited.then(() => resolve(undefined));
    });
    if (!ready) throw new Error("the run's Docker daemon did not start (its reasons are above)");
    env.PF_DOCKER_DIR = ready.dir;
    env.PF_DOCKER_STORAGE = ready.storageDriver;
    env.PF_DOCKER_KEEPER = String(ready.pid);
  }
  code = await runLanes(lanesOf(files), env);
} catch (e) {
  console.error(`# ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  // The Docker daemon goes first (it puts the sandbox back as it found it, and fails if it
  // left anything), then whatever a crashed test left behind, and the run is failed for it.
  if (keeper) {
    keeper.stdin.end();
    const c = await keeperExit;
    if (c !== 0) {
      console.error(`# the run's Docker daemon was not stopped cleanly (exit ${String(c)})`);
      code ||= 1;
    }
  }
  const left = (await $`ip netns list`).stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n && n.startsWith(`pf-${runId}-`) && n !== sandbox);
  for (const n of left) await $({ nothrow: true })`ip netns del ${n}`;
  await $({ nothrow: true })`ip netns del ${sandbox}`;
  await fs.remove(stateDir);
  await fs.remove(runDir);
  if (left.length) {
    console.error(`# leaked namespaces removed after the run: ${left.join(' ')}`);
    code ||= 1;
  }
  const added = (await hostLinks()).filter((l) => !hostBefore.includes(l));
  if (added.length) {
    console.error(`# the machine's own namespace gained links during the run: ${added.join(' ')}`);
    code ||= 1;
  }
}
process.exit(code);
