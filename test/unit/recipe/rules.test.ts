/**
 * The recipe rules (values and cross-references): what a valid recipe becomes, field by field,
 * and every problem the rules find, each with its path, message and fix, all reported at once.
 */
import { base } from '../../helpers/recipe-text.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recipeFromText } from '../../../src/recipe/load.js';
import { isPipefitterError } from '../../../src/errors.js';
import { parseCidr, parseHostCidr, parseIp } from '../../../src/addr.js';

/** Every issue of a refused recipe as "path: message | hint". */
const issues = (text: string): string[] => {
  try {
    recipeFromText(text, 'lab.yaml');
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    assert.equal(e.code, 'E_RECIPE');
    return (e.issues ?? []).map((i) => `${i.path}: ${i.message} | ${i.hint ?? ''}`);
  }
  throw new Error('accepted');
};

const head = 'version: 1\n';

test('a valid recipe becomes typed bridges, networks, containers and links, defaults filled in', () => {
  const r = recipeFromText(
    `version: 1
name: lab
description: the lab
bridges:
  br-lan:
    addresses: 192.0.2.1/24
    mtu: 1400
    vlanFiltering: true
    nat: { subnet: 192.0.2.0/24, outInterface: eth0 }
    publish:
      - { port: 8080, to: "192.0.2.10:80" }
      - { port: 5353, to: "192.0.2.11:53", proto: udp }
  br-two:
    addresses: [192.0.2.129/25, 2001:db8::1/64]
networks:
  lan: { bridge: br-lan, subnet: 192.0.2.0/24, gateway: 192.0.2.1, pool: 192.0.2.100-192.0.2.199, mtu: 1400, vlan: 10, trunk: [30, 20, 30] }
  mv: { parent: eth3, vlan: 7 }
  iv: { parent: eth4, kind: ipvlan }
  iv3: { parent: eth4, kind: ipvlan, mode: l3 }
  mvp: { parent: eth5, kind: macvlan, mode: private }
  tagged: { parent: eth1, kind: vlan, vlan: 30, inside: true }
  out: { parent: eth6, kind: vlan, vlan: 40 }
containers:
  web:
    target: netns:web
    create: true
    forwarding: true
    interfaces:
      eth1: { network: lan, address: 192.0.2.10, gateway: true, mac: "02:00:00:00:00:10", routes: [{ to: 198.51.100.0/24, via: 192.0.2.254, metric: 5 }, { to: default, via: 192.0.2.1 }] }
      eth2: { network: lan, address: [192.0.2.11/24, "2001:db8::11/64"], gateway: "2001:db8::1" }
      eth3: { network: lan, address: auto }
      eth4: { network: mv, dhcp: { client: udhcpc, hostname: web, options: ["-x", "y"], foreground: true, dns: true } }
      eth5: { network: iv, address: dhcp }
      eth6: { network: tagged, mtu: 1300 }
  db:
    target: pid:42
    interfaces:
      eth1: { network: iv3 }
links:
  - { a: web:p0, b: db:p0, addresses: [10.0.0.1/30, 10.0.0.2/30], mtu: 9000, gateway: { b: 10.0.0.1 }, routes: { a: [{ to: 10.1.0.0/16, via: 10.0.0.2 }] } }
  - { a: "web:p1", b: "db:p1" }
`,
    'lab.yaml',
  );
  const c = (s: string) => parseCidr(s, 'x');
  const h = (s: string) => parseHostCidr(s, 'x');
  const ip = (s: string) => parseIp(s, 'x');
  assert.equal(r.name, 'lab');
  assert.equal(r.file, 'lab.yaml');
  assert.equal(r.description, 'the lab');
  assert.deepEqual(r.bridges, [
    {
      name: 'br-lan',
      addrs: [h('192.0.2.1/24')],
      mtu: 1400,
      vlanFiltering: true,
      nat: { subnet: c('192.0.2.0/24'), outInterface: 'eth0' },
      publish: [
        { port: 8080, to: { address: ip('192.0.2.10'), port: 80 }, proto: 'tcp' },
        { port: 5353, to: { address: ip('192.0.2.11'), port: 53 }, proto: 'udp' },
      ],
    },
    {
      name: 'br-two',
      addrs: [h('192.0.2.129/25'), h('2001:db8::1/64')],
      mtu: undefined,
      vlanFiltering: false,
      nat: undefined,
      publish: [],
    },
  ]);
  const none = { subnet: undefined, gateway: undefined, pool: undefined, mtu: undefined };
  assert.deepEqual(r.networks, [
    {
      name: 'lan',
      subnet: c('192.0.2.0/24'),
      gateway: ip('192.0.2.1'),
      pool: '192.0.2.100-192.0.2.199',
      mtu: 1400,
      kind: 'bridge',
      bridge: 'br-lan',
      vlan: 10,
      // each VLAN once, as given (sorted later, by the planner)
      trunk: [30, 20, 30],
    },
    // a network with a parent and no kind is a macvlan in bridge mode
    { name: 'mv', ...none, kind: 'macvlan', parent: 'eth3', mode: 'bridge', vlan: 7 },
    { name: 'iv', ...none, kind: 'ipvlan', parent: 'eth4', mode: 'l2', vlan: undefined },
    { name: 'iv3', ...none, kind: 'ipvlan', parent: 'eth4', mode: 'l3', vlan: undefined },
    { name: 'mvp', ...none, kind: 'macvlan', parent: 'eth5', mode: 'private', vlan: undefined },
    { name: 'tagged', ...none, kind: 'vlan', parent: 'eth1', vlan: 30, inside: true },
    { name: 'out', ...none, kind: 'vlan', parent: 'eth6', vlan: 40, inside: false },
  ]);
  const dhcpDefaults = { client: 'dhcp', foreground: false, options: [], hostname: undefined, dns: false };
  assert.deepEqual(r.containers, [
    {
      name: 'web',
      target: { kind: 'netns', name: 'web' },
      create: true,
      forwarding: true,
      interfaces: [
        {
          ifname: 'eth1',
          network: 'lan',
          // no prefix: the network's
          addressing: { kind: 'static', addrs: [h('192.0.2.10/24')] },
          mac: '02:00:00:00:00:10',
          // the network's MTU when the interface gives none
          mtu: 1400,
          gateway: ip('192.0.2.1'),
          routes: [
            { dst: c('198.51.100.0/24'), via: ip('192.0.2.254'), metric: 5 },
            { dst: 'default', via: ip('192.0.2.1'), metric: undefined },
          ],
        },
        {
          ifname: 'eth2',
          network: 'lan',
          // an IPv6 address on an IPv4 network is not checked against its subnet
          addressing: { kind: 'static', addrs: [h('192.0.2.11/24'), h('2001:db8::11/64')] },
          mac: undefined,
          mtu: 1400,
          gateway: ip('2001:db8::1'),
          routes: [],
        },
        {
          ifname: 'eth3',
          network: 'lan',
          addressing: { kind: 'auto' },
          mac: undefined,
          mtu: 1400,
          gateway: undefined,
          routes: [],
        },
        {
          ifname: 'eth4',
          network: 'mv',
          addressing: {
            kind: 'dhcp',
            dhcp: { client: 'udhcpc', foreground: true, options: ['-x', 'y'], hostname: 'web', dns: true },
          },
          mac: undefined,
          mtu: undefined,
          gateway: undefined,
          routes: [],
        },
        {
          ifname: 'eth5',
          network: 'iv',
          addressing: { kind: 'dhcp', dhcp: dhcpDefaults },
          mac: undefined,
          mtu: undefined,
          gateway: undefined,
          routes: [],
        },
        {
          ifname: 'eth6',
          network: 'tagged',
          addressing: { kind: 'none' },
          mac: undefined,
          mtu: 1300,
          gateway: undefined,
          routes: [],
        },
      ],
    },
    {
      name: 'db',
      target: { kind: 'pid', pid: 42 },
      create: false,
      forwarding: false,
      interfaces: [
        {
          ifname: 'eth1',
          network: 'iv3',
          addressing: { kind: 'none' },
          mac: undefined,
          mtu: undefined,
          gateway: undefined,
          routes: [],
        },
      ],
    },
  ]);
  assert.deepEqual(r.links, [
    {
      a: {
        container: 'web',
        ifname: 'p0',
        addr: h('10.0.0.1/30'),
        gateway: undefined,
        routes: [{ dst: c('10.1.0.0/16'), via: ip('10.0.0.2'), metric: undefined }],
      },
      b: { container: 'db', ifname: 'p0', addr: h('10.0.0.2/30'), gateway: ip('10.0.0.1'), routes: [] },
      mtu: 9000,
    },
    {
      a: { container: 'web', ifname: 'p1', addr: undefined, gateway: undefined, routes: [] },
      b: { container: 'db', ifname: 'p1', addr: undefined, gateway: undefined, routes: [] },
      mtu: undefined,
    },
  ]);
});

