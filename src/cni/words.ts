/**
 * `attach`'s flags in the configuration's words: errors of the attach pipeline name `--mac`, a
 * CNI error names `mac`. Its own module, small, so that the entry's error path loads no more
 * than it needs. Pure.
 */

/** Flags of `attach` → the configuration's keys (or where the value came from). */
const KEY_OF_FLAG: Readonly<Record<string, string>> = {
  '--bridge': 'bridge',
  '--ovs': 'bridge',
  '--macvlan': 'macvlan',
  '--ipvlan': 'ipvlan',
  '--vlan': 'vlan',
  '--phys': 'phys',
  '--mode': 'mode',
  '--vlan-id': 'vlanId',
  '--trunk': 'trunk',
  '--mtu': 'mtu',
  '--mac': 'mac',
  '--gateway': 'gateway',
  '--route': 'routes',
  '--ip': 'ipam (the addresses it returned)',
  '--ifname': 'CNI_IFNAME',
  '--host-ifname': 'the host interface name',
};

/** Rewrite `--flag` words (and `--a|--b` lists) into configuration keys. */
export const inConfigWords = (text: string): string =>
  text.replace(/--[a-z][a-z-]*(?:\|--[a-z][a-z-]*)*/g, (m) =>
    m
      .split('|')
      .map((f) => KEY_OF_FLAG[f] ?? f)
      .filter((k, i, all) => all.indexOf(k) === i)
      .join('|'),
  );
