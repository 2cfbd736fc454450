/**
 * CNI CHECK (SPEC.md section 2): the attachment as its `prevResult` says, read from the kernel
 * (cni/check.ts), then the IPAM plugin's own CHECK. Drift is error 104 listing every difference.
 */
import type { CniVerb } from '../cni/verb.js';
import { CNI_ERROR, CniError } from '../cni/types.js';
import { checkAttachment } from '../cni/check.js';
import type { ExpectedWay } from '../cni/check.js';
import { checkAttachKeys, containerIfnameOf, hostIfnameOf } from '../cni/request.js';
import { createRunner } from '../exec/runner.js';
import { HOST, netnsKey } from '../model/netns.js';
import type { NetnsState } from '../model/observed.js';
import { observe } from '../observe/snapshot.js';
import { requireRoot, resolveAll } from './engine.js';
import { delegateIpam } from './cni-ipam.js';

const seenOf = (s: NetnsState | undefined) => ({
  links: (s?.links ?? []).map((l) => ({
    name: l.name,
    mac: l.mac,
    mtu: l.mtu,
    master: l.master,
    up: l.up,
    addrs: l.addrs.map((a) => `${a.address}/${a.prefix}`),
    ifindex: l.ifindex,
    kind: l.kind,
    mode: l.macvlanMode ?? l.ipvlanMode,
    vlanId: l.vlanId,
    parentIndex: l.linkNetnsid !== undefined ? l.linkIndex : undefined,
  })),
  routes: (s?.routes ?? []).map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev })),
});

/** What the configuration makes in the container (phys: a host device, whatever its kind). */
const wayOf = (conf: Parameters<CniVerb>[1]): ExpectedWay | undefined => {
  const a = conf.attach;
  if (a.bridge !== undefined) return { kind: 'veth' };
  if (a.macvlan !== undefined) return { kind: 'macvlan', parent: a.macvlan, mode: a.mode };
  if (a.ipvlan !== undefined) return { kind: 'ipvlan', parent: a.ipvlan, mode: a.mode };
  if (a.vlan !== undefined) return { kind: 'vlan', parent: a.vlan, vlanId: a.vlanId };
  return undefined;
};

export const run: CniVerb = async (env, conf, log) => {
  const containerId = env.containerId ?? '';
  const ifname = containerIfnameOf(conf, env.ifname ?? '');
  const netns = env.netns ?? '';
  const bridge = conf.attach.ovs ? undefined : conf.attach.bridge;
  const hostIfname =
    conf.attach.bridge !== undefined ? hostIfnameOf(conf.name, containerId, ifname) : undefined;
  checkAttachKeys(conf, { netns, ifname, hostIfname });
  if (conf.prevResult === undefined)
    throw new CniError(
      CNI_ERROR.invalidConfig,
      'prevResult: missing',
      'CHECK compares with the result of the ADD: the runtime passes it as "prevResult"',
    );
  requireRoot();
  const runner = createRunner();
  try {
    const [t] = await resolveAll([{ kind: 'path', path: netns }], runner);
    const seen = await observe(runner, [HOST, t!.netns], { firewall: false });
    const problems = checkAttachment({
      ifname,
      sandbox: netns,
      prevResult: conf.prevResult,
      bridge,
      hostIfname,
      way: wayOf(conf),
      container: seenOf(seen.get(netnsKey(t!.netns))),
      host: seenOf(seen.get(netnsKey(HOST))),
    });
    if (problems.length)
      throw new CniError(
        CNI_ERROR.drift,
        problems[0]!,
        problems.length > 1
          ? `also: ${problems.slice(1).join('; ')}`
          : 'DEL and ADD the attachment again to repair it',
      );
    await delegateIpam({ runner, conf, env, log }, 'CHECK');
    return undefined;
  } finally {
    runner.close?.();
  }
};
