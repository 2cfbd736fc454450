/**
 * Runs last (scripts/run-tests.mjs orders it so): nothing the suite made may remain — no
 * namespaces, no links in the sandbox, no processes in it, no temporary files, no daemons.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { runId, sandboxName, sandboxSkipReason } from '../helpers/sandbox.js';
import { harnessProcesses, sweepStaleHarnesses } from '../helpers/docker.js';
import { sweepStalePodman } from '../helpers/podman.js';
import { sweepStaleContainerd } from '../helpers/containerd-env.js';

const skip = await sandboxSkipReason();

test('no namespaces, links, processes or files are left behind', { skip }, async () => {
  // First: a Podman environment of a test process that died has conmon and containers in the
  // sandbox and its directory in /tmp, which the checks below would name one by one.
  assert.deepEqual(await sweepStalePodman(), [], 'podman harness leftovers (tests killed mid-test)');
  // The same for a containerd test (cni-containerd.test.ts): its conflist in /etc/cni/net.d, its
  // plugin links in /opt/cni/bin, containerd and its environment
  assert.deepEqual(await sweepStaleContainerd(), [], 'containerd test leftovers (tests killed mid-test)');
  assert.deepEqual(
    (await readdir('/etc/cni/net.d').catch(() => [] as string[])).filter((f) => f.includes(`pf-${runId}-`)),
    [],
    "the run's conflists in /etc/cni/net.d",
  );
  const binLinks: string[] = [];
  for (const f of await readdir('/opt/cni/bin').catch(() => [] as string[]))
    if ((await readlink(`/opt/cni/bin/${f}`).catch(() => '')).startsWith(`/tmp/pf-${runId}-`))
      binLinks.push(f);
  assert.deepEqual(binLinks, [], "links into the run's files in /opt/cni/bin");
  const namespaces = (await execa('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`pf-${runId}-`) && n !== sandboxName);
  assert.deepEqual(namespaces, [], 'namespaces made by tests');

  const links = (JSON.parse((await execa('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string }[]).map(
    (l) => l.ifname,
  );
  // the run's Docker daemon is still up (scripts/run-tests.mjs stops and checks it after this)
  const shared = process.env.PF_DOCKER_DIR;
  assert.deepEqual(links.sort(), shared ? ['docker0', 'lo'] : ['lo'], 'links in the sandbox');

  // Every process in the sandbox's namespace other than this one, its ancestors and the run's
  // Docker daemon (with the process that keeps it) is a leak.
  const mine = (await stat('/proc/self/ns/net')).ino;
  const ancestors = new Set<number>(
    shared ? [...(await harnessProcesses(shared)), Number(process.env.PF_DOCKER_KEEPER)] : [],
  );
  for (let pid = process.pid; pid > 1;) {
    ancestors.add(pid);
    const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    pid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
  }
  const strays: string[] = [];
  for (const e of await readdir('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || ancestors.has(pid)) continue;
    const ns = await stat(`/proc/${pid}/ns/net`).catch(() => undefined);
    if (ns?.ino !== mine) continue;
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => '?');
    // children of this very process (execa's, for the ps below) are not leaks, nor those of the
    // process that keeps the run's Docker daemon (tsx's esbuild)
    const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
    if (ppid === process.pid || (shared && ppid === Number(process.env.PF_DOCKER_KEEPER))) continue;
    strays.push(`${pid} ${comm} (${exe})`);
  }
  assert.deepEqual(strays, [], 'processes left in the sandbox');

  // Tests name their temporary files pf-<run id>-…; the Docker harness's are swept below.
  const tmp = (await readdir('/tmp')).filter(
    (f) => f.startsWith(`pf-${runId}-`) && f !== `pf-${runId}-state` && f !== `pf-${runId}-run`,
  );
  assert.deepEqual(tmp, [], 'temporary files');
  // pipefitter's state directories may stay; nothing may be left in them
  const runDir = process.env.PIPEFITTER_RUN_DIR ?? '/run/pipefitter';
  const state = (await readdir(runDir, { recursive: true, withFileTypes: true }).catch(() => [])).filter(
    (e) => !e.isDirectory(),
  );
  assert.deepEqual(
    state.map((e) => e.name),
    [],
    'pipefitter state',
  );
  assert.deepEqual(await sweepStaleHarnesses(), [], 'docker harness leftovers');
  // recipes destroyed: no recipe state and no address still allocated
  const stateDir = process.env.PIPEFITTER_STATE_DIR ?? '';
  assert.deepEqual(await readdir(`${stateDir}/recipes`).catch(() => []), [], 'recipe state');
  assert.deepEqual(
    await readdir(`${stateDir}/parents`).catch(() => []),
    [],
    'records of host interfaces pipefitter brought up',
  );
  const ipam = JSON.parse(
    await readFile(`${stateDir}/ipam/allocations.json`, 'utf8').catch(() => '{"allocations":[]}'),
  ) as { allocations: unknown[] };
  assert.deepEqual(ipam.allocations, [], 'IPAM allocations');
});
