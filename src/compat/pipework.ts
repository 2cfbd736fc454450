/**
 * pipework's command-line grammar, parsed into pipefitter's own requests (pure: no I/O).
 * Every pipework form keeps working verbatim as `pipefitter <same arguments>`:
 *
 *   <hostif|mac:HOSTMAC> [-i ctif] [-l hostname] [-a 4|6] <guest> <ip/prefix[@gateway]> [mac|U:seed][@vlan]
 *   <hostif|mac:HOSTMAC> [-i ctif] [-l hostname] <guest> dhcp[:opts] | udhcpc[-f][:opts] | dhclient[-f][:opts] | dhcpcd[:opts] [mac][@vlan]
 *   --direct-phys <hostif> <guest> <ip/prefix[@gw]>
 *   route <guest> <ip route args…> | rule <guest> <ip rule args…> | tc <guest> <tc args…>
 *   --wait [-i ctif]
 *
 * The host interface's kind (bridge, plain interface, Open vSwitch) is not known here: it is
 * decided by the planner from the observed host (LinkIntent kind "auto"), as pipework did.
 */
import { createHash } from 'node:crypto';
import { parseCidr, parseIp } from '../addr.js';
import type { Family } from '../addr.js';
import { badInput } from '../errors.js';
import type { DhcpClient, DhcpSpec } from '../model/iface.js';
import type { AttachRequest } from '../model/attachment.js';
import { DEFAULT_IFNAME } from '../model/iface.js';
import { parseTargetSpec } from '../model/target.js';
import type { TargetSpec } from '../model/target.js';
import { parseIfName } from '../names.js';
import type { IfName } from '../names.js';
import { parseMac, parseVlanId } from '../values.js';
import type { Mac } from '../values.js';

export type PipeworkCommand =
  | { readonly kind: 'attach'; readonly request: AttachRequest }
  | { readonly kind: 'route' | 'rule' | 'tc'; readonly target: TargetSpec; readonly args: readonly string[] }
  | { readonly kind: 'wait'; readonly ifname: IfName };

export const PIPEWORK_SYNTAX = [
  'pipefitter <hostinterface> [-i containerinterface] [-l localinterfacename] [-a addressfamily] <guest> <ipaddr>/<subnet>[@default_gateway] [macaddr][@vlan]',
  'pipefitter <hostinterface> [-i containerinterface] [-l localinterfacename] <guest> dhcp[:opts]|udhcpc[-f][:opts]|dhclient[-f][:opts]|dhcpcd[:opts] [macaddr][@vlan]',
  'pipefitter mac:<hostinterface_macaddress> [-i containerinterface] [-l localinterfacename] [-a addressfamily] <guest> <ipaddr>/<subnet>[@default_gateway] [macaddr][@vlan]',
  'pipefitter --direct-phys <hostinterface> <guest> <ipaddr>/<subnet>[@default_gateway]',
  'pipefitter route <guest> [<route_command>]',
  'pipefitter rule <guest> [<rule_command>]',
  'pipefitter tc <guest> <tc_command>',
  'pipefitter --wait [-i containerinterface]',
] as const;

const usage = (problem: string, value?: string): never => {
  throw badInput('E_USAGE', 'pipework syntax', value, problem, `use: ${PIPEWORK_SYNTAX[0]}`);
};

/** pipework's U:seed MAC: 02 followed by the first five bytes of md5("seed\n") (echo adds the newline). */
export const seededMac = (seed: string): Mac => {
  const h = createHash('md5').update(`${seed}\n`).digest('hex');
  return parseMac(
    `02:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}`,
    'macaddr',
  );
};

const DHCP_RE = /^(dhcp|udhcpc|dhclient|dhcpcd)(-f)?(?::(.*))?$/s;

const parseDhcp = (text: string, guest: string): DhcpSpec | undefined => {
  const m = DHCP_RE.exec(text);
  if (!m) return undefined;
  const client = m[1] as DhcpClient;
  if (m[2] && (client === 'dhcp' || client === 'dhcpcd'))
    throw badInput(
      'E_USAGE',
      'ipaddr',
      text,
      `"${client}" has no -f form`,
      'use udhcpc-f or dhclient-f to keep the client running',
    );
  // pipework passes :opts to the client word-split by the shell; the same split here (on blanks),
  // but as argv elements, never through a shell.
  const options = m[3] ? m[3].split(/\s+/).filter((o) => o !== '') : [];
  // pipework sent the container's name as the hostname; a pid:N or a path is no host name.
  const name = guest.replace(/^(docker|podman|netns):/, '');
  const hostname = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(name) ? name : undefined;
  return { client, foreground: m[2] === '-f', options, hostname, dns: false };
};

/**
 * Parse pipework's arguments.
 * @example parsePipework(['br1', 'web', '192.0.2.10/24@192.0.2.1'])
 */
