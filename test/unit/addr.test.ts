import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  broadcastOf,
  canonicalAddress,
  familyOf,
  inSubnet,
  interfaceBroadcast,
  networkOf,
  nthHost,
  parseCidr,
  parseDestination,
  parseHostCidr,
  parseIp,
  sameAddress,
} from '../../src/addr.js';
import { thrown } from '../helpers/errors.js';

const err = thrown;

test('cidr: IPv4 and IPv6 with canonical forms', () => {
  const a = parseCidr('192.0.2.10/24', '--ip');
  assert.deepEqual(
    [a.family, a.address, a.prefix, a.text, a.network],
    [4, '192.0.2.10', 24, '192.0.2.10/24', '192.0.2.0/24'],
  );
  const b = parseCidr('2001:DB8:0::10/64', '--ip');
  assert.deepEqual(
    [b.family, b.address, b.text, b.network],
    [6, '2001:db8::10', '2001:db8::10/64', '2001:db8::/64'],
  );
});

test('cidr: a missing prefix says how to add one', () => {
  const e = err(() => parseCidr('192.0.2.10', '--ip'));
  assert.equal(e.code, 'E_BAD_CIDR');
  assert.equal(e.message, '--ip "192.0.2.10": prefix length missing');
  assert.equal(e.hint, 'add a prefix, e.g. 192.0.2.10/24');
  assert.equal(err(() => parseCidr('2001:db8::1', '--ip')).hint, 'add a prefix, e.g. 2001:db8::1/64');
});

test('cidr: bad input at the boundaries', () => {
  for (const bad of [
    '192.0.2.300/24',
    '192.0.2.1/33',
    '192.0.2.1/-1',
    '2001:db8::1/129',
    'x/24',
    '192.0.2.1/',
    '/24',
    '192.0.2.1/2a',
  ])
    assert.equal(err(() => parseCidr(bad, '--ip')).code, 'E_BAD_CIDR', bad);
  assert.equal(parseCidr('192.0.2.1/32', 'f').prefix, 32);
  assert.equal(parseCidr('0.0.0.0/0', 'f').prefix, 0);
  assert.equal(parseCidr('2001:db8::1/128', 'f').prefix, 128);
});

test('cidr: IPv6 where IPv4 was asked is E_FAMILY', () => {
  const e = err(() => parseCidr('2001:db8::10/64', '--ip', { family: 4 }));
  assert.equal(e.code, 'E_FAMILY');
  assert.match(e.message, /IPv6 address where IPv4 was asked/);
});

test('host cidr: refuses network, broadcast and multicast addresses', () => {
  assert.equal(err(() => parseHostCidr('192.0.2.0/24', '--ip')).code, 'E_BAD_CIDR');
  assert.equal(err(() => parseHostCidr('192.0.2.255/24', '--ip')).code, 'E_BAD_CIDR');
  assert.equal(err(() => parseHostCidr('224.0.0.1/4', '--ip')).code, 'E_BAD_CIDR');
  assert.equal(parseHostCidr('192.0.2.0/31', 'f').address, '192.0.2.0');
  assert.equal(parseHostCidr('192.0.2.7/32', 'f').address, '192.0.2.7');
});

test('gateway and destinations', () => {
  assert.equal(parseIp('192.0.2.1', '--gateway').family, 4);
  assert.equal(err(() => parseIp('192.0.2.1/24', '--gateway')).code, 'E_BAD_ADDRESS');
  assert.equal(err(() => parseIp('2001:db8::1', '--gateway', { family: 4 })).code, 'E_FAMILY');
  const d = parseDestination('198.51.100.7/24', '--route');
  assert.ok(d !== 'default');
  assert.equal(d.text, '198.51.100.0/24');
  assert.equal(parseDestination('default', '--route'), 'default');
  assert.ok(inSubnet(parseCidr('192.0.2.10/24', 'f'), parseIp('192.0.2.1', 'f')));
  assert.ok(!inSubnet(parseCidr('192.0.2.10/30', 'f'), parseIp('192.0.2.100', 'f')));
  assert.ok(!inSubnet(parseCidr('192.0.2.10/24', 'f'), parseIp('2001:db8::1', 'f')));
});

const refusal = (fn: () => unknown) => {
  const e = err(fn);
  return [e.code, e.message, e.hint];
};

