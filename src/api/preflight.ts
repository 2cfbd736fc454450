/** Before anything changes: does this kernel have what the plan needs? */
import { refuse } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { featureById, requiredFeatures } from '../model/features.js';
import type { Plan } from '../model/step.js';
import { fixFor, probeKernel } from '../observe/kernel.js';

/**
 * Refuse (E_KIND_UNSUPPORTED, exit 2) when the kernel lacks a kind the plan creates; for a dry
 * run, return a note instead (the script may be meant for another machine).
 */
export const preflight = async (plan: Plan, runner: Runner, dryRun: boolean): Promise<string[]> => {
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
