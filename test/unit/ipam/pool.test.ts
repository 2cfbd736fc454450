import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../../src/addr.js';
import type { Pool } from '../../../src/ipam/pool.js';
import { addressToCidr, allocate, inPool, parsePool, poolSize } from '../../../src/ipam/pool.js';
import { thrown } from '../../helpers/errors.js';

const F = 'networks.lan.pool';
const net = (text: string) => parseCidr(text, 'subnet');

const err = thrown;

/** Every address the pool hands out, in order, by allocating until it is full. */
const drain = (pool: Pool, limit = 300): string[] => {
  const taken = new Set<string>();
  for (let i = 0; i < limit; i++) {
    const a = allocate(pool, taken);
    if (a === undefined) return [...taken];
    taken.add(a);
  }
  throw new Error('pool did not fill up');
};

test('range: inclusive, inside the subnet, lowest first', () => {
  const p = parsePool('192.0.2.100-192.0.2.103', F, net('192.0.2.0/24'));
  assert.deepEqual([p.family, p.prefix, p.text, poolSize(p)], [4, 24, '192.0.2.100-192.0.2.103', 4n]);
  assert.deepEqual(drain(p), ['192.0.2.100', '192.0.2.101', '192.0.2.102', '192.0.2.103']);
  assert.equal(addressToCidr(p, '192.0.2.100'), '192.0.2.100/24');
});

test('cidr /30: network and broadcast are excluded', () => {
  const p = parsePool('192.0.2.4/30', F);
  assert.equal(p.prefix, 30);
  assert.deepEqual(drain(p), ['192.0.2.5', '192.0.2.6']);
  assert.equal(inPool(p, '192.0.2.4'), false);
  assert.equal(inPool(p, '192.0.2.7/30'), false);
});

test('cidr /31 and /32: every address is a host (RFC 3021)', () => {
  assert.deepEqual(drain(parsePool('192.0.2.8/31', F)), ['192.0.2.8', '192.0.2.9']);
  const one = parsePool('192.0.2.9/32', F);
  assert.deepEqual([drain(one), one.prefix], [['192.0.2.9'], 32]);
});

test('a range over a whole subnet skips its network and broadcast; a /25 pool in a /24 keeps .128', () => {
  const p = parsePool('192.0.2.0-192.0.2.255', F, net('192.0.2.0/24'));
  assert.equal(poolSize(p), 254n);
  assert.equal(allocate(p, new Set()), '192.0.2.1');
  const half = parsePool('192.0.2.128/25', F, net('192.0.2.0/24'));
  assert.deepEqual([half.prefix, poolSize(half), allocate(half, new Set())], [24, 127n, '192.0.2.128']);
  assert.equal(inPool(half, '192.0.2.255'), false);
});

test('reserved addresses (the gateway) are never handed out', () => {
  const p = parsePool('192.0.2.0/29', F, undefined, ['192.0.2.1', '192.0.2.3/29', '2001:db8::1']);
  assert.deepEqual(drain(p), ['192.0.2.2', '192.0.2.4', '192.0.2.5', '192.0.2.6']);
});

test('full pool: undefined; other pools and families in `taken` do not count', () => {
  const p = parsePool('192.0.2.10-192.0.2.11', F, net('192.0.2.0/24'));
  assert.equal(allocate(p, new Set(['192.0.2.10/24', '192.0.2.11'])), undefined);
  assert.equal(allocate(p, new Set(['192.0.2.10/24', '10.0.0.11', '2001:db8::b'])), '192.0.2.11');
});

test('hint: a previous address is reused when free, else the lowest free one', () => {
  const p = parsePool('192.0.2.100-192.0.2.199', F, net('192.0.2.0/24'));
  assert.equal(allocate(p, new Set(), '192.0.2.150/24'), '192.0.2.150');
  assert.equal(allocate(p, new Set(['192.0.2.150']), '192.0.2.150'), '192.0.2.100');
  assert.equal(allocate(p, new Set(), '192.0.2.50'), '192.0.2.100', 'outside the pool');
  assert.equal(allocate(p, new Set(), 'garbage'), '192.0.2.100');
});