test('cidr refusals: message and hint of each', () => {
  const cases: [string, string, string, string][] = [
    [' 192.0.2.10 ', 'E_BAD_CIDR', 'prefix length missing', 'add a prefix, e.g. 192.0.2.10/24'],
    [
      'web',
      'E_BAD_CIDR',
      'not an IP address with a prefix',
      'write it as address/prefix, e.g. 192.0.2.10/24',
    ],
    [
      'fe80::x',
      'E_BAD_CIDR',
      'not an IP address with a prefix',
      'write it as address/prefix, e.g. 2001:db8::10/64',
    ],
    // a zone is not part of an interface address
    [
      'fe80::1%eth0',
      'E_BAD_CIDR',
      'not an IP address with a prefix',
      'write it as address/prefix, e.g. 2001:db8::10/64',
    ],
    [
      '192.0.2.300/24',
      'E_BAD_CIDR',
      '"192.0.2.300" is not an IPv4 or IPv6 address',
      'write it as address/prefix, e.g. 192.0.2.10/24',
    ],
    [
      '::g/64',
      'E_BAD_CIDR',
      '"::g" is not an IPv4 or IPv6 address',
      'write it as address/prefix, e.g. 2001:db8::10/64',
    ],
    ['192.0.2.1/33', 'E_BAD_CIDR', 'prefix length must be 0-32', 'e.g. 192.0.2.1/24'],
    ['192.0.2.1/0024', 'E_BAD_CIDR', 'prefix length must be 0-32', 'e.g. 192.0.2.1/24'],
    ['2001:db8::1/129', 'E_BAD_CIDR', 'prefix length must be 0-128', 'e.g. 2001:db8::1/64'],
  ];
  for (const [value, code, problem, hint] of cases)
    assert.deepEqual(
      refusal(() => parseCidr(value, '--ip')),
      [code, `--ip ${JSON.stringify(value)}: ${problem}`, hint],
      value,
    );
  // blanks around are not part of the address
  assert.equal(parseCidr(' 192.0.2.10/24 ', 'f').text, '192.0.2.10/24');
  // a slash at the very start is a missing address, not a missing prefix
  assert.equal(err(() => parseCidr('/24', 'f')).message, 'f "/24": "" is not an IPv4 or IPv6 address');
});

test('family refusals say which family was asked, with an example of it', () => {
  assert.deepEqual(
    refusal(() => parseCidr('2001:db8::10/64', '--ip', { family: 4 })),
    [
      'E_FAMILY',
      '--ip "2001:db8::10/64": IPv6 address where IPv4 was asked',
      'give an IPv4 address, e.g. 192.0.2.10/24',
    ],
  );
  assert.deepEqual(
    refusal(() => parseCidr('192.0.2.10/24', '--ip', { family: 6 })),
    [
      'E_FAMILY',
      '--ip "192.0.2.10/24": IPv4 address where IPv6 was asked',
      'give an IPv6 address, e.g. 2001:db8::10/64',
    ],
  );
  assert.equal(parseCidr('192.0.2.10/24', 'f', { family: 4 }).family, 4);
  assert.deepEqual(
    refusal(() => parseIp('192.0.2.1', '--gateway', { family: 6 })),
    ['E_FAMILY', '--gateway "192.0.2.1": IPv4 address where IPv6 was asked', 'give an IPv6 address'],
  );
  assert.equal(parseIp('2001:db8::1', 'f', { family: 6 }).address, '2001:db8::1');
});

test('host cidr refusals: multicast, network, broadcast, unspecified', () => {
  const cases: [string, string, string][] = [
    [
      '224.0.0.1/4',
      'multicast address cannot be an interface address',
      'use a unicast address, e.g. 192.0.2.10/24',
    ],
    [
      'ff02::1/64',
      'multicast address cannot be an interface address',
      'use a unicast address, e.g. 2001:db8::10/64',
    ],
    [
      '192.0.2.0/24',
      'this is the network address of 192.0.2.0/24, not a host address',
      'pick a host in the subnet, e.g. 192.0.2.10/24',
    ],
    [
      '10.1.0.0/16',
      'this is the network address of 10.1.0.0/16, not a host address',
      'pick a host in the subnet, e.g. 10.1.0.10/16',
    ],
    [
      '192.0.2.255/24',
      'this is the broadcast address of 192.0.2.0/24',
      'pick a host in the subnet, e.g. 192.0.2.10/24',
    ],
    [
      '192.0.2.3/30',
      'this is the broadcast address of 192.0.2.0/30',
      'pick a host in the subnet, e.g. 192.0.2.10/30',
    ],
    ['::/64', 'the unspecified address cannot be an interface address', 'e.g. 2001:db8::10/64'],
  ];
  for (const [value, problem, hint] of cases)
    assert.deepEqual(
      refusal(() => parseHostCidr(value, '--ip')),
      ['E_BAD_CIDR', `--ip ${JSON.stringify(value)}: ${problem}`, hint],
      value,
    );
  // IPv6 has no broadcast, and its subnet-router anycast (the network address) is a valid interface address
  assert.equal(parseHostCidr('2001:db8::/64', 'f').address, '2001:db8::');
  assert.equal(parseHostCidr('2001:db8::ffff:ffff:ffff:ffff/64', 'f').prefix, 64);
  assert.equal(parseHostCidr('192.0.2.1/31', 'f').address, '192.0.2.1');
  assert.equal(parseHostCidr('192.0.2.1/30', 'f').address, '192.0.2.1');
});

