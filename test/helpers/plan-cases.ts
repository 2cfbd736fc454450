/**
 * Planner unit-test cases built on ./plan-fixtures.ts: an attachment from attach's flags, the
 * plan of a detach, and the states around the links several attachments share (a shared VLAN
 * sub-interface, a host shim) with the users their tags list.
 */
import type { Attachment } from '../../src/model/attachment.js';
import type { AttachInput } from '../../src/model/input.js';
import { parseAttachInput } from '../../src/model/input.js';
import type { NetnsState, ObservedLink } from '../../src/model/observed.js';
import { encodeTag } from '../../src/model/owner.js';
import type { Plan } from '../../src/model/step.js';
import type { ResolvedTarget } from '../../src/model/target.js';
import { parseIfName } from '../../src/names.js';
import { planDetach } from '../../src/plan/detach.js';
import { vlanUserKey } from '../../src/plan/shared-vlan.js';
import { nic, nsState, observed } from './plan-fixtures.js';

/** An attachment of `t` from attach's flags (all but `target`), of `owner` when given; not a pair. */
export const attachment = (
  t: ResolvedTarget,
  input: Omit<AttachInput, 'target'>,
  owner?: string,
): Attachment => {
  const req = parseAttachInput({ target: 'x', ...input });
  if (req.link.kind === 'pair') throw new Error('no pairs here');
  return { target: t, iface: req.iface, link: req.link, ...(owner ? { owner } : {}) };
};

/** The plan of `detach T --ifname IFNAME` (eth1), the host's namespace and T's as given. */
export const detachPlan = (t: ResolvedTarget, host: NetnsState, inside: NetnsState, ifname = 'eth1'): Plan =>
  planDetach({ target: t, ifname: parseIfName(ifname, 'ifname'), force: false }, observed(host, [t, inside]));

/** The user that `ifname` (eth1) of `t` is in a shared link's tag (a shared VLAN's, a host shim's). */
export const userOf = (t: ResolvedTarget, ifname = 'eth1'): string => vlanUserKey(t.id, ifname);

/** eth1 of `t`: a macvlan pipefitter made on `parent` (its tag says so), with `p` on top. */
export const ownMacvlan = (t: ResolvedTarget, parent: string, p: Partial<ObservedLink> = {}): ObservedLink =>
  nic('eth1', {
    kind: 'macvlan',
    alias: encodeTag({ kind: 'macvlan', target: t.id, ifname: 'eth1', parent }),
    ...p,
  });

/**
 * The namespace of `t` before an `attach --replace`: its eth1 on `parent` (as `parent` is seen) at
 * 198.51.100.7/24, in another macvlan mode than asked for, so that it is replaced, not repaired.
 */
export const toReplace = (t: ResolvedTarget, parent: string): NetnsState =>
  nsState([
    ownMacvlan(t, parent, {
      macvlanMode: 'private',
      parent,
      addrs: [{ family: 4, address: '198.51.100.7', prefix: 24, scope: 'global' }],
    }),
  ]);

/** The shared VLAN sub-interface eth3.10 (VLAN 10 on eth3) pipefitter made, its tag listing `users`. */
export const sharedSub = (...users: string[]): ObservedLink =>
  nic('eth3.10', {
    kind: 'vlan',
    vlanId: 10,
    parent: 'eth3',
    alias: encodeTag({ kind: 'vlan-shared', ...(users.length ? { users } : {}) }),
  });

/** The host shim on eth3 (pfshim-eth3) pipefitter made, its tag listing `users`. */
export const shimLink = (...users: string[]): ObservedLink =>
  nic('pfshim-eth3', {
    kind: 'macvlan',
    parent: 'eth3',
    alias: encodeTag({ kind: 'macvlan-shim', parent: 'eth3', ...(users.length ? { users } : {}) }),
  });