test('the name defaults to the file name, made safe', () => {
  assert.equal(recipeFromText(head, 'my lab!.yaml').name, 'my-lab-');
  assert.equal(recipeFromText(head, '/x/lab.json').name, 'lab');
  assert.equal(recipeFromText(head, '.yaml').name, '.yaml');
  assert.equal(recipeFromText(head, 'lab.yaml').description, undefined);
});

test('network rules: kind against bridge/parent, subnet, gateway, VLANs, MTU, pool, mode, inside', () => {
  assert.deepEqual(
    issues(`version: 1
networks:
  both: { bridge: br0, parent: eth0 }
  neither: { subnet: 192.0.2.0/24 }
  brparent: { parent: eth0, kind: bridge }
  mvbridge: { bridge: br0, kind: macvlan }
  hostbits: { bridge: br1, subnet: 192.0.2.1/24, gateway: 198.51.100.1 }
  badsub: { bridge: br2, subnet: 192.0.2.0/33, gateway: nope, pool: 192.0.2.10-192.0.2.20 }
  nosub: { bridge: br3, pool: 192.0.2.10-192.0.2.20, vlan: 0, trunk: [10, 4095], mtu: 10 }
  brmode: { bridge: "br/4", mode: vepa }
  mvtrunk: { parent: eth0, trunk: [10], inside: true }
  ivmode: { parent: eth0, kind: ipvlan, mode: l4 }
  vl: { parent: eth0, kind: vlan }
  badparent: { parent: "eth 0", kind: vlan, vlan: 5 }
`),
    [
      'networks.both: a network needs exactly one of "bridge" or "parent" | bridge: NAME for a Linux bridge; parent: IFACE for macvlan, ipvlan or vlan',
      'networks.neither: a network needs exactly one of "bridge" or "parent" | bridge: NAME for a Linux bridge; parent: IFACE for macvlan, ipvlan or vlan',
      'networks.brparent.kind: a bridge network needs "bridge", not "parent" | use kind: macvlan, ipvlan or vlan with parent',
      'networks.mvbridge.kind: a macvlan network needs "parent", not "bridge" | name the host interface with parent: IFACE',
      'networks.hostbits.subnet: 192.0.2.1/24 has host bits set | write the network address, e.g. 192.0.2.0/24',
      'networks.hostbits.gateway: 198.51.100.1 is outside the subnet 192.0.2.0/24 | give a gateway inside the subnet',
      'networks.badsub.subnet: prefix length must be 0-32 | e.g. 192.0.2.0/24',
      'networks.badsub.gateway: not an IP address | write a plain address without prefix, e.g. 192.0.2.1',
      "networks.badsub.pool: a pool needs the network's subnet | add subnet: e.g. 192.0.2.0/24",
      'networks.nosub.vlan: VLAN id must be 1-4094 | give a whole number from 1 to 4094, e.g. 10',
      'networks.nosub.trunk[1]: VLAN id must be 1-4094 | give a whole number from 1 to 4094, e.g. 10',
      'networks.nosub.mtu: MTU out of range 68-65535 | give a number from 68 to 65535 (IPv6 needs at least 1280)',
      "networks.nosub.pool: a pool needs the network's subnet | add subnet: e.g. 192.0.2.0/24",
      'networks.brmode.bridge: interface name contains "/", which the kernel refuses | use letters, digits, "-", "_" or "." (e.g. eth1, lan0, br-lab)',
      'networks.brmode.mode: mode applies to macvlan and ipvlan networks | remove it',
      'networks.mvtrunk.trunk: trunk applies to bridge networks | remove it',
      'networks.mvtrunk.inside: inside applies to vlan networks | remove it',
      'networks.ivmode.mode: unknown ipvlan mode | use one of: l2, l3, l3s',
      'networks.vl.vlan: a vlan network needs its VLAN id | add vlan: N (1-4094)',
      'networks.badparent.parent: interface name contains whitespace, which the kernel refuses | use letters, digits, "-", "_" or "." (e.g. eth1, lan0, br-lab)',
    ],
  );
});