test('plain addresses: canonical, trimmed, refused with a prefix or a zone', () => {
  assert.deepEqual(parseIp(' 2001:DB8:0::1 ', 'f'), { family: 6, address: '2001:db8::1' });
  const cases: [string, string][] = [
    ['192.0.2.1/24', 'write a plain address without prefix, e.g. 192.0.2.1'],
    ['2001:db8::1/64', 'write a plain address without prefix, e.g. 2001:db8::1'],
    ['fe80::1%eth0', 'write a plain address without prefix, e.g. 2001:db8::1'],
    ['gw', 'write a plain address without prefix, e.g. 192.0.2.1'],
  ];
  for (const [value, hint] of cases)
    assert.deepEqual(
      refusal(() => parseIp(value, '--gateway')),
      ['E_BAD_ADDRESS', `--gateway ${JSON.stringify(value)}: not an IP address`, hint],
      value,
    );
});

test('route destinations: a bare address is a host route, host bits are cleared', () => {
  const host4 = parseDestination('198.51.100.7', '--route');
  assert.ok(host4 !== 'default');
  assert.deepEqual([host4.text, host4.address, host4.prefix], ['198.51.100.7/32', '198.51.100.7', 32]);
  const host6 = parseDestination('2001:db8::7', '--route');
  assert.ok(host6 !== 'default');
  assert.deepEqual([host6.text, host6.address, host6.prefix], ['2001:db8::7/128', '2001:db8::7', 128]);
  const net6 = parseDestination('2001:db8:1::7/48', '--route');
  assert.ok(net6 !== 'default');
  assert.deepEqual(
    [net6.text, net6.address, net6.network],
    ['2001:db8:1::/48', '2001:db8:1::', '2001:db8:1::/48'],
  );
});

test('subnets, broadcast, n-th host, families and address comparisons', () => {
  const c4 = parseCidr('192.0.2.10/24', 'f');
  const c6 = parseCidr('2001:db8::10/64', 'f');
  assert.ok(inSubnet(c6, parseIp('2001:db8::ffff', 'f')));
  assert.ok(!inSubnet(c6, parseIp('2001:db8:1::1', 'f')));
  assert.ok(!inSubnet(c6, parseIp('192.0.2.1', 'f')));
  assert.equal(broadcastOf(c4), '192.0.2.255');
  assert.equal(broadcastOf(c6), '2001:db8::ffff:ffff:ffff:ffff');
  assert.equal(interfaceBroadcast(c4), '192.0.2.255');
  assert.equal(interfaceBroadcast(parseCidr('192.0.2.9/30', 'f')), '192.0.2.11');
  assert.equal(interfaceBroadcast(parseCidr('192.0.2.1/31', 'f')), undefined);
  assert.equal(interfaceBroadcast(parseCidr('192.0.2.1/32', 'f')), undefined);
  assert.equal(interfaceBroadcast(c6), undefined);
  assert.equal(interfaceBroadcast(parseCidr('2001:db8::1/24', 'f')), undefined);
  assert.equal(networkOf('192.0.2.10', 24), '192.0.2.0/24');
  assert.equal(networkOf('2001:db8::10', 64), '2001:db8::/64');
  assert.equal(networkOf('not-an-address', 24), 'not-an-address/24');
  assert.equal(nthHost(c4, 1), '192.0.2.1');
  assert.equal(nthHost(c4, 10), '192.0.2.10');
  assert.equal(nthHost(c6, 1), '2001:db8::1');
  assert.equal(nthHost(c6, 255), '2001:db8::ff');
  assert.equal(familyOf('2001:db8::1'), 6);
  assert.equal(familyOf('192.0.2.1'), 4);
  assert.equal(sameAddress('2001:DB8::0:1', '2001:db8::1'), true);
  assert.equal(sameAddress('192.0.2.1', '192.0.2.1'), true);
  assert.equal(sameAddress('192.0.2.1', '192.0.2.2'), false);
  assert.equal(sameAddress('x', 'x'), false);
  assert.equal(sameAddress('192.0.2.1', 'x'), false);
  assert.equal(sameAddress('x', '192.0.2.1'), false);
  // the IPv4-mapped IPv6 address is not the IPv4 address
  assert.equal(sameAddress('::ffff:192.0.2.1', '192.0.2.1'), false);
  assert.equal(canonicalAddress('2001:0DB8::0001'), '2001:db8::1');
  assert.equal(canonicalAddress('not an address'), 'not an address');
});
