/**
 * The measuring loop shared by every scenario: several rounds, the tools alternating within a
 * round (the order rotates each round), each run timed from the runner around the tool's own
 * processes only; the state is then read back and torn down outside the timing.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Tool } from '../peers/tool.js';
import type { Cmd } from './proc.js';
import { must, run, timed } from './proc.js';
import { peakRss, traceCmds } from './measure.js';
import type { Env, Net, Results, Target } from './types.js';
import { bridgePorts, deletePortsCmd, verifyAttached, verifyClean } from './verify.js';

export const say = (s: string) => process.stderr.write(`bench: ${s}\n`);

export const makeBridge = async (net: Net): Promise<void> => {
  await run('ip', 'link', 'add', net.bridge, 'type', 'bridge');
  await run('ip', 'addr', 'add', `${net.gateway}/${net.prefix}`, 'dev', net.bridge);
  await run('ip', 'link', 'set', net.bridge, 'up');
};

export const removeBridge = async (net: Net): Promise<void> => {
  await resetPorts(net);
  await run('ip', 'link', 'del', net.bridge);
};

/** The fallback after a failed run: every port of the bridge goes. */
export const resetPorts = async (net: Net): Promise<void> => {
  const ports = (await bridgePorts(net.bridge)).map((p) => p.ifname);
  if (ports.length) await must(deletePortsCmd(ports));
};

export const rotate = <T>(xs: readonly T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length] as T);

export class Recorder {
  constructor(
    readonly results: Results,
    /** A scratch directory for the scripts of the runs. */
    readonly scratch: string,
  ) {}

  time(scenario: string, n: number, tool: string, ms: number): void {
    let t = this.results.timings.find((x) => x.scenario === scenario && x.tool === tool && x.n === n);
    if (!t) {
      t = { scenario, n, tool, runsMs: [], medianMs: NaN };
      this.results.timings.push(t);
    }
    t.runsMs.push(Math.round(ms * 10) / 10);
  }

  problem(what: string, e: unknown): void {
    const msg = `${what}: ${e instanceof Error ? e.message : String(e)}`;
    say(`PROBLEM ${msg}`);
    this.results.problems.push(msg);
  }
}

export interface RunOptions {
  /** Also time a no-change re-apply (and a plan) after pipefitter's apply. */
  readonly reapply?: number;
}

/** One run of one tool: prepare, timed attach, verify, (timed) teardown, verify clean. */
export const runOnce = async (
  rec: Recorder,
  scenario: string,
  tool: Tool,
  targets: readonly Target[],
  net: Net,
  o: RunOptions = {},
): Promise<void> => {
  const n = targets.length;
  try {
    await tool.prepare?.(targets, net);
    const { ms } = await timed(tool.attach(targets, net), rec.scratch);
    await verifyAttached(targets, net);
    rec.time(scenario, n, tool.name, ms);
    if (o.reapply && tool.name === 'pipefitter apply')
      await reapplies(rec, scenario, tool, targets, net, o.reapply);
    const down = await tool.teardown(targets, net);
    const t = await timed(down, rec.scratch);
    if (tool.destroys && scenario !== 'single') rec.time(`${scenario} destroy`, n, tool.name, t.ms);
    await tool.afterTeardown?.();
    await verifyClean(net);
  } catch (e) {
    rec.problem(`${scenario} ${tool.name}`, e);
    await resetPorts(net).catch((r: unknown) => rec.problem('reset after failure', r));
    await tool.afterTeardown?.().catch(() => undefined);
  }
};

const reapplies = async (
  rec: Recorder,
  scenario: string,
  tool: Tool,
  targets: readonly Target[],
  net: Net,
  k: number,
) => {
  const [apply] = tool.attach(targets, net);
  if (!apply) return;
  for (let i = 0; i < k; i++) {
    const { ms, last } = await timed([apply], rec.scratch);
    const out = JSON.parse(last.stdout) as { changed?: boolean; steps?: unknown[] };
    if (out.changed !== false) throw new Error(`re-apply changed something: ${last.stdout.slice(0, 300)}`);
    rec.time(`${scenario} reapply`, targets.length, tool.name, ms);
  }
  const plan = { ...apply, args: apply.args.map((a) => (a === 'apply' ? 'plan' : a)) };
  const p = await timed([plan], rec.scratch);
  rec.time(`${scenario} plan`, targets.length, tool.name, p.ms);
  await reapplyFloors(rec, scenario, apply, targets);
};