test('interface rules: DHCP alone, auto alone and with a pool, addresses in the subnet, gateways, MAC, MTU', () => {
  assert.deepEqual(
    issues(`version: 1
networks:
  lan: { bridge: br0, subnet: 192.0.2.0/24, gateway: 192.0.2.1 }
  bare: { bridge: br1 }
containers:
  a:
    target: netns:a
    interfaces:
      eth1: { network: lan, address: [dhcp, 192.0.2.5/24], gateway: 192.0.2.1 }
      eth2: { network: lan, address: [auto, 192.0.2.6/24] }
      eth3: { network: lan, address: [192.0.2.7, 198.51.100.7/24, 192.0.2.0, "2001:db8::7/64"] }
      eth4: { network: bare, address: 192.0.2.8, gateway: true }
      eth5: { network: lan, address: 192.0.2.9, gateway: "gw", mac: "zz", mtu: 1 }
      eth6: { network: lan, dhcp: {}, gateway: true }
      "bad name": { network: lan }
      eth7: { network: nowhere }
`),
    [
      'containers.a.interfaces.eth1.address: DHCP gives the address; no other address can be listed | use address: dhcp alone',
      'containers.a.interfaces.eth1.gateway: DHCP gives the gateway | remove gateway',
      'containers.a.interfaces.eth2.address: "auto" stands alone | use address: auto',
      'containers.a.interfaces.eth2.address: "auto" needs a pool on network "lan" | add pool: (e.g. 192.0.2.100-192.0.2.199) to the network',
      "containers.a.interfaces.eth3.address[1]: 198.51.100.7/24 is outside the network's subnet 192.0.2.0/24 | use an address in 192.0.2.0/24",
      'containers.a.interfaces.eth3.address[2]: this is the network address of 192.0.2.0/24, not a host address | pick a host in the subnet, e.g. 192.0.2.10/24',
      // no subnet on the network: an address needs its own prefix
      'containers.a.interfaces.eth4.address: prefix length missing | add a prefix, e.g. 192.0.2.8/24',
      'containers.a.interfaces.eth4.gateway: network "bare" has no gateway | add gateway: to the network, or give an address here',
      'containers.a.interfaces.eth5.gateway: not an IP address | write a plain address without prefix, e.g. 192.0.2.1',
      'containers.a.interfaces.eth5.mac: not a MAC address | write six hex octets separated by ":", e.g. 02:00:00:00:00:10',
      'containers.a.interfaces.eth5.mtu: MTU out of range 68-65535 | give a number from 68 to 65535 (IPv6 needs at least 1280)',
      'containers.a.interfaces.eth6.gateway: DHCP gives the gateway | remove gateway',
      'containers.a.interfaces["bad name"]: interface name contains whitespace, which the kernel refuses | use letters, digits, "-", "_" or "." (e.g. eth1, lan0, br-lab)',
      'containers.a.interfaces.eth7.network: no network "nowhere" | declare it under networks, or use one of: lan, bare',
    ],
  );
  // with no networks at all, the hint says so
  assert.deepEqual(
    issues(`version: 1
containers:
  a: { target: netns:a, interfaces: { eth1: { network: lan } } }
`),
    [
      'containers.a.interfaces.eth1.network: no network "lan" | declare it under networks, or use one of: (none)',
    ],
  );
});

