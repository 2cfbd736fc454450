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

/** What ip and tc print when they refuse their arguments themselves, before asking the kernel. */
const ARGUMENT_ERRORS = [
  /is expected rather than/,
  /^Error: argument ".*" is (wrong|required)/m,
  /^Error: duplicate /m,
  /^Error: either ".*" is duplicate, or ".*" is a garbage/m,
  /Command line is not complete/,
  /^Command ".*" is unknown/m,
  /^(Error: )?Unknown /m,
  /^Option ".*" is unknown/m,
  /^What is ".*"\?/m,
  /parameter is mandatory/,
  /^Illegal "/m,
  /^Usage: /m,
  /^Cannot find device "/m,
];

/**
 * Did ip or tc refuse the arguments given to it (bad input: a word it does not know, a value it
 * cannot parse, a device not there), as opposed to the kernel refusing the change? ip exits 255
 * on its own usage errors; its other refusals are told by their message.
 * @example isArgumentError('Error: any valid prefix is expected rather than "bogus".', 1) // true
 * @example isArgumentError('Error: Nexthop has invalid gateway.', 2) // false
 */
export const isArgumentError = (stderr: string, exitCode: number | undefined): boolean =>
  exitCode === 255 || ARGUMENT_ERRORS.some((re) => re.test(stderr));

/**
 * The hint for arguments ip or tc refused.
 * @example argumentHint('ip route add bogus', 'netns:r1')
 */
export const argumentHint = (describes: string, target?: string): string => {
  const tool = /^(ip \w+|tc)\b/.exec(describes)?.[1] ?? 'ip';
  return `the words after the target go to ${tool} as they are: see \`${tool} help\`${target ? `; \`pipefitter show ${target}\` lists the interfaces there` : ''}`;
};
