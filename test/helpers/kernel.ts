/**
 * Kernel features a test needs, probed — never assumed. A test skips for a kernel feature only
 * when this kernel was probed and lacks it (pipefitter's own probe, src/observe/kernel.ts, as
 * `pipefitter doctor` runs it), and the reason names the feature, its kernel option and the
 * kernel VM lane test that covers it. Inside the VM lane (PF_VM=1) nothing is skipped for the
 * kernel: its kernel is there to have them, so a missing one fails the test that needs it.
 */
import { createRunner } from '../../src/exec/runner.js';
import { featureById } from '../../src/model/features.js';
import { openvswitchModule, probeKernel } from '../../src/observe/kernel.js';
import { sandboxSkipReason } from './sandbox.js';

let probed: Promise<ReadonlyMap<string, boolean>> | undefined;

/** Every feature of src/model/features.ts, probed once per process; a probe that cannot run throws. */
export const kernelFeatures = (): Promise<ReadonlyMap<string, boolean>> =>
  (probed ??= probeKernel(createRunner()).then((r) => {
    if (r.error) throw new Error(`the kernel feature probe did not run: ${r.error}`);
    return r.supported;
  }));

/** Feature ids of src/model/features.ts, plus `openvswitch` (the datapath module). */
export type KernelNeed = string;

const describe = (id: KernelNeed): string => {
  if (id === 'openvswitch') return 'the Open vSwitch datapath (CONFIG_OPENVSWITCH)';
  const f = featureById(id);
  if (!f) throw new Error(`kernelSkip: unknown kernel feature "${id}"`);
  return `${f.what} (${f.option})`;
};

/**
 * Why a test cannot run on this kernel, or undefined when it can: the sandbox's reason (not
 * root, not in the test sandbox), else the features the probe found missing. `vmTest` names the
 * test of the kernel VM lane that covers them, as `file 'test name'`.
 * @example { skip: await kernelSkip(['vlan'], "test/vm/kinds.test.ts 'vlan: …'") }
 */
export const kernelSkip = async (
  needs: readonly KernelNeed[],
  vmTest: string,
): Promise<string | undefined> => {
  const outside = await sandboxSkipReason();
  if (outside) return outside;
  for (const id of needs) describe(id); // an unknown id is a mistake in the test, not a skip
  if (process.env.PF_VM === '1') return undefined;
  const supported = await kernelFeatures();
  const missing: string[] = [];
  for (const id of needs) {
    const ok = id === 'openvswitch' ? (await openvswitchModule()) !== 'missing' : supported.get(id) === true;
    if (!ok) missing.push(describe(id));
  }
  if (missing.length === 0) return undefined;
  return `kernel feature: this kernel lacks ${missing.join(', ')} (probed); covered in the kernel VM lane (npm run test:vm) by ${vmTest}`;
};