test('routes: each destination and via parsed where it stands, one route per destination and metric', () => {
  assert.deepEqual(
    issues(`version: 1
networks:
  lan: { bridge: br0, subnet: 192.0.2.0/24 }
containers:
  a:
    target: netns:a
    interfaces:
      eth1:
        network: lan
        address: 192.0.2.10
        routes:
          - { to: 198.51.100.0/24, via: 192.0.2.1 }
          - { to: 198.51.100.0/24, via: 192.0.2.2, metric: 10 }
          - { to: 198.51.100.0/24, via: 192.0.2.3, metric: 10 }
          - { to: default, via: 192.0.2.1 }
          - { to: default, via: 192.0.2.2 }
          - { to: nowhere, via: 192.0.2.1 }
          - { to: 203.0.113.0/24, via: 192.0.2.1/24 }
`),
    [
      'containers.a.interfaces.eth1.routes[2].to: a second route to 198.51.100.0/24 with metric 10 (the first is routes[1]) | give each destination once, or give them different metrics',
      'containers.a.interfaces.eth1.routes[4].to: a second route to default (the first is routes[3]) | give each destination once, or give them different metrics',
      'containers.a.interfaces.eth1.routes[5].to: "nowhere" is not an IPv4 or IPv6 address | write it as address/prefix, e.g. 192.0.2.10/24',
      'containers.a.interfaces.eth1.routes[6].via: not an IP address | write a plain address without prefix, e.g. 192.0.2.1',
    ],
  );
});

