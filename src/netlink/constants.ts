/**
 * rtnetlink numbers, as the kernel's uapi headers define them (linux/netlink.h, rtnetlink.h,
 * if_link.h, if_addr.h, veth.h, if_bridge.h, neighbour.h, netconf.h). Facts, not code: the
 * values below were read off those headers with a C compiler.
 */

export const NETLINK_ROUTE = 0;
export const AF = { UNSPEC: 0, INET: 2, BRIDGE: 7, INET6: 10, NETLINK: 16 } as const;
export const SOL_NETLINK = 270;
export const SOCKOPT = { ADD_MEMBERSHIP: 1, CAP_ACK: 10, EXT_ACK: 11, GET_STRICT_CHK: 12 } as const;
/** Multicast groups of NETLINK_ROUTE (enum rtnetlink_groups). */
export const RTNLGRP = { LINK: 1 } as const;
export const CLONE_NEWNET = 0x40000000;

export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3 } as const;
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  DUMP_INTR: 0x10,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  /** In an ack: the request was not echoed back. */
  CAPPED: 0x100,
  /** In an ack: extended-ack attributes follow. */
  ACK_TLVS: 0x200,
} as const;
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2 } as const;

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
  GETNEIGH: 30,
  NEWRULE: 32,
  GETRULE: 34,
  NEWNETCONF: 80,
  GETNETCONF: 82,
} as const;

/** struct sizes: ifinfomsg, ifaddrmsg, rtmsg, ndmsg, netconfmsg (padded to 4), nlmsghdr. */
export const SIZE = {
  NLMSGHDR: 16,
  IFINFOMSG: 16,
  IFADDRMSG: 8,
  RTMSG: 12,
  NDMSG: 12,
  NETCONFMSG: 4,
} as const;

export const IFLA = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  TXQLEN: 13,
  OPERSTATE: 16,
  LINKINFO: 18,
  NET_NS_PID: 19,
  IFALIAS: 20,
  AF_SPEC: 26,
  GROUP: 27,
  NET_NS_FD: 28,
  EXT_MASK: 29,
  CARRIER: 33,
  LINK_NETNSID: 37,
  NEW_NETNSID: 45,
  TARGET_NETNSID: 46,
  PROP_LIST: 52,
  ALT_IFNAME: 53,
  PERM_ADDRESS: 54,
} as const;
export const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4, SLAVE_DATA: 5 } as const;
export const VETH_INFO_PEER = 1;
export const IFLA_BR = { VLAN_FILTERING: 7, VLAN_DEFAULT_PVID: 39 } as const;
export const IFLA_MACVLAN = { MODE: 1, FLAGS: 2 } as const;
export const MACVLAN_MODE = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;
export const IFLA_IPVLAN = { MODE: 1, FLAGS: 2 } as const;
export const IPVLAN_MODE = { l2: 0, l3: 1, l3s: 2 } as const;
export const IPVLAN_FLAG = { bridge: 0, private: 1, vepa: 2 } as const;
export const IFLA_VLAN = { ID: 1, PROTOCOL: 5 } as const;
export const IFLA_VXLAN = {
  ID: 1,
  GROUP: 2,
  LINK: 3,
  LOCAL: 4,
  TTL: 5,
  LEARNING: 7,
  PORT: 15,
  GROUP6: 16,
  LOCAL6: 17,
} as const;
export const IFLA_INET = { CONF: 1 } as const;
export const IFLA_BRIDGE = { FLAGS: 0, VLAN_INFO: 2 } as const;
export const BRIDGE_VLAN_INFO = { MASTER: 1, PVID: 2, UNTAGGED: 4 } as const;
export const RTEXT_FILTER = { VF: 1, BRVLAN: 2 } as const;

export const IFF = { UP: 0x1, BROADCAST: 0x2, LOOPBACK: 0x8, RUNNING: 0x40, LOWER_UP: 0x10000 } as const;
/** IFLA_OPERSTATE values, named as `ip` prints them. */
export const OPERSTATE = [
  'UNKNOWN',
  'NOTPRESENT',
  'DOWN',
  'LOWERLAYERDOWN',
  'TESTING',
  'DORMANT',
  'UP',
] as const;

export const IFA = {
  ADDRESS: 1,
  LOCAL: 2,
  LABEL: 3,
  BROADCAST: 4,
  CACHEINFO: 6,
  FLAGS: 8,
  PROTO: 11,
} as const;
export const IFA_F = {
  SECONDARY: 0x1,
  NODAD: 0x2,
  HOMEADDRESS: 0x10,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  MANAGETEMPADDR: 0x100,
  NOPREFIXROUTE: 0x200,
  MCAUTOJOIN: 0x400,
} as const;

export const RTA = {
  DST: 1,
  SRC: 2,
  IIF: 3,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  METRICS: 8,
  MULTIPATH: 9,
  TABLE: 15,
  VIA: 18,
  PREF: 20,
  EXPIRES: 23,
  NH_ID: 30,
} as const;
/** rtm_type, named as `ip` prints them. */
export const RTN = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
] as const;
/** rtm_protocol values `ip` names (others are printed as numbers). */
export const RTPROT: Readonly<Record<number, string>> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  42: 'babel',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};
export const RT_SCOPE = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
export const RTNH_F = { DEAD: 0x1, ONLINK: 0x4, LINKDOWN: 0x10 } as const;
export const RT_TABLE = { UNSPEC: 0, MAIN: 254, LOCAL: 255 } as const;

export const NDA = { DST: 1, LLADDR: 2 } as const;
export const NUD = {
  INCOMPLETE: 0x1,
  REACHABLE: 0x2,
  STALE: 0x4,
  DELAY: 0x8,
  PROBE: 0x10,
  FAILED: 0x20,
  NOARP: 0x40,
  PERMANENT: 0x80,
} as const;

export const NETCONFA = { IFINDEX: 1, FORWARDING: 2 } as const;
export const NETCONFA_IFINDEX = { ALL: -1, DEFAULT: -2 } as const;
