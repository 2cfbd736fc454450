/** Advice for a failure, chosen by its classified reason and what the step was doing. */
import type { FailureReason } from '../errors.js';
import { missingToolHint } from '../tools.js';

const KERNEL_OPTION: readonly [RegExp, string][] = [
  [/macvlan/, 'CONFIG_MACVLAN (module macvlan)'],
  [/ipvlan/, 'CONFIG_IPVLAN (module ipvlan)'],
  [/\bvlan\b/, 'CONFIG_VLAN_8021Q (module 8021q)'],
  [/vxlan/, 'CONFIG_VXLAN (module vxlan)'],
  [/bridge/, 'CONFIG_BRIDGE (module bridge)'],
  [/veth/, 'CONFIG_VETH (module veth)'],
];

const OVS_HINT =
  'Open vSwitch did not do it: check that ovsdb-server and ovs-vswitchd run (`ovs-vsctl show`; `pipefitter doctor` checks Open vSwitch)';

/**
 * @param missing with reason `tool-missing`: the programs that were not installed (RunResult.missing);
 *   the hint names each one's package from the tool table (src/tools.json).
 * @example hintFor('tool-missing', 'set up NAT', ['nft']) // 'nft is not installed: apt-get install nftables (needed for recipe NAT and published ports)'
 */
export const hintFor = (
  reason: FailureReason,
  step: string,
  missing?: readonly string[],
): string | undefined => {
  // an ovs-vsctl step fails for Open vSwitch's reasons, whatever its message looks like
  if (/Open vSwitch/.test(step) && reason !== 'perm' && reason !== 'tool-missing') return OVS_HINT;
  switch (reason) {
    case 'perm':
      return 'run as root (pipefitter needs CAP_NET_ADMIN and CAP_SYS_ADMIN)';
    case 'exists':
      return 'something of that name appeared meanwhile; run `pipefitter show` and retry, or pass --replace';
    case 'busy':
      return 'the device is in use (e.g. already a bridge port or a passthru parent); free it first';
    case 'unsupported': {
      const opt = KERNEL_OPTION.find(([re]) => re.test(step))?.[1];
      return opt
        ? `this kernel lacks ${opt}; load the module or use a kernel that has it (\`pipefitter doctor\` lists what is supported)`
        : 'this kernel or tool does not support it; `pipefitter doctor` lists what is supported';
    }
    case 'not-found':
      return 'an interface or namespace it needs is gone; check the target is still running and the host interface exists';
    case 'tool-missing':
      return missing?.length
        ? missingToolHint(missing)
        : 'a program it needs is not installed; `pipefitter doctor` lists each with its package';
    case 'timeout':
      return 'the command did not finish in time; check that the namespace is not stuck';
    case 'target-changed':
      return 'the target has another network namespace since the plan was made (restarted?); run the command again to plan against the new one';
    case 'other':
      return undefined;
  }
};
