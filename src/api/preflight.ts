/** Before anything changes: does this machine have what the plan needs? */
import { PipefitterError, refuse } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { featureById, ovsProblems, requiredFeatures, usesOpenvswitch } from '../model/features.js';
import type { Plan } from '../model/step.js';
import { fixFor, probeKernel } from '../observe/kernel.js';
import { probeOvs } from '../observe/ovs.js';

/**
 * Refuse (exit 2, nothing touched) when the kernel lacks a kind the plan creates
 * (E_KIND_UNSUPPORTED), or when the plan uses Open vSwitch and it is not installed
 * (E_TOOL_MISSING), not running (E_SERVICE_DOWN) or has no kernel datapath; for a dry run,
 * return notes instead (the script may be meant for another machine).
 */
export const preflight = async (plan: Plan, runner: Runner, dryRun: boolean): Promise<string[]> => {
  const [kernel, ovs] = await Promise.all([
    preflightKernel(plan, runner, dryRun),
    preflightOvs(plan, runner, dryRun),
  ]);
  return [...kernel, ...ovs];
};

const preflightOvs = async (plan: Plan, runner: Runner, dryRun: boolean): Promise<string[]> => {
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

const preflightKernel = async (plan: Plan, runner: Runner, dryRun: boolean): Promise<string[]> => {
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
