/**
 * CNI ADD (SPEC.md section 2): the configuration's attachment made in CNI_NETNS through the same
 * pipeline as `pipefitter attach` (one plan, rolled back on failure), its addresses from the
 * delegated IPAM plugin. Everything that can refuse does so before IPAM is asked: the keys, the
 * namespace, an interface of that name already there (the spec's "must return an error"). Any
 * failure after IPAM gave addresses releases them (IPAM DEL) before the error is returned, and
 * the attachment's record goes: a failed ADD leaves nothing.
 */
import type { NetConf } from '../cni/config.js';
import type { CniEnv } from '../cni/env.js';
import type { CniResult, CniRoute } from '../cni/types.js';
import type { CniVerb } from '../cni/verb.js';
import { CNI_ERROR, CniError } from '../cni/types.js';
import { attachRequestOf, checkAttachKeys, containerIfnameOf, hostIfnameOf } from '../cni/request.js';
import { addResult } from '../cni/result.js';
import type { MadeLink } from '../cni/result.js';
import { createRunner } from '../exec/runner.js';
import type { Runner } from '../exec/runner.js';
import { HOST, netnsKey } from '../model/netns.js';
import type { ResolvedTarget } from '../model/target.js';
import { observeLinks } from '../observe/links.js';
import { removeCniRecord, writeCniRecord } from '../state/cni.js';
import type { CniRecord } from '../state/cni.js';
import type { TargetSpec } from '../model/target.js';
import { removeAttachment } from './cni-remove.js';
import { attachRequests } from './attach.js';
import { requireRoot, resolveAll } from './engine.js';
import { changesFirewall } from '../plan/firewall.js';
import { delegateIpam } from './cni-ipam.js';

/** The parameters ADD requires (cni/env.ts has checked they are set). */
export const identityOf = (env: CniEnv): { containerId: string; ifname: string; netns: string } => ({
  containerId: env.containerId ?? '',
  ifname: env.ifname ?? '',
  netns: env.netns ?? '',
});

export const wayOf = (conf: NetConf): { kind: string; host: string } => {
  const a = conf.attach;
  for (const kind of ['bridge', 'macvlan', 'ipvlan', 'vlan', 'phys'] as const)
    if (a[kind] !== undefined) return { kind, host: a[kind] };
  return { kind: 'none', host: '' };
};

/**
 * Whether the IPAM plugin leases for the interface itself, so that it must be there first: the
 * reference `dhcp` plugin's daemon runs a DHCP client on CNI_IFNAME in the container.
 */
export const leasesForTheInterface = (conf: NetConf): boolean => conf.ipam?.type === 'dhcp';

