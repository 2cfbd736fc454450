/**
 * What this machine can do: kernel features (probed in a throwaway namespace), Open vSwitch,
 * packet filtering, and the tools pipefitter calls — each missing one with its fix.
 */
import { access } from 'node:fs/promises';
import { release } from 'node:os';
import type { OvsState } from '../model/features.js';
import { FEATURES, OVS_PACKAGE, ovsProblems } from '../model/features.js';
import { fixFor, probeFilters, probeKernel } from '../observe/kernel.js';
import { probeOvs } from '../observe/ovs.js';
import type { RunOptions } from './engine.js';
import { runnerOf } from './engine.js';

export interface DoctorItem {
  readonly id: string;
  readonly what: string;
  readonly ok: boolean;
  /** Needed for pipefitter to work at all, or only for some commands. */
  readonly required: boolean;
  readonly detail?: string | undefined;
  readonly fix?: string | undefined;
  /** What was found, one fact each (Open vSwitch: the tool, its database, the kernel module). */
  readonly facts?: readonly string[] | undefined;
}

export interface DoctorReport {
  readonly kernel: string;
  readonly items: readonly DoctorItem[];
}

const TOOLS: readonly { cmd: string; pkg: string; required: boolean; for: string }[] = [
  { cmd: 'ip', pkg: 'iproute2', required: true, for: 'everything' },
  { cmd: 'bridge', pkg: 'iproute2', required: false, for: 'bridge VLANs' },
  { cmd: 'tc', pkg: 'iproute2', required: false, for: 'pipefitter tc' },
  { cmd: 'nsenter', pkg: 'util-linux', required: true, for: 'entering containers' },
  { cmd: 'unshare', pkg: 'util-linux', required: true, for: 'DHCP and feature probes' },
  { cmd: 'sysctl', pkg: 'procps', required: true, for: 'IPv6 per interface, forwarding' },
  { cmd: 'arping', pkg: 'arping', required: false, for: 'gratuitous ARP' },
  { cmd: 'nft', pkg: 'nftables', required: false, for: 'recipe NAT and published ports' },
  { cmd: 'iptables', pkg: 'iptables', required: false, for: 'bridges next to Docker (br_netfilter)' },
  { cmd: 'udhcpc', pkg: 'udhcpc', required: false, for: 'DHCP' },
  { cmd: 'dhclient', pkg: 'isc-dhcp-client', required: false, for: 'DHCP' },
  { cmd: 'dhcpcd', pkg: 'dhcpcd-base', required: false, for: 'DHCP' },
  { cmd: 'ovs-vsctl', pkg: 'openvswitch-switch', required: false, for: 'Open vSwitch bridges' },
  { cmd: 'podman', pkg: 'podman', required: false, for: 'podman: targets' },
];

const onPath = async (cmd: string): Promise<boolean> => {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin']))
    if (
      await access(`${dir}/${cmd}`).then(
        () => true,
        () => false,
      )
    )
      return true;
  return false;
};

/** Open vSwitch is usable only with ovs-vsctl, its database answering and the kernel datapath. */
const ovsItem = (s: OvsState): DoctorItem => {
  const problems = ovsProblems(s);
  const facts = [
    s.installed ? 'ovs-vsctl installed' : `ovs-vsctl not installed (package ${OVS_PACKAGE})`,
    s.databaseUp === undefined
      ? `database ${s.database} not checked`
      : s.databaseUp
        ? `database ${s.database} answers`
        : `database ${s.database} cannot be reached${s.databaseError ? ` (${s.databaseError})` : ''}`,
    `kernel module openvswitch ${s.module}`,
  ];
  return {
    id: 'openvswitch',
    what: 'Open vSwitch (--ovs, ovs* bridges)',
    ok: problems.length === 0,
    required: false,
    detail: facts.join('; '),
    facts,
    fix: problems.length ? problems.map((p) => p.fix).join('; and ') : undefined,
  };
};

export const doctor = async (opts: RunOptions = {}): Promise<DoctorReport> => {
  const runner = runnerOf(opts);
  const [probe, ovs] = await Promise.all([probeKernel(runner), probeOvs(runner)]);
  const items: DoctorItem[] = FEATURES.map((f) => {
    const ok = probe.supported.get(f.id);
    return {
      id: f.id,
      what: f.what,
      ok: ok === true,
      required: f.id === 'veth' || f.id === 'bridge',
      detail: ok === undefined ? (probe.error ?? 'not checked') : undefined,
      fix: ok === true ? undefined : fixFor(f),
    };
  });
  items.push(ovsItem(ovs));
  for (const f of await probeFilters(runner)) items.push({ ...f, what: f.id, required: false });
  for (const t of TOOLS) {
    const ok = await onPath(t.cmd);
    items.push({
      id: `tool:${t.cmd}`,
      what: `${t.cmd} (${t.for})`,
      ok,
      required: t.required,
      fix: ok ? undefined : `apt-get install ${t.pkg}`,
    });
  }
  return { kernel: release(), items };
};