/**
 * What a no-change re-apply cannot go below, measured right after it: Node's start, the CLI's
 * start (`--version`: Node and the CLI's first modules), and the kernel's answers to the same
 * requests read in-process without decoding (bench/kernel-reads.mjs, timed inside).
 */
const reapplyFloors = async (rec: Recorder, scenario: string, apply: Cmd, targets: readonly Target[]) => {
  const at = `${scenario} reapply floor`;
  const node = await timed([{ file: apply.file, args: ['-e', '0'] }], rec.scratch);
  rec.time(at, targets.length, 'node -e 0', node.ms);
  const cli = await timed([{ ...apply, args: [apply.args[0] ?? '', '--version'] }], rec.scratch);
  rec.time(at, targets.length, 'pipefitter --version', cli.ms);
  const reads = await must({ file: apply.file, args: [KERNEL_READS, ...targets.map((t) => String(t.pid))] });
  const { ms } = JSON.parse(reads.stdout) as { ms: number };
  rec.time(at, targets.length, 'kernel reads, in-process', ms);
};

const KERNEL_READS = resolve(import.meta.dirname, '../kernel-reads.mjs');

/** Untimed: the same work under strace, counting the processes. */
export const countProcesses = async (
  rec: Recorder,
  env: Env,
  scenario: string,
  tool: Tool,
  targets: readonly Target[],
  net: Net,
): Promise<void> => {
  const dir = join(env.tmp, 'trace');
  await mkdir(dir, { recursive: true });
  try {
    await tool.prepare?.(targets, net);
    const t = await traceCmds(tool.attach(targets, net), dir);
    await verifyAttached(targets, net);
    let selfReported: number | undefined;
    let selfChange: number | undefined;
    if (tool.name === 'pipefitter apply') {
      const j = JSON.parse(t.last.stdout) as { processes?: number; changeProcesses?: number };
      selfReported = j.processes;
      selfChange = j.changeProcesses;
    }
    rec.results.processes.push({
      scenario,
      n: targets.length,
      tool: tool.name,
      processes: t.processes,
      spawned: t.spawned,
      ...(selfReported === undefined ? {} : { selfReported }),
      ...(selfChange === undefined ? {} : { selfChange }),
    });
    await timed(await tool.teardown(targets, net), rec.scratch);
    await tool.afterTeardown?.();
    await verifyClean(net);
  } catch (e) {
    rec.problem(`${scenario} ${tool.name} (strace)`, e);
    await resetPorts(net).catch(() => undefined);
    await tool.afterTeardown?.().catch(() => undefined);
  }
};

/** Untimed: pipefitter apply, then a no-change re-apply, each under /usr/bin/time. */
export const measureMemory = async (
  rec: Recorder,
  env: Env,
  apply: Tool,
  targets: readonly Target[],
  net: Net,
): Promise<void> => {
  try {
    await apply.prepare?.(targets, net);
    const [cmd] = apply.attach(targets, net);
    if (!cmd) return;
    const first = await peakRss(cmd, env.tmp);
    await verifyAttached(targets, net);
    rec.results.memory.push({ what: 'apply', n: targets.length, peakKb: first.kb });
    const again = await peakRss(cmd, env.tmp);
    rec.results.memory.push({ what: 'reapply', n: targets.length, peakKb: again.kb });
    await timed(await apply.teardown(targets, net), rec.scratch);
    await verifyClean(net);
  } catch (e) {
    rec.problem(`memory ${targets.length}`, e);
    await resetPorts(net).catch(() => undefined);
  }
};