test('bridge rules: name, addresses, MTU, NAT subnet and interface, published ports', () => {
  assert.deepEqual(
    issues(`version: 1
bridges:
  "bad/br": { addresses: [192.0.2.1/24, 192.0.2.0/24], mtu: 20 }
  br1: { addresses: 192.0.2.255/24 }
  br2:
    nat: { subnet: "2001:db8::/64", outInterface: "a b" }
  br3:
    nat: { subnet: 192.0.2.0/24 }
    publish:
      - { port: 0, to: "192.0.2.10:0" }
      - { port: 65536, to: "192.0.2.10:65536" }
      - { port: 80, to: "[2001:db8::1]:80" }
      - { port: 80, to: "2001:db8::1:80" }
      - { port: 81, to: "192.0.2.10" }
`),
    [
      'bridges["bad/br"]: interface name contains "/", which the kernel refuses | use letters, digits, "-", "_" or "." (e.g. eth1, lan0, br-lab)',
      'bridges["bad/br"].addresses[1]: this is the network address of 192.0.2.0/24, not a host address | pick a host in the subnet, e.g. 192.0.2.10/24',
      'bridges["bad/br"].mtu: MTU out of range 68-65535 | give a number from 68 to 65535 (IPv6 needs at least 1280)',
      'bridges.br1.addresses: this is the broadcast address of 192.0.2.0/24 | pick a host in the subnet, e.g. 192.0.2.10/24',
      'bridges.br2.nat.subnet: IPv6 address where IPv4 was asked | give an IPv4 address, e.g. 192.0.2.10/24',
      'bridges.br2.nat.outInterface: interface name contains whitespace, which the kernel refuses | use letters, digits, "-", "_" or "." (e.g. eth1, lan0, br-lab)',
      'bridges.br3.publish[0].port: port 0 out of range 1-65535 | give a TCP/UDP port',
      'bridges.br3.publish[0].to: port 0 out of range 1-65535 | give a TCP/UDP port',
      'bridges.br3.publish[1].port: port 65536 out of range 1-65535 | give a TCP/UDP port',
      'bridges.br3.publish[1].to: port 65536 out of range 1-65535 | give a TCP/UDP port',
      'bridges.br3.publish[2].to: not an IP address | write a plain address without prefix, e.g. 2001:db8::1',
      'bridges.br3.publish[3].to: IPv6 address where IPv4 was asked | give an IPv4 address',
      'bridges.br3.publish[4].to: "192.0.2.10" is not ADDRESS:PORT | e.g. to: 192.0.2.10:80',
    ],
  );
  // ports at the edges of the range are fine; an unpublishable bridge without nat is still a bridge
  const r = recipeFromText(
    `version: 1
bridges:
  br0:
    nat: { subnet: 192.0.2.0/24 }
    publish: [{ port: 1, to: "192.0.2.10:65535" }, { port: 65535, to: "192.0.2.10:1" }]
`,
    'lab.yaml',
  );
  assert.deepEqual(
    r.bridges[0]?.publish.map((p) => [p.port, p.to.port]),
    [
      [1, 65535],
      [65535, 1],
    ],
  );
});

