import type { Command } from 'commander';
import type { AttachInput } from '../../model/input.js';
import { globalFlags, printOutcome } from '../output.js';
import { progressBar } from '../style.js';

export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

interface AttachFlags {
  ifname?: string;
  bridge?: string;
  ovs?: string;
  macvlan?: string;
  ipvlan?: string;
  vlan?: string;
  vlanId?: string;
  trunk?: string;
  inside?: boolean;
  phys?: string;
  mode?: string;
  ipvlanFlag?: string;
  ip: string[];
  gateway: string[];
  route: string[];
  mac?: string;
  mtu?: string;
  bridgeIp: string[];
  createBridge: boolean;
  hostIfname?: string;
  hostShim?: boolean;
  announce: boolean;
  dhcp?: string | boolean;
  dhcpForeground?: boolean;
  dhcpOption: string[];
  dhcpHostname?: string;
  dhcpDns?: boolean;
  replace?: boolean;
  force?: boolean;
  allowDuplicateAddress?: boolean;
  dryRun?: boolean;
  allowHostNamespace?: boolean;
}

/** The help of --allow-host-namespace (attach, link, detach and the recipe commands). */
export const ALLOW_HOST_NAMESPACE =
  "accept a target in the machine's initial network namespace (that of PID 1), refused otherwise";

/** The help of --allow-duplicate-address (attach, pipework's form, plan, apply and status). */
export const ALLOW_DUPLICATE_ADDRESS =
  'accept an address that another container on the same bridge (or the bridge itself) already has';

export const toAttachInput = (target: string, f: AttachFlags): AttachInput => ({
  target,
  ifname: f.ifname,
  bridge: f.bridge,
  ovs: f.ovs,
  macvlan: f.macvlan,
  ipvlan: f.ipvlan,
  vlan: f.vlan,
  vlanId: f.vlanId,
  trunk: f.trunk,
  inside: f.inside,
  phys: f.phys,
  mode: f.mode,
  ipvlanFlag: f.ipvlanFlag,
  ip: f.ip,
  gateway: f.gateway,
  route: f.route,
  mac: f.mac,
  mtu: f.mtu,
  bridgeIp: f.bridgeIp.length ? f.bridgeIp : undefined,
  createBridge: f.createBridge,
  hostIfname: f.hostIfname,
  hostShim: f.hostShim,
  announce: f.announce,
  dhcp: f.dhcp,
  dhcpForeground: f.dhcpForeground,
  dhcpOption: f.dhcpOption,
  dhcpHostname: f.dhcpHostname,
  dhcpDns: f.dhcpDns,
});

export const registerAttach = (program: Command): void => {
  program
    .command('attach <target>')
    .description('add an interface to a running container or namespace')
    .option('-i, --ifname <name>', 'interface name inside', 'eth1')
    .option('--bridge <name>', 'veth into this Linux bridge (created if missing)')
    .option('--ovs <bridge>', 'veth into this Open vSwitch bridge (created if missing)')
    .option('--macvlan <hostif>', 'macvlan on this host interface')
    .option('--ipvlan <hostif>', 'ipvlan on this host interface')
    .option('--vlan <hostif>', '802.1Q VLAN interface on this host interface (with --vlan-id)')
    .option(
      '--vlan-id <n>',
      'VLAN 1-4094: the --vlan id; the access VLAN of a --bridge port; --macvlan/--ipvlan on PARENT.N',
    )
    .option('--trunk <list>', 'with --bridge: VLANs the port carries tagged, e.g. 10,20')
    .option('--inside', 'with --vlan: the parent is an interface inside the target (a trunk)')
    .option('--phys <hostif>', 'move this host interface in')
    .option('--mode <mode>', 'macvlan mode (bridge|private|vepa|passthru) or ipvlan mode (l2|l3|l3s)')
    .option('--ipvlan-flag <flag>', 'ipvlan flag (bridge|private|vepa)')
    .option('--ip <cidr>', 'address with prefix, IPv4 or IPv6 (repeatable)', collect, [])
    .option(
      '--gateway <ip>',
      'default gateway; replaces the default route of its family (repeatable, one per family)',
      collect,
      [],
    )
    .option('--route <dst:via>', 'extra route, e.g. 198.51.100.0/24:192.0.2.254 (repeatable)', collect, [])
    .option('--mac <mac>', 'MAC address inside')
    .option('--mtu <n>', "MTU (default: the host link's)")
    .option('--bridge-ip <cidr>', 'address for the bridge itself (repeatable)', collect, [])
    .option('--no-create-bridge', 'fail when the bridge does not exist')
    .option('--host-ifname <name>', 'name of the host-side veth')
    .option(
      '--host-shim',
      'with --macvlan: let the host reach the container (a shared host macvlan on the parent, with a route to each --ip)',
    )
    .option('--no-announce', 'do not send gratuitous ARP / unsolicited NA')
    .option('--dhcp [client]', 'address by DHCP: dhcp (first installed), udhcpc, dhclient or dhcpcd')
    .option('--dhcp-foreground', 'keep the DHCP client running (renews the lease; detach stops it)')
    .option('--dhcp-option <opt>', 'pass this option to the DHCP client (repeatable)', collect, [])
    .option('--dhcp-hostname <name>', 'host name to send with the DHCP request')
    .option('--dhcp-dns', "write the lease's DNS servers into the container's resolv.conf")
    .option('--replace', 'replace an interface of the same name that has other settings')
    .option('--force', 'allow moving a host interface that carries the default route')
    .option('--allow-duplicate-address', ALLOW_DUPLICATE_ADDRESS)
    .option('-n, --dry-run', 'print the commands as a shell script; change nothing')
    .option('--allow-host-namespace', ALLOW_HOST_NAMESPACE)
    .action(async (target: string, flags: AttachFlags, cmd: Command) => {
      const { attach } = await import('../../api/attach.js');
      const bar = flags.dryRun ? undefined : progressBar('attach', globalFlags(cmd));
      const o = await attach(toAttachInput(target, flags), {
        dryRun: flags.dryRun,
        replace: flags.replace,
        force: flags.force,
        allowDuplicateAddress: flags.allowDuplicateAddress,
        allowHostNamespace: flags.allowHostNamespace,
        ...(bar ? { hooks: { afterStep: bar.step } } : {}),
      }).finally(() => bar?.end());
      printOutcome(
        'attach',
        o,
        { ...globalFlags(cmd), dryRun: flags.dryRun },
        `${o.targets[0]?.label ?? target} ${flags.ifname ?? 'eth1'}`,
      );
    });
};
