// Kernel modules the VM loads at boot, before the test command starts. Only roots are listed:
// their dependencies (modules.dep) and pre-soft-dependencies (modules.softdep) are resolved by
// lib.mjs, and modules built into the kernel are skipped. Anything not listed can still be
// autoloaded later: the guest sees the whole extracted module tree at /lib/modules/<release>.
// Preloading keeps tests from depending on autoload (which kernel paths do and do not trigger it
// differs between kinds of link) and puts the cost in one place at boot.

/** Needed to reach the host's root file system: virtio PCI transport and 9p over it. */
export const bootModules = ['virtio_pci', 'virtio_rng', '9pnet_virtio', '9p', 'overlay'];

/** What the tests exercise and this machine's own kernel lacks or may lack. */
export const testModules = [
  // link kinds
  '8021q',
  'ipvlan',
  'ipvtap',
  'macvlan',
  'macvtap',
  'dummy',
  'veth',
  'bridge',
  'br_netfilter',
  'vxlan',
  'geneve',
  'tun',
  'bonding',
  'ifb',
  'vrf',
  // Open vSwitch with its tunnel vports
  'openvswitch',
  'vport_vxlan',
  'vport_geneve',
  'vport_gre',
  // traffic control
  'sch_htb',
  'sch_tbf',
  'sch_ingress',
  'sch_netem',
  'cls_u32',
  'cls_flower',
  'cls_matchall',
  'act_mirred',
  'act_vlan',
  'act_gact',
  // netfilter, for Docker-style NAT and the br_netfilter checks
  'nf_tables',
  'nft_compat',
  'nft_chain_nat',
  'nft_ct',
  'nft_masq',
  'nft_nat',
  'nft_reject_inet',
  'nft_fib_inet',
  'nf_conntrack',
  'nf_nat',
  'ip_tables',
  'iptable_filter',
  'iptable_nat',
  'iptable_mangle',
  'ip6_tables',
  'ip6table_filter',
  'ip6table_nat',
  'xt_conntrack',
  'xt_MASQUERADE',
  'xt_addrtype',
  'xt_nat',
  'xt_tcpudp',
  'xt_mark',
  'xt_comment',
  'xt_multiport',
  'xt_physdev',
];

/**
 * Module parameters. Several drivers make example devices when loaded (dummy0, bond0, ifb0 and
 * ifb1); the VM starts without them so that a namespace holds only what a test made.
 */
export const moduleParams = {
  dummy: 'numdummies=0',
  bonding: 'max_bonds=0',
  ifb: 'numifbs=0',
};