export const parsePipework = (argv: readonly string[]): PipeworkCommand => {
  const args = [...argv];
  let directPhys = false;
  if (args[0] === '--wait') {
    args.shift();
    let ifname = DEFAULT_IFNAME;
    const flag: string | undefined = args[0];
    if (flag === '-i') {
      if (args[1] === undefined) usage('-i needs a container interface name');
      ifname = args[1] as string;
      args.splice(0, 2);
    }
    if (args.length) usage('--wait takes only [-i containerinterface]', args.join(' '));
    return { kind: 'wait', ifname: parseIfName(ifname, '-i') };
  }
  if (args[0] === '--direct-phys') {
    directPhys = true;
    args.shift();
  }
  const first = args.shift();
  if (first === undefined) return usage('missing host interface');
  if (!directPhys && (first === 'route' || first === 'rule' || first === 'tc')) {
    const guest = args.shift();
    if (guest === undefined) return usage(`${first} needs a guest`);
    // `ip route` and `ip rule` alone list (as `pipework route web` did); tc alone only prints its usage
    if (args.length === 0 && first === 'tc')
      throw badInput(
        'E_USAGE',
        'pipework syntax',
        undefined,
        'tc needs arguments',
        `e.g. pipefitter tc ${guest} qdisc show, or pipefitter tc ${guest} qdisc add dev eth1 root tbf rate 1mbit burst 32kbit latency 400ms`,
      );
    return { kind: first, target: parseTargetSpec(guest, 'guest'), args };
  }

  let ifname: string | undefined;
  let localIfname: string | undefined;
  let family: Family | undefined;
  // pipework wants -i, -l, -a in that order; any order is accepted here.
  for (;;) {
    const flag = args[0];
    if (flag !== '-i' && flag !== '-l' && flag !== '-a') break;
    const v = args[1];
    if (v === undefined) return usage(`${flag} needs a value`);
    if (flag === '-i') ifname = v;
    else if (flag === '-l') localIfname = v;
    else if (v === '4' || v === '6' || v === 'inet' || v === 'inet6')
      family = v === '6' || v === 'inet6' ? 6 : 4;
    else throw badInput('E_BAD_VALUE', '-a', v, 'unknown address family', 'use 4 or 6');
    args.splice(0, 2);
  }
  const guest = args.shift();
  const addr = args.shift();
  if (guest === undefined || addr === undefined)
    return usage('missing <guest> and <ipaddr>/<subnet> (or dhcp)');
  const macvlan = args.shift();
  if (args.length) usage('too many arguments', args.join(' '));

  // [mac|U:seed][@vlan]
  let mac: Mac | undefined;
  let vlan: number | undefined;
  if (macvlan !== undefined) {
    const [macText = '', vlanText, ...junk] = macvlan.split('@');
    if (junk.length)
      throw badInput(
        'E_BAD_VALUE',
        'macaddr',
        macvlan,
        'has more than one "@"',
        'write [macaddr][@vlan], e.g. 02:00:00:00:00:07@10',
      );
    if (vlanText !== undefined) vlan = parseVlanId(vlanText, '@vlan');
    if (macText.startsWith('U:')) mac = seededMac(macText.slice(2));
    else if (macText !== '') mac = parseMac(macText, 'macaddr');
  }

  const target = parseTargetSpec(guest, 'guest');
  const dhcp = parseDhcp(addr, guest);
  let addrs: ReturnType<typeof parseCidr>[] = [];
  let gateways: ReturnType<typeof parseIp>[] = [];
  if (!dhcp) {
    const [cidrText = '', gwText, ...junk] = addr.split('@');
    if (junk.length)
      throw badInput(
        'E_BAD_VALUE',
        'ipaddr',
        addr,
        'has more than one "@"',
        'write <ipaddr>/<subnet>[@default_gateway], e.g. 192.0.2.10/24@192.0.2.1',
      );
    const cidr = parseCidr(cidrText, 'ipaddr', family === undefined ? {} : { family });
    addrs = [cidr];
    if (gwText !== undefined && gwText !== '')
      gateways = [parseIp(gwText, 'default_gateway', { family: cidr.family })];
  } else if (family !== undefined) {
    usage('-a applies to static addresses, not DHCP');
  }
  if (directPhys && (localIfname !== undefined || vlan !== undefined))
    usage('--direct-phys takes no -l and no @vlan');

  const host = first.startsWith('mac:')
    ? { mac: parseMac(first.slice(4), 'mac:hostinterface') }
    : { name: parseIfName(first, 'hostinterface') };
  return {
    kind: 'attach',
    request: {
      target,
      iface: {
        ifname: parseIfName(ifname ?? DEFAULT_IFNAME, '-i'),
        mac,
        mtu: undefined,
        addrs,
        gateways,
        routes: [],
        announce: true,
        dhcp,
      },
      link: {
        kind: 'auto',
        host,
        directPhys,
        vlan: vlan === undefined ? undefined : parseVlanId(vlan, '@vlan'),
        hostIfname: localIfname === undefined ? undefined : parseIfName(localIfname, '-l'),
      },
    },
  };
};
