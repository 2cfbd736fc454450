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

const nodeArgs = [
  '--import',
  'tsx',
  '--import',
  './test/setup.ts',
  '--test',
  '--test-concurrency=1',
  ...extra,
  ...files,
];

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
  const p = await $({
    stdio: 'inherit',
    nothrow: true,
    env,
  })`nsenter --net=/run/netns/${sandbox} -- node ${nodeArgs}`;
  code = p.exitCode ?? 1;
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
