/**
 * The scenario runner. The driver (bench/run.ts) starts it as `ip netns exec SANDBOX node
 * --import tsx bench/inner.ts CONFIG`, so it and every tool it starts run in the sandbox netns
 * with a /sys that shows the sandbox's links (pipework reads /sys/class/net). It refuses to run
 * anywhere else. Results go to the file the config names.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cniLoop, cniMissing } from './peers/cni.js';
import { installPfCni, pfCni, startPfCniServer } from './peers/pipefitter-cni.js';
import { floor } from './peers/floor.js';
import { pfApply, pfLoop } from './peers/pipefitter.js';
import { pipework } from './peers/pipework.js';
import type { Tool } from './peers/tool.js';
import { dockerTargets, namedNamespaces, plainContainers } from './lib/containers.js';
import { watchRestarts } from './watch-restart.js';
import {
  countProcesses,
  makeBridge,
  measureMemory,
  Recorder,
  removeBridge,
  rotate,
  runOnce,
  say,
} from './lib/scenario.js';
import type { Env, InnerConfig, Net, Results, Target } from './lib/types.js';

const config = JSON.parse(await readFile(process.argv[2] ?? '', 'utf8')) as InnerConfig;

const [mine, sandbox] = await Promise.all([stat('/proc/self/ns/net'), stat(`/run/netns/${config.sandbox}`)]);
if (mine.ino !== sandbox.ino) {
  console.error(`bench/inner: not inside the sandbox netns ${config.sandbox}; refusing to run`);
  process.exit(2);
}

const results: Results = { timings: [], processes: [], memory: [], skipped: [], problems: [] };
const rec = new Recorder(results, join(config.tmp, 'run'));
const save = () => writeFile(config.resultsFile, JSON.stringify(results, null, 2));
const wants = (s: string) => config.scenarios.includes(s);
const rounds = (full: number, quick: number) => (config.quick ? quick : full);

const env: Env = {
  id: config.id,
  tmp: config.tmp,
  stateDir: join(config.tmp, 'pf-state'),
  ...('path' in config.pipework ? { pipework: config.pipework.path } : {}),
};
await mkdir(env.stateDir, { recursive: true });

const cniSkip = await cniMissing();
const skip = (scenario: string, tool: string, reason: string) => {
  say(`skip ${scenario} ${tool}: ${reason}`);
  results.skipped.push({ scenario, tool, reason });
};

// Address plans: documentation ranges for one container, the RFC 2544 benchmarking range
// 198.18.0.0/15 for up to 500 (no documentation /24 holds them), all inside the sandbox only.
const SINGLE: Net = {
  bridge: 'pfbs0',
  subnet: '203.0.113.0',
  prefix: 24,
  gateway: '203.0.113.1',
  first: '203.0.113.10',
  last: '203.0.113.250',
};
const BULK: Net = {
  bridge: 'pfbb0',
  subnet: '198.18.0.0',
  prefix: 22,
  gateway: '198.18.0.1',
  first: '198.18.0.10',
  last: '198.18.3.254',
};
const DOCKER: Net = {
  bridge: 'pfbd0',
  subnet: '198.51.100.0',
  prefix: 24,
  gateway: '198.51.100.1',
  first: '198.51.100.10',
  last: '198.51.100.250',
};

const WATCH: Net = { ...DOCKER, bridge: 'pfbw0' };
const CNI: Net = { ...DOCKER, bridge: 'pfbc0' };

/**
 * The CNI plugins side by side, as a runtime runs them: the reference `bridge` and pipefitter's
 * plugin (installed with `pipefitter cni install`), with and without `pipefitter cni serve`
 * answering its calls, the same network, ADD into fresh named namespaces. One ADD (and its DEL) per round, then 100 ADDs in a row (and 100 DELs).
 */
/** PF_BENCH_CNI_TOOLS=NAME,NAME: only these tools in the CNI scenario (a quicker look at two). */
const cniTools = process.env.PF_BENCH_CNI_TOOLS?.split(',');

const cniScenario = async () => {
  if (cniSkip) return skip('cni', '*', cniSkip);
  const binDir = await installPfCni(env);
  const servedDir = await installPfCni(env, true);
  const tools: Tool[] = [
    pfCni(env, servedDir, 'pipefitter cni serve'),
    pfCni(env, servedDir, 'pipefitter cni serve, own IPAM', true),
    pfCni(env, binDir),
    { ...cniLoop(env), name: 'cni bridge' },
  ].filter((t) => cniTools === undefined || cniTools.includes(t.name));
  await makeBridge(CNI);
  const stopServer = await startPfCniServer(env);
  try {
    const cases: [string, number, number][] = [
      ['cni-1', 1, rounds(11, 5)],
      ['cni-100', 100, rounds(3, 2)],
    ];
    for (const [label, n, nRounds] of cases)
      for (let r = 0; r < nRounds; r++)
        for (const tool of rotate(tools, r)) {
          if (r === 0 || n > 1) say(`${label}: round ${r + 1}/${nRounds}: ${tool.name}`);
          const ns = await namedNamespaces(env.id, 'cni', n, CNI);
          try {
            await runOnce(rec, label, tool, ns.targets, CNI);
          } finally {
            await ns.kill();
          }
        }
  } finally {
    await stopServer();
    await removeBridge(CNI);
  }
};

