import type { Command } from 'commander';
import { globalFlags, printOutcome } from '../output.js';
import { ALLOW_HOST_NAMESPACE, collect } from './attach.js';

interface LinkFlags {
  ip: string[];
  peerIp: string[];
  gateway: string[];
  peerGateway: string[];
  route: string[];
  peerRoute: string[];
  mtu?: string;
  mac?: string;
  peerMac?: string;
  announce: boolean;
  replace?: boolean;
  dryRun?: boolean;
  allowHostNamespace?: boolean;
}

export const registerLink = (program: Command): void => {
  program
    .command('link <a> <b>')
    .description('join two containers with a veth pair: A[:IFNAME] B[:IFNAME] (ifname default eth1)')
    .option('--ip <cidr>', 'address on the first end (repeatable)', collect, [])
    .option('--peer-ip <cidr>', 'address on the second end (repeatable)', collect, [])
    .option('--gateway <ip>', 'default gateway for the first end', collect, [])
    .option('--peer-gateway <ip>', 'default gateway for the second end', collect, [])
    .option('--route <dst:via>', 'extra route on the first end', collect, [])
    .option('--peer-route <dst:via>', 'extra route on the second end', collect, [])
    .option('--mtu <n>', 'MTU of both ends')
    .option('--mac <mac>', 'MAC of the first end')
    .option('--peer-mac <mac>', 'MAC of the second end')
    .option('--no-announce', 'do not send gratuitous ARP / unsolicited NA')
    .option('--replace', 'replace interfaces of the same names')
    .option('-n, --dry-run', 'print the commands as a shell script; change nothing')
    .option('--allow-host-namespace', ALLOW_HOST_NAMESPACE)
    .action(async (a: string, b: string, f: LinkFlags, cmd: Command) => {
      const { attach } = await import('../../api/attach.js');
      const o = await attach(
        {
          a,
          b,
          ip: f.ip,
          peerIp: f.peerIp,
          gateway: f.gateway,
          peerGateway: f.peerGateway,
          route: f.route,
          peerRoute: f.peerRoute,
          mtu: f.mtu,
          mac: f.mac,
          peerMac: f.peerMac,
          announce: f.announce,
        },
        { dryRun: f.dryRun, replace: f.replace, allowHostNamespace: f.allowHostNamespace },
      );
      printOutcome('link', o, { ...globalFlags(cmd), dryRun: f.dryRun }, `${a} <-> ${b}`);
    });
};
