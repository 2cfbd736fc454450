/**
 * Before anything changes: does this machine have what the plan needs — the kernel's link kinds,
 * every program the steps start, and a running Open vSwitch when the plan uses it?
 */
import { PipefitterError, refuse } from '../errors.js';
import { enterArgv, hostNetnsPath, programsOf, spellArgs } from '../render/enter.js';
import type { Runner } from '../exec/runner.js';
import { featureById, ovsProblems, requiredFeatures, usesOpenvswitch } from '../model/features.js';
import type { Plan, Step } from '../model/step.js';
import { fixFor, probeKernel } from '../observe/kernel.js';
import { probeOvs } from '../observe/ovs.js';
import { locate } from '../observe/tools.js';
import { installHint, missingToolHint } from '../tools.js';
import { argvOf } from '../render/ip.js';

/**
 * Refuse (exit 2, nothing touched) when a program a step starts is not installed
 * (E_TOOL_MISSING), when the kernel lacks a kind the plan creates (E_KIND_UNSUPPORTED), or when
 * the plan uses Open vSwitch and it is not running (E_SERVICE_DOWN) or has no kernel datapath;
 * for a dry run, return notes instead (the script may be meant for another machine).
 */
export const preflight = async (plan: Plan, runner: Runner, dryRun: boolean): Promise<string[]> => {
  const tools = await toolPreflight(plan, runner, dryRun);
  const [kernel, ovs] = await Promise.all([
    kernelPreflight(plan, runner, dryRun),
    ovsPreflight(plan, runner, dryRun),
  ]);
  // the backend pipefitter fell back to, said once per command (doctor says why, too)
  const fallback = plan.steps.length && runner.backend?.fallback ? [runner.backend.fallback] : [];
  return [...fallback, ...tools, ...kernel, ...ovs];
};

const ovsPreflight = async (plan: Plan, runner: Runner, dryRun: boolean): Promise<string[]> => {
  if (!usesOpenvswitch(plan)) return [];
  const problems = ovsProblems(await probeOvs(runner));
  const first = problems[0];
  if (!first) return [];
  const what = problems.map((p) => p.problem).join('; ');
  if (dryRun) return [`${what}: the script will fail at its first ovs-vsctl command`];
  throw new PipefitterError({
    code: first.code,
    message: `${what}; nothing was changed`,
    hint: `${problems.map((p) => p.fix).join('; and ')} (\`pipefitter doctor\` checks Open vSwitch)`,
  });
};

const kernelPreflight = async (plan: Plan, runner: Runner, dryRun: boolean): Promise<string[]> => {
  const need = [...requiredFeatures(plan)];
  if (need.length === 0) return [];
  const probe = await probeKernel(runner, need);
  if (probe.error) return [`could not check the kernel's features: ${probe.error}`];
  const missing = need.filter((id) => probe.supported.get(id) === false).map((id) => featureById(id)!);
  if (missing.length === 0) return [];
  const first = missing[0]!;
  const what = missing.map((f) => `${f.what} (${f.option})`).join(', ');
  if (dryRun) return [`this kernel lacks ${what}: the script will fail here`];
  throw refuse(
    'E_KIND_UNSUPPORTED',
    'this kernel',
    `has no ${what}; nothing was changed`,
    `${fixFor(first)} (\`pipefitter doctor\` lists what this kernel supports)`,
  );
};

/**
 * Every program the steps start (wrappers included: nsenter, unshare), looked up on PATH as the
 * runner will. A missing one refuses the plan before the first change, naming its package; one
 * only best-effort steps need (arping) is a note. A DHCP client is looked for by the DHCP runner
 * itself (with busybox's applet as a fallback), which reports a missing one.
 */
const toolPreflight = async (plan: Plan, runner: Runner, dryRun: boolean): Promise<string[]> => {
  const users = new Map<string, Step[]>();
  // the netlink backend starts no program for what it sends in-process (a gratuitous ARP too,
  // though the script --dry-run prints runs arping for it)
  const spawned = (s: Step): boolean =>
    !runner.netlink || s.op.op === 'exec' || (dryRun && s.op.op === 'arp.announce');
  for (const s of plan.steps.filter(spawned))
    for (const p of programsOf(enterArgv(s.netns, spellArgs(argvOf(s), hostNetnsPath()))))
      users.set(p, [...(users.get(p) ?? []), s]);
  const found = await Promise.all([...users.keys()].map(async (p) => [p, await locate(p)] as const));
  const offPath = found
    .filter(([, l]) => l?.offPath)
    .map(([p, l]) => `${p} is in ${l?.at ?? '?'}, which is not on PATH`);
  const missing = found.filter(([, l]) => l === undefined).map(([p]) => p);
  const needed = missing.filter((p) => users.get(p)?.some((s) => !s.bestEffort));
  const notes = missing
    .filter((p) => !needed.includes(p))
    .map((p) => `${missingToolHint([p])}; "${users.get(p)?.[0]?.describes ?? p}" will not happen`);
  if (needed.length === 0 && offPath.length === 0) return notes;
  const problem = [
    ...(needed.length ? [`${needed.join(', ')} ${needed.length > 1 ? 'are' : 'is'} not installed`] : []),
    ...offPath,
  ].join('; ');
  if (dryRun) return [...notes, `${problem}: the script will fail where it is needed`];
  throw refuse(
    'E_TOOL_MISSING',
    'this machine',
    `${problem}; nothing was changed`,
    [
      ...needed.map((p) => installHint([p])),
      ...(offPath.length ? ['add /usr/sbin and /sbin to PATH (or run it with sudo)'] : []),
    ].join('; '),
  );
};