test('IPv6: a /64 is never enumerated; the subnet-router anycast address is skipped', () => {
  const p = parsePool('2001:DB8::/64', F);
  assert.deepEqual([p.family, p.prefix, p.text, poolSize(p)], [6, 64, '2001:db8::/64', 2n ** 64n - 1n]);
  const taken = new Set(['2001:db8::1', '2001:db8::2/64']);
  assert.equal(allocate(p, taken), '2001:db8::3');
  // never enumerated: the addresses looked up in the excluded set are the taken ones (is each a
  // pool address?) and, past those, the excluded ones and the answer — as many for a /64 as for
  // a /120 (counted, not timed)
  const looked = (pool: Pool, used: ReadonlySet<string>): number => {
    let n = 0;
    const exclude = new Set(pool.exclude);
    const has = exclude.has.bind(exclude);
    exclude.has = (v: bigint) => {
      n++;
      return has(v);
    };
    allocate({ ...pool, exclude }, used);
    return n;
  };
  const busy = new Set(Array.from({ length: 20 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`));
  // 20 taken, then the subnet-router anycast address ::, then the answer ::15
  assert.equal(looked(p, busy), 22, 'a /64');
  assert.equal(looked(parsePool('2001:db8::/120', F), busy), 22, 'a /120: the same');
  assert.equal(looked(parsePool('192.0.2.0/24', F), new Set()), 2, 'the network address, then .1');
  assert.equal(addressToCidr(p, '2001:0db8::3'), '2001:db8::3/64');
  const top = parsePool(
    '2001:db8::ffff:ffff:ffff:fffe-2001:db8::ffff:ffff:ffff:ffff',
    F,
    net('2001:db8::/64'),
  );
  assert.deepEqual(drain(top), ['2001:db8::ffff:ffff:ffff:fffe', '2001:db8::ffff:ffff:ffff:ffff']);
});

test('IPv6 range with a gateway, and the /127 point-to-point case', () => {
  const p = parsePool('2001:db8::-2001:db8::3', F, net('2001:db8::/64'), ['2001:db8::1']);
  assert.deepEqual(drain(p), ['2001:db8::2', '2001:db8::3']);
  assert.deepEqual(drain(parsePool('2001:db8::/127', F)), ['2001:db8::', '2001:db8::1']);
});

test('refusals name the field and value and say the fix', () => {
  const cases: [string, string | undefined, string, string][] = [
    ['192.0.2.200-192.0.2.100', '192.0.2.0/24', 'E_BAD_VALUE', 'the range is reversed'],
    ['192.0.2.1-2001:db8::1', '192.0.2.0/24', 'E_BAD_VALUE', 'the range mixes IPv4 and IPv6'],
    [
      '192.0.2.250-192.0.3.5',
      '192.0.2.0/24',
      'E_BAD_VALUE',
      'the pool reaches outside the subnet 192.0.2.0/24',
    ],
    ['192.0.2.0/23', '192.0.2.0/24', 'E_BAD_VALUE', 'the pool reaches outside the subnet 192.0.2.0/24'],
    ['2001:db8::/64', '192.0.2.0/24', 'E_BAD_VALUE', 'IPv6 pool in the IPv4 subnet 192.0.2.0/24'],
    ['192.0.2.1-192.0.2.x', '192.0.2.0/24', 'E_BAD_VALUE', '"192.0.2.x" is not an IP address without prefix'],
    ['192.0.2.1-192.0.2.2-192.0.2.3', '192.0.2.0/24', 'E_BAD_VALUE', 'a range has exactly one "-"'],
    [
      '192.0.2.1-192.0.2.9',
      undefined,
      'E_BAD_VALUE',
      "a range needs the network's subnet for the prefix length",
    ],
    ['192.0.2.7', '192.0.2.0/24', 'E_BAD_VALUE', 'not an address range or a CIDR'],
    ['192.0.2.130/25', undefined, 'E_BAD_CIDR', 'host bits are set'],
    ['192.0.2.0/33', undefined, 'E_BAD_CIDR', 'prefix length must be 0-32'],
    ['192.0.2.0/32', '192.0.2.0/24', 'E_BAD_VALUE', 'no usable address is left'],
  ];
  for (const [text, subnet, code, problem] of cases) {
    const e = err(() => parsePool(text, F, subnet === undefined ? undefined : net(subnet)));
    assert.equal(e.code, code, text);
    assert.equal(e.field, F, text);
    assert.equal(e.value, text, text);
    assert.ok(e.message.startsWith(`${F} "${text}": ${problem}`), `${text}: ${e.message}`);
    assert.ok(e.hint, `${text}: a hint`);
  }
  assert.equal(err(() => parsePool('192.0.2.130/25', F)).hint, 'write the network: 192.0.2.128/25');
  assert.equal(
    err(() => parsePool('192.0.2.9-192.0.2.1', F, net('192.0.2.0/24'))).hint,
    'write the lower address first: 192.0.2.1-192.0.2.9',
  );
});

test('deterministic: the same inputs give the same address', () => {
  const p = parsePool('10.1.0.0/16', F, undefined, ['10.1.0.1']);
  const taken = new Set(['10.1.0.2', '10.1.0.4']);
  assert.deepEqual(
    [
      allocate(p, taken),
      allocate(p, taken),
      allocate(parsePool('10.1.0.0/16', F, undefined, ['10.1.0.1']), taken),
    ],
    ['10.1.0.3', '10.1.0.3', '10.1.0.3'],
  );
});

test('edges: blanks around, a one-address range, a range that only touches the subnet ends, reserved in other families or with a prefix', () => {
  const lan = parseCidr('192.0.2.0/24', 'subnet');
  // blanks around the whole text and around each end are not part of the addresses
  assert.equal(parsePool(' 192.0.2.100 - 192.0.2.101 ', 'f', lan).text, '192.0.2.100-192.0.2.101');
  // one address
  const one = parsePool('192.0.2.7-192.0.2.7', 'f', lan);
  assert.deepEqual([poolSize(one), allocate(one, new Set())], [1n, '192.0.2.7']);
  // from the network to the broadcast address: both skipped, the rest handed out
  const whole = parsePool('192.0.2.0-192.0.2.255', 'f', lan, ['192.0.2.1/24', '2001:db8::1', 'nonsense']);
  assert.deepEqual(
    [poolSize(whole), inPool(whole, '192.0.2.0'), inPool(whole, '192.0.2.1'), inPool(whole, '192.0.2.2/24')],
    [253n, false, false, true],
  );
  assert.equal(inPool(whole, '192.0.2.255'), false);
  assert.equal(inPool(whole, '2001:db8::2'), false);
  assert.equal(inPool(whole, '192.0.2.2%eth0'), false);
  assert.equal(inPool(whole, ''), false);
  // the ends just outside the subnet are refused, the ends on its edges are not
  assert.throws(
    () => parsePool('192.0.1.255-192.0.2.10', 'f', lan),
    /reaches outside the subnet 192\.0\.2\.0\/24/,
  );
  assert.throws(
    () => parsePool('192.0.2.10-192.0.3.0', 'f', lan),
    /reaches outside the subnet 192\.0\.2\.0\/24/,
  );
  // a zone, or a prefix on one end, is not an address of a range
  assert.throws(
    () => parsePool('192.0.2.10/24-192.0.2.20', 'f', lan),
    /"192\.0\.2\.10\/24" is not an IP address without prefix/,
  );
  assert.throws(
    () => parsePool('fe80::1%eth0-fe80::9', 'f', parseCidr('fe80::/64', 's')),
    /"fe80::1%eth0" is not an IP address/,
  );
  assert.throws(() => parsePool('192.0.2.10-', 'f', lan), /"" is not an IP address without prefix/);
  // the hint must be free and in the pool; with a prefix it is read as its address
  assert.equal(allocate(whole, new Set(), '192.0.2.50/24'), '192.0.2.50');
  assert.equal(allocate(whole, new Set(['192.0.2.50']), '192.0.2.50'), '192.0.2.2');
  assert.equal(addressToCidr(parsePool('2001:db8::/120', 'f'), '2001:DB8::0:5'), '2001:db8::5/120');
});
