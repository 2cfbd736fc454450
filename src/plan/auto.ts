/**
 * pipework's "what is this host interface?" rule, decided on the observed host:
 * an existing bridge → veth into it; an existing Open vSwitch bridge → OVS port; any other
 * existing interface → macvlan on it (or the interface itself with --direct-phys); a missing
 * name starting with "br" → a new Linux bridge, "ovs" → a new OVS bridge.
 */
import { refuse } from '../errors.js';
import type { Attachment, ConcreteAttachment } from '../model/attachment.js';
import { HOST } from '../model/netns.js';
import type { PlanContext } from './context.js';

export const resolveAuto = (ctx: PlanContext, a: Attachment): ConcreteAttachment => {
  const l = a.link;
  if (l.kind !== 'auto') return { ...a, link: l };
  let name: string;
  if ('mac' in l.host) {
    const mac = l.host.mac;
    const found = ctx.links(HOST).find((x) => x.mac === mac && x.kind !== 'bridge');
    if (!found)
      throw refuse(
        'E_NO_HOST_IF',
        `mac:${mac}`,
        'no host interface has this MAC address',
        'check the MAC with `ip -br link`, or name the interface',
      );
    name = found.name;
  } else name = l.host.name;
  const ifname = name as typeof a.iface.ifname;
  const existing = ctx.link(HOST, name);
  // pipework's rule: an existing bridge, or a missing name starting with "br" ("ovs": Open vSwitch)
  const ovs = existing?.kind === 'openvswitch' || (!existing && name.startsWith('ovs'));
  if (ovs || existing?.kind === 'bridge' || (!existing && name.startsWith('br'))) {
    if (l.directPhys)
      throw refuse(
        'E_CONFLICT',
        `host interface "${name}"`,
        `is ${ovs ? 'an Open vSwitch bridge' : 'a bridge'}; --direct-phys moves a physical interface`,
        'drop --direct-phys',
      );
    return {
      ...a,
      link: {
        kind: 'bridge',
        bridge: ifname,
        create: true,
        bridgeAddrs: [],
        hostIfname: l.hostIfname,
        vlan: l.vlan,
        ...(ovs ? { ovs: true } : {}),
      },
    };
  }
  if (!existing)
    throw refuse(
      'E_NO_HOST_IF',
      `host interface "${name}"`,
      'does not exist, and only names starting with "br" (a new bridge) are made on the fly',
      'give an existing host interface (`ip -br link`), or a bridge name such as br1',
    );
  if (l.directPhys) return { ...a, link: { kind: 'phys', device: ifname } };
  return { ...a, link: { kind: 'macvlan', parent: ifname, mode: 'bridge', vlan: l.vlan } };
};
