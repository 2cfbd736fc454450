/**
 * `npm run bench [-- --quick] [-- --scenario NAME[,NAME]]`: pipefitter against pipework, the CNI
 * bridge plugin and a hand-written `ip -batch` floor. See bench/README.md.
 *
 * This driver stays in the machine's mount namespace. It makes the sandbox netns (no uplink),
 * starts the Docker keeper in it (nsenter --net), runs the scenario runner in it with
 * `ip netns exec` (so /sys matches the sandbox), prints the table, writes bench/out/*.json, and
 * removes everything it made, failing when anything is left.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { obtainPipework } from './peers/pipework.js';
import { leftovers, hostLinks, netnsNames } from './lib/leftovers.js';
import { machineInfo } from './lib/machine.js';
import { median, run, sleep } from './lib/proc.js';
import { finishMedians, processTable, targetChecks, targetTable, timingTable } from './lib/report.js';
import type { DockerInfo, InnerConfig, Results } from './lib/types.js';

const ROOT = resolve(import.meta.dirname, '..');
const ALL = ['single', 'cni', 'bulk-10', 'bulk-100', 'bulk-500', 'docker-100', 'watch', 'procs'];
const QUICK = ['single', 'bulk-10', 'bulk-100', 'procs'];
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);

const usage = `usage: npm run bench -- [--quick] [--scenario NAME[,NAME...]]
  scenarios: ${ALL.join(', ')} (default: all; --quick: ${QUICK.join(', ')} with fewer rounds)
  PIPEWORK=/path/to/pipework uses that script instead of the local mirror of jpetazzo/pipework`;

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
let scenarios = quick ? QUICK : ALL;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] ?? '';
  if (a === '--scenario' || a.startsWith('--scenario=')) {
    const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : (argv[++i] ?? '');
    const picked = v.split(',').filter(Boolean);
    const bad = picked.filter((s) => !ALL.includes(s));
    if (bad.length || !picked.length) {
      console.error(`bench: unknown scenario "${bad.join(',') || v}"\n${usage}`);
      process.exit(2);
    }
    scenarios = scenarios === ALL || scenarios === QUICK ? picked : [...scenarios, ...picked];
  } else if (a === '--help' || a === '-h') {
    console.log(usage);
    process.exit(0);
  } else if (a !== '--quick') {
    console.error(`bench: unknown argument "${a}"\n${usage}`);
    process.exit(2);
  }
}
if (process.getuid?.() !== 0) {
  console.error('bench: needs root (it makes network namespaces); run it with sudo');
  process.exit(2);
}

const id = randomBytes(3).toString('hex');
const sandbox = `pf-bench-${id}-sandbox`;
const tmp = `/tmp/pf-bench-${id}`;
const before = { links: await hostLinks(), netns: await netnsNames() };
const childEnv = { ...process.env, PF_BENCH_RUN: id, PF_SANDBOX: sandbox };
let interrupted = false;
// Ctrl-C reaches the children too (same process group); this process only waits and cleans up.
process.on('SIGINT', () => (interrupted = true));
process.on('SIGTERM', () => (interrupted = true));

let keeper: ResultPromise | undefined;
let dockerDir: string | undefined;
let results: Results | undefined;
const machine = await machineInfo();
let pipeworkOrigin = '';

const startKeeper = async (count: number): Promise<DockerInfo | { skip: string }> => {
  const out = join(tmp, 'docker.json');
  say(`starting dockerd and ${count} containers in the sandbox (not timed)`);
  const p = execa(
    'nsenter',
    [
      `--net=/run/netns/${sandbox}`,
      '--',
      process.execPath,
      '--import',
      'tsx',
      'bench/docker-keeper.ts',
      out,
      String(count),
    ],
    { cwd: ROOT, env: childEnv, stdin: 'pipe', stdout: 'inherit', stderr: 'inherit', reject: false },
  );
  keeper = p;
  let exited = false;
  void p.then(() => (exited = true));
  while (!existsSync(out) && !exited && !interrupted) await sleep(200);
  if (!existsSync(out)) return { skip: `docker keeper exited (${(await p).exitCode})` };
  await sleep(50);
  const info = JSON.parse(await readFile(out, 'utf8')) as DockerInfo | { skip: string };
  if ('dir' in info) dockerDir = info.dir;
  return info;
};

const stopKeeper = async () => {
  if (!keeper) return;
  keeper.stdin?.end();
  const r = await keeper;
  if (r.exitCode) say(`docker keeper exited ${r.exitCode}`);
};

let code = 0;
await run('ip', 'netns', 'add', sandbox);
try {
  await mkdir(tmp, { recursive: true });
  await run('ip', '-n', sandbox, 'link', 'set', 'lo', 'up');
  const pw = await obtainPipework(join(tmp, 'pipework'));
  pipeworkOrigin = 'origin' in pw ? pw.origin : `skipped: ${pw.skip}`;
  const docker =
    scenarios.includes('docker-100') || scenarios.includes('watch')
      ? await startKeeper(scenarios.includes('docker-100') ? 100 : 20)
      : undefined;
  const config: InnerConfig = {
    id,
    sandbox,
    tmp,
    resultsFile: join(tmp, 'results.json'),
    scenarios,
    quick,
    pipework: 'path' in pw ? { path: pw.path } : pw,
    ...(docker ? { docker } : {}),
  };
  await writeFile(join(tmp, 'config.json'), JSON.stringify(config));
  if (!interrupted) {
    say(`sandbox ${sandbox}; scenarios: ${scenarios.join(', ')}${quick ? ' (quick)' : ''}`);
    const inner = await execa(
      'ip',
      [
        'netns',
        'exec',
        sandbox,
        process.execPath,
        '--import',
        'tsx',
        'bench/inner.ts',
        join(tmp, 'config.json'),
      ],
      { cwd: ROOT, env: childEnv, stdio: 'inherit', reject: false },
    );
    if (inner.exitCode !== 0) {
      say(`scenario runner exited ${inner.exitCode}`);
      code = 1;
    }
  }
  results = JSON.parse(await readFile(config.resultsFile, 'utf8').catch(() => 'null')) as Results | undefined;
} catch (e) {
  say(`failed: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  await stopKeeper().catch((e: unknown) => say(`docker keeper: ${String(e)}`));
  await run('ip', 'netns', 'del', sandbox).catch((e: unknown) => say(String(e)));
  await rm(tmp, { recursive: true, force: true });
}

if (results) {
  finishMedians(results.timings, median);
  const checks = targetChecks(results);
  console.log(`\n${timingTable(results)}\n`);
  if (results.processes.length) console.log(`${processTable(results)}\n`);
  for (const m of results.memory)
    console.log(`peak RSS of pipefitter ${m.what} at ${m.n}: ${(m.peakKb / 1024).toFixed(0)} MB`);
  console.log(`\n${targetTable(checks)}\n`);
  for (const s of results.skipped) console.log(`skipped: ${s.scenario} ${s.tool}: ${s.reason}`);
  for (const p of results.problems) console.log(`PROBLEM: ${p}`);
  if (results.problems.length) code = 1;
  const outDir = join(ROOT, 'bench/out');
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `results-${machine.date.replace(/[:.]/g, '-')}.json`);
  const doc = {
    machine: { ...machine, loadavgAtEnd: loadavg(), pipework: pipeworkOrigin },
    options: { quick, scenarios },
    notes: [
      'times are wall-clock ms around the tool processes, measured from the runner; medians over the rounds',
      'pf/peer: median of pipefitter (apply in bulk scenarios) divided by the peer median',
      'pipework finds plain namespaces through a builtin-only docker shim, faster than the real docker CLI: it can only favour pipework',
      'processes: distinct PIDs that called execve under strace -f; "spawned" leaves out the tool processes the runner started',
    ],
    results,
    targets: checks,
  };
  await writeFile(file, JSON.stringify(doc, null, 2) + '\n');
  console.log(`results written to ${file}`);
}

const left = await leftovers({ id, tmp, ...(dockerDir ? { dockerDir } : {}), before });
if (left.length) {
  console.log(`LEFTOVERS:\n  ${left.join('\n  ')}`);
  code = 1;
} else console.log('no leftovers');
process.exit(interrupted ? 130 : code);
