/**
 * Addresses by DHCP: the client runs from the host, inside the target's network namespace and
 * a private mount namespace, with pipefitter's own event script (libexec/pipefitter-dhcp), so it
 * can never rewrite the host's /etc/resolv.conf. Its state (lease, PID of a foreground client)
 * lives in a directory named after the target and interface; detach stops the client there.
 */
import { refuse } from '../errors.js';
import { DHCP_RUNNER } from '../libexec.js';
import type { DhcpSpec } from '../model/iface.js';
import type { NetnsRef } from '../model/netns.js';
import type { Step } from '../model/step.js';
import { shortHash } from '../names.js';
import { runRoot } from '../paths.js';

/** Under the runtime root (src/paths.ts): `$PIPEFITTER_RUN_DIR/dhcp/HASH`. */
export const dhcpStateDir = (targetId: string, ifname: string): string =>
  `${runRoot()}/dhcp/${shortHash(`${targetId}/${ifname}`, 12)}`;

/** The container's own resolv.conf, as the host reaches it — never the host's own. */
const resolvConfOf = (ns: NetnsRef, label: string, ownMounts: boolean): string => {
  switch (ns.kind) {
    case 'pid':
      if (!ownMounts)
        throw refuse(
          'E_USAGE',
          label,
          "shares the host's file system, so its resolv.conf is the host's",
          "drop --dhcp-dns (pipefitter never writes the host's resolv.conf)",
        );
      return `/proc/${ns.pid}/root/etc/resolv.conf`;
    case 'name':
      // what `ip netns exec` bind-mounts over /etc/resolv.conf
      return `/etc/netns/${ns.name}/resolv.conf`;
    case 'path':
    case 'host':
      throw refuse(
        'E_USAGE',
        label,
        "has no file system of its own for the lease's DNS servers",
        'drop --dhcp-dns, or name the target by pid or netns name',
      );
  }
};

/**
 * pipefitter-dhcp stop STATEDIR: stop a foreground client (releasing its lease) and remove its
 * state. It needs no namespace, but runs in the target's so that it stays in order with the
 * target's other steps (the planner groups a phase's steps by namespace).
 */
export const dhcpStop = (ns: NetnsRef, targetId: string, ifname: string): Step['undo'] & object => ({
  netns: ns,
  op: { op: 'exec', argv: [DHCP_RUNNER, 'stop', dhcpStateDir(targetId, ifname)] },
  describes: `stop the DHCP client of "${ifname}" and remove its state`,
});

export const planDhcp = (p: {
  ns: NetnsRef;
  targetId: string;
  label: string;
  ownMounts: boolean;
  dev: string;
  spec: DhcpSpec;
}): Step[] => {
  const state = dhcpStateDir(p.targetId, p.dev);
  const steps: Step[] = [
    {
      id: `dhcp:${p.dev}`,
      netns: p.ns,
      op: {
        op: 'exec',
        argv: [
          'unshare',
          '--mount',
          '--propagation',
          'private',
          '--',
          DHCP_RUNNER,
          'run',
          state,
          p.spec.client,
          p.dev,
          p.spec.foreground ? '1' : '0',
          p.spec.hostname ?? '',
          ...p.spec.options,
        ],
      },
      describes: `get an address for "${p.dev}" by DHCP (${p.spec.client}${p.spec.foreground ? ', kept running' : ''})`,
      undo: dhcpStop(p.ns, p.targetId, p.dev),
      // no lease: the runner leaves its state (and log) behind; stop removes it
      undoOnFailure: true,
    },
  ];
  if (p.spec.dns)
    steps.push({
      id: `dhcp-dns:${p.dev}`,
      netns: p.ns, // a file write; run with the target's steps to keep the order
      op: { op: 'exec', argv: [DHCP_RUNNER, 'dns', state, resolvConfOf(p.ns, p.label, p.ownMounts)] },
      describes: `write the lease's DNS servers into the resolv.conf of ${p.label}`,
      undo: 'covered',
    });
  return steps;
};
