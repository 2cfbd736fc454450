import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OwnerTag, SavedRoute } from '../../../src/model/owner.js';
import { decodeTag, encodeTag, readTag, tagFits } from '../../../src/model/owner.js';

const route = (r: Partial<SavedRoute> & Pick<SavedRoute, 'family' | 'dst'>): SavedRoute => ({
  gateway: undefined,
  dev: undefined,
  protocol: undefined,
  scope: undefined,
  metric: undefined,
  prefsrc: undefined,
  onlink: false,
  type: 'unicast',
  ...r,
});

/** Every field set, each with a value of its type. */
const every: OwnerTag = {
  kind: 'phys',
  target: 'docker:' + 'a'.repeat(12),
  ifname: 'wan0',
  bridge: 'br-lab',
  parent: 'eth3.10',
  origName: 'enp5s0f1',
  prevAlias: 'uplink #3 to "rack", 50% & more; é',
  origMtu: 9000,
  origMac: '02:00:00:00:00:03',
  origUp: true,
  hostAddrs: [
    { family: 4, address: '198.51.100.3', prefix: 24, broadcast: '198.51.100.255' },
    { family: 6, address: '2001:db8:3::3', prefix: 64, flags: ['nodad', 'noprefixroute'] },
  ],
  hostRoutes: [
    route({ family: 4, dst: '203.0.113.0/24', gateway: '198.51.100.1', dev: 'enp5s0f1', protocol: 'static' }),
    route({ family: 4, dst: '203.0.113.9', dev: 'enp5s0f1', scope: 'link', prefsrc: '198.51.100.3' }),
  ],
  prevDefaults: [
    route({ family: 4, dst: 'default', gateway: '172.17.0.1', dev: 'eth0', metric: 100, protocol: 'dhcp' }),
    route({ family: 6, dst: 'default', gateway: 'fe80::1', dev: 'eth0', metric: 1024, onlink: true }),
  ],
  peer: 'pid:42',
  peerIfname: 'eth2',
  bridgeAddrs: ['192.0.2.1/24', '2001:db8::1/64'],
  addrs: ['192.0.2.10/24', '2001:db8::10/64'],
  vlan: 10,
  trunk: [10, 20],
  users: ['abc123xy', '0000zz11'],
  dhcp: true,
  recipe: 'lab',
};

