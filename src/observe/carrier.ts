/**
 * After an attach: has each interface pipefitter made carrier (LOWER_UP)? A macvlan on a parent
 * with no cable, or a NIC moved in with nothing at the far end, is configured but reaches
 * nothing; the report says so, and why, instead of a silent success.
 */
import type { Runner } from '../exec/runner.js';
import type { NetnsRef } from '../model/netns.js';
import { HOST, netnsKey } from '../model/netns.js';
import type { ObservedLink } from '../model/observed.js';
import { decodeTag } from '../model/owner.js';
import { readLinks } from './links.js';

export interface CarrierItem {
  /** The target as the user knows it, e.g. "docker:web". */
  readonly label: string;
  readonly netns: NetnsRef;
  readonly ifname: string;
}

export interface CarrierReport {
  readonly target: string;
  readonly ifname: string;
  readonly carrier: boolean;
  /** Why there is none (only when carrier is false). */
  readonly why?: string | undefined;
}

const explain = async (runner: Runner, l: ObservedLink | undefined): Promise<string> => {
  if (!l) return 'it is gone';
  if (!l.up) return 'it is down';
  const tag = decodeTag(l.alias);
  switch (tag?.kind) {
    case 'macvlan':
    case 'ipvlan':
    case 'vlan': {
      if (tag.parent === undefined || tag.vlan === 'inside') break;
      const [p] = await readLinks(runner, HOST, tag.parent);
      if (!p) return `its parent "${tag.parent}" is gone`;
      if (!p.up) return `its parent "${tag.parent}" is down`;
      if (!p.carrier) return `its parent "${tag.parent}" has no carrier (no cable, or the far end is down)`;
      break;
    }
    case 'phys':
      return 'the device has no carrier (no cable, or the far end is down)';
    case 'veth':
      return 'its host end is down';
    case 'pair':
      return `its peer end ${tag.peer ?? ''}:${tag.peerIfname ?? ''} is down`;
    case 'bridge':
    case 'veth-host':
    case 'vlan-shared':
    case 'macvlan-shim':
    case undefined:
      break;
  }
  return `operstate ${l.operstate}`;
};

/**
 * Read LOWER_UP of each item (one `ip` per namespace). Where carrier is missing and
 * `settleMs` is given — a parent was just brought up, and a NIC needs a moment to negotiate —
 * look again every 100 ms until then.
 */
export const checkCarrier = async (
  runner: Runner,
  items: readonly CarrierItem[],
  opts: { settleMs?: number } = {},
): Promise<CarrierReport[]> => {
  const byNs = new Map<string, { ns: NetnsRef; items: CarrierItem[] }>();
  for (const i of items) {
    const k = netnsKey(i.netns);
    const g = byNs.get(k) ?? { ns: i.netns, items: [] };
    g.items.push(i);
    byNs.set(k, g);
  }
  const out: CarrierReport[] = [];
  for (const { ns, items: group } of byNs.values()) {
    const deadline = performance.now() + (opts.settleMs ?? 0);
    let links = await readLinks(runner, ns);
    const lacking = () => group.filter((i) => !links.find((l) => l.name === i.ifname)?.carrier);
    while (lacking().length > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      links = await readLinks(runner, ns);
    }
    for (const i of group) {
      const l = links.find((x) => x.name === i.ifname);
      if (l?.carrier) out.push({ target: i.label, ifname: i.ifname, carrier: true });
      else out.push({ target: i.label, ifname: i.ifname, carrier: false, why: await explain(runner, l) });
    }
  }
  return out;
};
