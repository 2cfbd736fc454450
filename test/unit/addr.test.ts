import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inSubnet, parseCidr, parseDestination, parseHostCidr, parseIp } from '../../src/addr.js';
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