test('version 2: every field round-trips with its type, in text free of blanks, "#" and quotes', () => {
  const s = encodeTag(every);
  assert.ok(s.startsWith('pf2:k=phys&'));
  assert.doesNotMatch(s, /[\s#"']/);
  assert.deepEqual(decodeTag(s), every);
  assert.deepEqual(readTag(s), { status: 'ours', tag: every, version: 2 });
  for (const t of [
    { kind: 'bridge' },
    { kind: 'veth', vlan: 'inside' },
    { kind: 'vlan-shared', users: '*' },
    { kind: 'veth', prevAlias: '' },
  ] as const)
    assert.deepEqual(decodeTag(encodeTag(t)), t);
});

test('version 2 is compact: routes are fields, not `ip` words, and ":" stays as it is', () => {
  assert.equal(
    encodeTag({ kind: 'veth', target: 'netns:r1', ifname: 'eth1', bridge: 'br-lab' }),
    'pf2:k=veth&t=netns:r1&i=eth1&b=br-lab',
  );
  assert.equal(
    encodeTag({
      kind: 'macvlan',
      prevDefaults: [route({ family: 4, dst: 'default', gateway: '172.17.0.1', dev: 'eth0', metric: 100 })],
    }),
    'pf2:k=macvlan&pd=4,default,172.17.0.1,eth0,100',
  );
  assert.equal(
    encodeTag({
      kind: 'phys',
      hostAddrs: [{ family: 6, address: '2001:db8::5', prefix: 64, flags: ['nodad'] }],
    }),
    'pf2:k=phys&ha=2001:db8::5/64,,nodad',
  );
  // unset fields are left out, not written empty
  assert.equal(encodeTag({ kind: 'bridge' }), 'pf2:k=bridge');
});

/** Written by earlier versions (pf1: and URL-encoded), with what they read as today. */
const V1: readonly [string, OwnerTag][] = [
  ['pf1:k=bridge', { kind: 'bridge' }],
  [
    'pf1:k=veth-host&t=netns%3Ar1&i=eth1&b=br-lab&ba=192.0.2.1%2F24%2C2001%3Adb8%3A%3A1%2F64&r=lab',
    {
      kind: 'veth-host',
      target: 'netns:r1',
      ifname: 'eth1',
      bridge: 'br-lab',
      bridgeAddrs: ['192.0.2.1/24', '2001:db8::1/64'],
      recipe: 'lab',
    },
  ],
  [
    'pf1:k=veth&t=netns%3Ar1&i=eth1&b=br0&v=10&tr=10.20&dh=1',
    {
      kind: 'veth',
      target: 'netns:r1',
      ifname: 'eth1',
      bridge: 'br0',
      vlan: 10,
      trunk: [10, 20],
      dhcp: true,
    },
  ],
  [
    'pf1:k=vlan&t=netns%3Ar1&i=eth1.5&l=eth1&v=inside',
    { kind: 'vlan', target: 'netns:r1', ifname: 'eth1.5', parent: 'eth1', vlan: 'inside' },
  ],
  ['pf1:k=vlan-shared&u=abc123xy.0000zz11', { kind: 'vlan-shared', users: ['abc123xy', '0000zz11'] }],
  ['pf1:k=vlan-shared&u=*', { kind: 'vlan-shared', users: '*' }],
  [
    'pf1:k=pair&t=netns%3Ar1&i=eth1&p=netns%3Ar2&pi=eth2&d4=via+172.17.0.1+dev+eth0%3Bvia+172.17.0.2+dev+eth0+metric+100&d6=via+fe80%3A%3A1+dev+eth0+onlink',
    {
      kind: 'pair',
      target: 'netns:r1',
      ifname: 'eth1',
      peer: 'netns:r2',
      peerIfname: 'eth2',
      // a protocol left out was `boot`, an IPv6 metric left out 1024, as `ip route add` makes them
      prevDefaults: [
        route({ family: 4, dst: 'default', gateway: '172.17.0.1', dev: 'eth0', protocol: 'boot' }),
        route({
          family: 4,
          dst: 'default',
          gateway: '172.17.0.2',
          dev: 'eth0',
          protocol: 'boot',
          metric: 100,
        }),
        route({
          family: 6,
          dst: 'default',
          gateway: 'fe80::1',
          dev: 'eth0',
          protocol: 'boot',
          metric: 1024,
          onlink: true,
        }),
      ],
    },
  ],
  [
    'pf1:k=phys&t=netns%3Ar1&i=eth1&o=eth3&pa=uplink+2&om=1500&oa=02%3A00%3A00%3A00%3A00%3A03&ou=1' +
      '&ha=198.51.100.3%2F24+brd+198.51.100.255%3B2001%3Adb8%3A3%3A%3A3%2F64+nodad' +
      '&hr=203.0.113.0%2F24+via+198.51.100.1+dev+eth3+proto+static%3B%3A%3A%2F0+via+fe80%3A%3A1+dev+eth3+metric+5',
    {
      kind: 'phys',
      target: 'netns:r1',
      ifname: 'eth1',
      origName: 'eth3',
      prevAlias: 'uplink 2',
      origMtu: 1500,
      origMac: '02:00:00:00:00:03',
      origUp: true,
      hostAddrs: [
        { family: 4, address: '198.51.100.3', prefix: 24, broadcast: '198.51.100.255' },
        { family: 6, address: '2001:db8:3::3', prefix: 64, flags: ['nodad'] },
      ],
      hostRoutes: [
        route({ family: 4, dst: '203.0.113.0/24', gateway: '198.51.100.1', dev: 'eth3', protocol: 'static' }),
        route({ family: 6, dst: 'default', gateway: 'fe80::1', dev: 'eth3', protocol: 'boot', metric: 5 }),
      ],
    },
  ],
];

test('version 1 tags still read, to the same values in their types; rewritten, they become version 2', () => {
  for (const [alias, tag] of V1) {
    assert.deepEqual(readTag(alias), { status: 'ours', tag, version: 1 }, alias);
    const v2 = encodeTag(tag);
    assert.ok(v2.startsWith('pf2:'));
    assert.deepEqual(decodeTag(v2), tag, v2);
  }
});

test('not ours: no alias, an admin alias, another prefix', () => {
  for (const alias of [undefined, '', 'some admin alias', 'pf3:k=veth', 'PF2:k=veth'])
    assert.deepEqual(readTag(alias), { status: 'none' }, String(alias));
});

test('malformed tags of ours are corrupt, with what is wrong, and never half-read (no NaN)', () => {
  const corrupt: readonly [string, RegExp][] = [
    ['pf2:', /field k "" is missing|not key=value/],
    ['pf2:i=eth1', /field k "" is missing/],
    ['pf2:k=unknown', /field k "unknown" is no kind/],
    ['pf2:k=veth&k=veth', /given twice/],
    ['pf2:k=veth&zz=1', /field zz "1" is no field of a version 2 tag/],
    ['pf2:k=veth&i', /not key=value/],
    ['pf2:k=phys&om=abc', /field om "abc" is not an MTU/],
    ['pf2:k=phys&om=1e3', /field om "1e3" is not an MTU/],
    ['pf2:k=phys&om=70000', /not an MTU/],
    ['pf2:k=phys&ou=yes', /is a flag/],
    ['pf2:k=phys&oa=02:00:00:00:00', /not a MAC address/],
    ['pf2:k=veth&i=eth1%2Fx', /not an interface name/],
    ['pf2:k=veth&i=this-name-is-too-long', /not an interface name/],
    ['pf2:k=veth&t=a%ZZ', /stray character/],
    ['pf2:k=veth&t=a%C3', /not valid percent-encoded UTF-8/],
    ['pf2:k=veth&t=a b', /stray character/],
    ['pf2:k=veth&t=', /is empty/],
    ['pf2:k=veth&v=4095', /not a VLAN id/],
    ['pf2:k=veth&tr=10,x', /not a VLAN id/],
    ['pf2:k=vlan-shared&u=AB', /not a list of users/],
    ['pf2:k=veth-host&ba=192.0.2.1', /address with a prefix length/],
    ['pf2:k=veth-host&a=192.0.2.10', /field a "192.0.2.10" is not an address with a prefix length/],
    ['pf2:k=veth-host&a=', /field a "" is empty/],
    ['pf2:k=macvlan&pd=', /is empty/],
    ['pf2:k=macvlan&pd=5,default,172.17.0.1', /no family/],
    ['pf2:k=macvlan&pd=4,default,999.1.1.1', /not an IP address/],
    ['pf2:k=macvlan&pd=4,default,172.17.0.1,eth0,abc', /metric that is not a number/],
    ['pf2:k=macvlan&pd=4,default,172.17.0.1,eth0,99999999999', /metric/],
    ['pf2:k=macvlan&pd=4,default,172.17.0.1,eth0,,yes', /onlink/],
    ['pf2:k=macvlan&pd=4,default,,,,,,,,extra', /at most 9/],
    ['pf2:k=macvlan&pd=4,192.0.2.0/24,172.17.0.1', /not a default route/],
    ['pf2:k=phys&hr=4,2001:db8::/64', /not an IPv4 address/],
    ['pf2:k=phys&ha=198.51.100.3/24,,bogus', /unknown address flag/],
    ['pf2:k=phys&ha=2001:db8::3/64,192.0.2.255', /IPv6 address a broadcast/],
    ['pf2:k=phys&ha=198.51.100.3/33', /address with a prefix length/],
    ['pf1:k=unknown', /field k "unknown" is no kind/],
    ['pf1:k=phys&om=abc', /field om "abc" is not an MTU/],
    ['pf1:k=phys&om=NaN', /field om "NaN" is not an MTU/],
    ['pf1:k=phys&om=', /field om "" is not an MTU/],
    ['pf1:k=phys&om=1500.5', /not an MTU/],
    ['pf1:k=vlan&v=abc', /field v "abc" is not a VLAN id/],
    ['pf1:k=vlan&v=0', /not a VLAN id/],
    ['pf1:k=veth&tr=10.x', /field tr "x" is not a VLAN id/],
    ['pf1:k=vlan-shared&u=ab.C!', /not a list of users/],
    ['pf1:k=veth&dh=yes', /is a flag/],
    ['pf1:k=veth-host&ba=192.0.2.1', /address with a prefix length/],
    ['pf1:k=veth&i=a%2Fb', /not an interface name/],
    ['pf1:k=veth&t=', /is empty/],
    ['pf1:k=phys&ou=0', /is a flag/],
    ['pf1:k=macvlan&d4=via+172.17.0.1+dev+eth0+metric+lots', /metric that is not a number/],
    ['pf1:k=macvlan&d4=via+172.17.0.1+weight+3', /"weight" where a route word goes/],
    ['pf1:k=macvlan&d6=via+172.17.0.1+dev+eth0+src+192.0.2.1', /not an IPv6 address/],
    ['pf1:k=phys&ha=198.51.100.3%2F24+brd', /no broadcast address/],
  ];
  for (const [alias, message] of corrupt) {
    const r = readTag(alias);
    assert.equal(r.status, 'corrupt', alias);
    assert.match(r.status === 'corrupt' ? r.message : '', message, alias);
    assert.match(r.status === 'corrupt' ? r.message : '', /^ownership tag: /, alias);
    assert.equal(decodeTag(alias), undefined, alias);
  }
});

test('a tag fits the alias when it is at most 255 bytes once encoded (IFALIASZ 256, with the NUL)', () => {
  // "pf2:k=phys&pa=" is 14 bytes
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'x'.repeat(241) }), true);
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'x'.repeat(242) }), false);
  // "é" is %C3%A9 once encoded: 6 bytes, not 1 character
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'é'.repeat(40) }), true);
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'é'.repeat(41) }), false);
});