const singleAttach = async () => {
  const tools: Tool[] = [
    { ...pfLoop(env), name: 'pipefitter' },
    { ...pfLoop(env, 'ip'), name: 'pipefitter (ip backend)' },
  ];
  if (env.pipework) tools.push(pipework({ ...env, pipework: env.pipework }));
  else if ('skip' in config.pipework) skip('single', 'pipework', config.pipework.skip);
  if (cniSkip) skip('single', 'cni', cniSkip);
  else tools.push({ ...cniLoop(env), name: 'cni' });
  tools.push({ ...floor(), name: 'ip floor' });
  await makeBridge(SINGLE);
  try {
    const n = rounds(5, 3);
    for (let r = 0; r < n; r++) {
      say(`single attach: round ${r + 1}/${n}`);
      for (const tool of rotate(tools, r)) {
        const c = await plainContainers(1, SINGLE);
        try {
          await runOnce(rec, 'single', tool, c.targets, SINGLE);
        } finally {
          await c.kill();
        }
      }
    }
    if (wants('procs')) {
      for (const tool of tools) {
        const c = await plainContainers(1, SINGLE);
        await countProcesses(rec, env, 'single', tool, c.targets, SINGLE).finally(() => c.kill());
      }
    }
  } finally {
    await removeBridge(SINGLE);
  }
};

/** A bulk group: the same N containers for every tool and round. */
const bulk = async (
  label: string,
  env: Env,
  targets: readonly Target[],
  net: Net,
  nRounds: number,
  timedRuns: boolean,
) => {
  const n = targets.length;
  // both backends side by side: in-process netlink (the default) and ip processes
  const tools: Tool[] = [pfApply(env), pfApply(env, 'ip')];
  if (cniSkip) skip(label, 'cni loop', cniSkip);
  else tools.push(cniLoop(env));
  // A loop of 500 CLI calls takes minutes and says nothing a loop of 100 does not (it is linear).
  if (n <= 100) tools.push(pfLoop(env));
  else if (timedRuns)
    skip(label, 'pipefitter loop', 'not run above 100 (linear in N: see bulk-100 per interface)');
  tools.push(floor());
  await makeBridge(net);
  try {
    for (let r = 0; timedRuns && r < nRounds; r++) {
      for (const tool of rotate(tools, r)) {
        // a loop of 100 CLI calls is linear and slow: one round says all
        if (tool.name === 'pipefitter loop' && n >= 100 && r > 0) continue;
        say(`${label}: round ${r + 1}/${nRounds}: ${tool.name}`);
        await runOnce(rec, label, tool, targets, net, { reapply: 2 });
      }
      await save();
    }
    if (wants('procs')) {
      // strace of every tool at 10, of the one-shot tools at 100 (loops are linear), none at 500
      for (const tool of tools.filter((t) => n <= 10 || (n <= 100 && !t.name.includes('loop')))) {
        say(`${label}: counting processes of ${tool.name}`);
        await countProcesses(rec, env, label, tool, targets, net);
      }
    }
    if (timedRuns && (n === 500 || (config.quick && n === 100 && !wants('bulk-500')))) {
      say(`${label}: peak memory of pipefitter apply and re-apply`);
      await measureMemory(rec, env, pfApply(env), targets, net);
    }
  } finally {
    await removeBridge(net);
  }
};

const plainBulk = async (n: number, nRounds: number) => {
  const label = `bulk-${n}`;
  const timedRuns = wants(label);
  if (!timedRuns && !(wants('procs') && n <= 100)) return;
  say(`${label}: starting ${n} plain namespaces`);
  const c = await plainContainers(n, BULK);
  try {
    await bulk(label, env, c.targets, BULK, nRounds, timedRuns);
  } finally {
    await c.kill();
  }
};

try {
  if (wants('single')) await singleAttach();
  await save();
  if (wants('cni')) await cniScenario();
  await save();
  await plainBulk(10, rounds(3, 2));
  await plainBulk(100, rounds(3, 2));
  if (wants('bulk-500')) await plainBulk(500, 1);
  if (wants('docker-100')) {
    const d = config.docker;
    if (!d || 'skip' in d) skip('docker-100', '*', d?.skip ?? 'docker not started');
    else {
      const denv: Env = { ...env, dockerHost: d.dockerHost };
      await bulk('docker-100', denv, dockerTargets(d.containers, DOCKER), DOCKER, rounds(2, 1), true);
    }
  }
  if (wants('watch')) {
    const d = config.docker;
    if (!d || 'skip' in d) skip('watch', '*', d?.skip ?? 'docker not started');
    else {
      const wenv: Env = { ...env, dockerHost: d.dockerHost };
      const seq = Number(process.env.PF_BENCH_WATCH_ROUNDS ?? rounds(20, 10));
      const parallel = Number(process.env.PF_BENCH_WATCH_PARALLEL ?? rounds(2, 1));
      await watchRestarts(rec, wenv, dockerTargets(d.containers, WATCH), WATCH, seq, parallel).catch(
        (e: unknown) => rec.problem('watch', e),
      );
    }
  }
} catch (e) {
  rec.problem('runner', e);
} finally {
  await save();
}