test('container and link rules: targets, create, link ends, addresses, MTU, gateways and routes', () => {
  assert.deepEqual(
    issues(`version: 1
containers:
  a: { target: netns:a, interfaces: { eth1: { network: lan } } }
  b: { target: netns:a, create: true }
  c: { target: pid:1, create: true }
  d: { target: "bad target" }
networks:
  lan: { bridge: br0 }
links:
  - { a: a, b: ":eth2" }
  - { a: x:eth2, b: "a:bad/if" }
  - { a: a:eth1, b: b:eth2 }
  - { a: a:p1, b: a:p2, addresses: [10.0.0.0/30, 10.0.0.2/30, 10.0.0.3/30], mtu: 1 }
  - { a: b:p1, b: c:p1, gateway: { a: x }, routes: { b: [{ to: x }] } }
  - { a: b:p1, b: c:p2 }
`),
    [
      'containers.b.target: the same target as container "a" | give each container its own target',
      'containers.c.create: only netns:NAME targets can be made | remove create, or use target: netns:NAME',
      'containers.d.target: a target cannot contain whitespace | give a container name or ID, pid:N or netns:NAME',
      'links[0].a: "a" is not CONTAINER:IFNAME | e.g. r1:eth2',
      'links[0].b: ":eth2" is not CONTAINER:IFNAME | e.g. r1:eth2',
      'links[1].a: no container "x" | declare it under containers',
      'links[1].b: interface name contains "/", which the kernel refuses | use letters, digits, "-", "_" or "." (e.g. eth1, lan0, br-lab)',
      'links[2].a: a already has an interface "eth1" | give the link end another name',
      'links[3].addresses[0]: this is the network address of 10.0.0.0/30, not a host address | pick a host in the subnet, e.g. 10.0.0.10/30',
      'links[3].addresses[2]: this is the broadcast address of 10.0.0.0/30 | pick a host in the subnet, e.g. 10.0.0.10/30',
      'links[3].addresses: at most two addresses: [a, b] | list the address of a, then of b',
      'links[3].mtu: MTU out of range 68-65535 | give a number from 68 to 65535 (IPv6 needs at least 1280)',
      'links[3]: both ends are in the same container | link two different containers',
      'links[4].gateway.a: not an IP address | write a plain address without prefix, e.g. 192.0.2.1',
      'links[4].routes.b[0].to: "x" is not an IPv4 or IPv6 address | write it as address/prefix, e.g. 192.0.2.10/24',
      'links[5]: b:p1 is used by link 4 too | give each link end its own interface',
    ],
  );
});

test('a link end used twice is located at its own link, counted as in the file even after a refused link', () => {
  try {
    recipeFromText(
      `${base}  db: { target: netns:db }\nlinks:\n  - { a: web, b: db:x }\n  - { a: web:p1, b: db:p1 }\n  - { a: web:p1, b: db:p2 }\n`,
      'lab.yaml',
    );
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isPipefitterError(e));
    assert.deepEqual(
      (e.issues ?? []).map((i) => [i.line, i.col, i.path, i.message]),
      [
        [11, 10, 'links[0].a', '"web" is not CONTAINER:IFNAME'],
        [13, 5, 'links[2]', 'web:p1 is used by link 1 too'],
      ],
    );
  }
});