export const run: CniVerb = async (env, conf, log, shared = {}) => {
  const { containerId, ifname, netns } = identityOf(env);
  const device = containerIfnameOf(conf, ifname);
  const way = wayOf(conf);
  const hostIfname = way.kind === 'bridge' ? hostIfnameOf(conf.name, containerId, device) : undefined;
  const params = { netns, ifname: device, hostIfname };
  const unaddressed = checkAttachKeys(conf, params);
  requireRoot();
  const runner = createRunner();
  try {
    const [target] = await resolveAll([{ kind: 'path', path: netns }], runner);
    const t = target as ResolvedTarget;
    // the names alone (one link dump each): the attach observes everything, under the host lock
    const seen = await observeLinks(runner, [HOST, t.netns]);
    // the host interface a macvlan, ipvlan or VLAN is made on, or phys moves: there before IPAM is asked
    if (way.kind !== 'bridge' && !seen.get(netnsKey(HOST))?.some((l) => l.name === way.host))
      throw new CniError(
        CNI_ERROR.invalidConfig,
        `${way.kind} "${way.host}": no such interface on the host`,
        `give the name of a host interface (\`ip -br link\` lists them), e.g. "${way.kind}": "eth1"`,
      );
    if (seen.get(netnsKey(t.netns))?.some((l) => l.name === device))
      throw new CniError(
        CNI_ERROR.interfaceExists,
        `${device === ifname ? 'CNI_IFNAME' : 'ifname'} "${device}": an interface of that name already exists in ${netns}`,
        device === ifname &&
          conf.prevResult?.interfaces?.some((i) => i.name === ifname && i.sandbox === netns)
          ? `an earlier plugin of the chain made it: give pipefitter its own interface, e.g. "ifname": "eth1"`
          : 'DEL the attachment that made it first, or give another interface name',
      );
    const call = { runner, conf, env, log };
    // the record before any address: a lease of pipefitter's own IPAM never exists without the
    // record of its attachment, so `pipefitter ipam gc` may collect one whose record is gone
    const record: CniRecord = {
      version: 1,
      network: conf.name,
      containerId,
      ifname,
      ...(device === ifname ? {} : { device }),
      netns,
      targetId: t.id,
      ...way,
      hostIfname,
      ipam: conf.ipam?.type,
      addedAt: new Date().toISOString(),
    };
    await writeCniRecord(record);
    const title = `pipefitter cni ADD ${conf.name} ${containerId} ${ifname}`;
    const opts = {
      runner,
      resolved: (spec: TargetSpec) => (spec === unaddressed.target ? t : undefined),
      firewall: shared.firewallFor?.(conf.attach.ovs ? undefined : conf.attach.bridge),
      onLockWait: (h: string) => log(`waiting for the host lock (${h})`),
    };
    const result = (ipam: CniResult | undefined): Promise<CniResult> =>
      readResult(runner, conf, t, { ifname: device, netns, hostIfname, bridge: conf.attach.bridge }, ipam);
    if (leasesForTheInterface(conf)) {
      // made without addresses first, IPAM asked for the interface then there, its addresses added
      // by the same attach again (which changes only what differs); any failure undoes it all as DEL
      try {
        const made = await attachRequests([unaddressed], opts, title);
        const ipam = await delegateIpam(call, 'ADD');
        const out = await attachRequests([attachRequestOf(conf, params, ipam)], opts, title);
        if ([made, out].some((o) => o.plan.steps.some(changesFirewall))) shared.firewallTouched?.();
        return await result(ipam);
      } catch (e) {
        await removeAttachment({ runner, conf, env, log, containerId, ifname, netns, record });
        // also when a part of that failed (an interface the failed attach never made): the ADD
        // failed, and a DEL finds what may be left by the configuration and the identity
        await removeCniRecord(conf.name, containerId, ifname).catch(() => undefined);
        throw e;
      }
    }
    // IPAM is asked now, and the attach takes the host lock and observes while it answers (its
    // process is a third of a served ADD); the plan waits for the addresses
    const asked = delegateIpam(call, 'ADD');
    const completed = asked.then((ipam) => [attachRequestOf(conf, params, ipam)]);
    // each awaited below (the attach may fail before it waits for them)
    asked.catch(() => undefined);
    completed.catch(() => undefined);
    try {
      const out = await attachRequests([unaddressed], { ...opts, completed }, title);
      if (out.plan.steps.some(changesFirewall)) shared.firewallTouched?.();
      return await result(await asked);
    } catch (e) {
      // an IPAM call still under way (the attach failed before it waited) is released once done
      await asked.catch(() => undefined);
      if (conf.ipam !== undefined)
        await delegateIpam(call, 'DEL').catch((d: unknown) =>
          log(`releasing the IPAM addresses failed: ${(d as Error).message}`),
        );
      await removeCniRecord(conf.name, containerId, ifname).catch(() => undefined);
      throw e;
    }
  } finally {
    runner.close?.();
  }
};

/** The result, from the links as the kernel shows them now (their names, MACs and MTUs). */
const readResult = async (
  runner: Runner,
  conf: NetConf,
  t: ResolvedTarget,
  p: { ifname: string; netns: string; hostIfname?: string | undefined; bridge?: string | undefined },
  ipam: CniResult | undefined,
): Promise<CniResult> => {
  const seen = await observeLinks(runner, [HOST, t.netns]);
  const linkOf = (ns: typeof HOST, name: string | undefined): MadeLink[] => {
    const l = name === undefined ? undefined : seen.get(netnsKey(ns))?.find((x) => x.name === name);
    return l ? [{ name: l.name, mac: l.mac, mtu: l.mtu }] : [];
  };
  const inside = linkOf(t.netns, p.ifname)[0] ?? { name: p.ifname };
  // an Open vSwitch bridge of the kernel datapath is a link of its name too (its internal port),
  // so both kinds of bridge come first, as the reference bridge and ovs-cni plugins list them
  const host = [...linkOf(HOST, p.bridge), ...linkOf(HOST, p.hostIfname)];
  const routes: CniRoute[] = [
    ...(ipam?.routes ?? []),
    ...(conf.attach.routes ?? []).map((r) => ({ dst: r.dst, ...(r.gw !== undefined ? { gw: r.gw } : {}) })),
  ];
  return addResult({
    cniVersion: conf.cniVersion,
    host,
    container: inside,
    sandbox: p.netns,
    ips: ipam?.ips ?? [],
    routes,
    dns: ipam?.dns ?? conf.dns,
    prevResult: conf.prevResult,
  });
};