test('issue 13: one address twice on a link layer (bridge and container too), a gateway that is the address itself', () => {
  assert.deepEqual(
    issues(`version: 1
bridges:
  br0: { addresses: 192.0.2.1/24 }
networks:
  lan: { bridge: br0, subnet: 192.0.2.0/24, gateway: 192.0.2.1 }
containers:
  a: { target: netns:a, interfaces: { eth1: { network: lan, address: 192.0.2.10, gateway: 192.0.2.10 } } }
  b: { target: netns:b, interfaces: { eth1: { network: lan, address: 192.0.2.10 } } }
  c: { target: netns:c, interfaces: { eth1: { network: lan, address: 192.0.2.1, gateway: true } } }
links:
  - { a: a:eth2, b: b:eth2, addresses: [198.51.100.1/30, 198.51.100.2/30], gateway: { a: 198.51.100.1 } }
`),
    [
      "containers.a.interfaces.eth1.gateway: 192.0.2.10 is this interface's own address | give the address of the router on this network, or drop gateway",
      'containers.b.interfaces.eth1.address: 192.0.2.10 is also given to a.eth1 | give each interface its own address',
      'containers.c.interfaces.eth1.address: 192.0.2.1 is also given to bridge br0 (bridges.br0.addresses) | give each interface its own address',
      "containers.c.interfaces.eth1.gateway: 192.0.2.1 is this interface's own address | give the address of the router on this network, or drop gateway",
      'links[0].gateway.a: a second IPv4 gateway in container "a" (the first is containers.a.interfaces.eth1.gateway) | give a container at most one gateway per IP family: its default route goes through one of them',
      'links[0].gateway.a: 198.51.100.1 is the address of this end itself | give the address of the other end (or of a router behind it), or drop gateway',
    ],
  );
});

test('issue 13: one route per destination and metric in a container, across its interfaces and link ends, a gateway being one to default (a second would replace the first on every apply, and back)', () => {
  assert.deepEqual(
    issues(`version: 1
networks:
  a: { bridge: br0, subnet: 192.0.2.0/26, gateway: 192.0.2.1 }
  b: { bridge: br1, subnet: 192.0.2.64/26, gateway: 192.0.2.65 }
  c: { bridge: br2, subnet: "2001:db8:a0::/64", gateway: "2001:db8:a0::1" }
containers:
  x:
    target: netns:x
    interfaces:
      eth1:
        network: a
        address: 192.0.2.10
        gateway: true
        routes: [{ to: default, via: 192.0.2.1 }, { to: 203.0.113.0/28, via: 192.0.2.2 }]
      eth2:
        network: b
        address: 192.0.2.70
        gateway: true
        routes: [{ to: 203.0.113.0/28, via: 192.0.2.66 }, { to: 203.0.113.0/28, via: 192.0.2.66, metric: 10 }]
      eth3:
        network: c
        address: "2001:db8:a0::a"
        gateway: true
        routes: [{ to: "2001:db8:c0::/64", via: "2001:db8:a0::2" }]
  y:
    target: netns:y
    interfaces:
      eth1: { network: a, address: 192.0.2.11, gateway: true, routes: [{ to: 203.0.113.0/28, via: 192.0.2.2 }] }
links:
  - { a: x:p0, b: y:p0, addresses: [198.51.100.1/30, 198.51.100.2/30], gateway: { a: 198.51.100.2 } }
  - a: x:p1
    b: y:p1
    addresses: ["2001:db8:b0::1/64", "2001:db8:b0::2/64"]
    gateway: { b: "2001:db8:b0::1" }
    routes: { a: [{ to: "2001:db8:c0::/64" }] }
`),
    [
      'containers.x.interfaces.eth2.gateway: a second IPv4 gateway in container "x" (the first is containers.x.interfaces.eth1.gateway) | give a container at most one gateway per IP family: its default route goes through one of them',
      'containers.x.interfaces.eth2.routes[0].to: a second route to 203.0.113.0/28 in container "x" (the first is containers.x.interfaces.eth1.routes[1].to) | give each destination once in a container, or give them different metrics',
      'links[0].gateway.a: a second IPv4 gateway in container "x" (the first is containers.x.interfaces.eth1.gateway) | give a container at most one gateway per IP family: its default route goes through one of them',
      'links[1].routes.a[0].to: a second route to 2001:db8:c0::/64 in container "x" (the first is containers.x.interfaces.eth3.routes[0].to) | give each destination once in a container, or give them different metrics',
    ],
  );
});
