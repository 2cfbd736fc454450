/**
 * The CLI value parsers (values.ts, addr.ts, names.ts, target specs) on arbitrary text: each
 * returns or refuses with a PipefitterError, exit 2 — never another exception. Valid values
 * generated from their grammar are accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCidr, parseDestination, parseHostCidr, parseIp } from '../../../src/addr.js';
import { exitCodeFor } from '../../../src/errors.js';
import { parseTargetSpec } from '../../../src/model/target.js';
import { isIfName, parseIfName } from '../../../src/names.js';
import {
  MACVLAN_MODES,
  parseChoice,
  parseMac,
  parseMtu,
  parseSeconds,
  parseVlanId,
} from '../../../src/values.js';
import { FC, onlyPipefitterErrors } from '../../helpers/property.js';

/** Text near the parsers' grammars: digits, dots, colons, slashes, hex, odd unicode and blanks. */
const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc
    .array(fc.constantFrom(...'0123456789abcdefABCDEF.:/@%-_ x\t\n\u0000\u00e9\u{1f600}'.split('')), {
      maxLength: 50,
    })
    .map((a) => a.join('')),
);
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(NaN, Infinity, -0, 2 ** 53));

const PARSERS: [string, (s: string) => unknown][] = [
  ['parseCidr', (s) => parseCidr(s, '--ip')],
  ['parseCidr v4', (s) => parseCidr(s, '--ip', { family: 4 })],
  ['parseCidr v6', (s) => parseCidr(s, '--ip', { family: 6 })],
  ['parseHostCidr', (s) => parseHostCidr(s, '--ip')],
  ['parseDestination', (s) => parseDestination(s, 'to')],
  ['parseIp', (s) => parseIp(s, '--gateway')],
  ['parseIfName', (s) => parseIfName(s, '-i')],
  ['parseMac', (s) => parseMac(s, '--mac')],
  ['parseMtu', (s) => parseMtu(s, '--mtu')],
  ['parseVlanId', (s) => parseVlanId(s, '--vlan')],
  ['parseSeconds', (s) => parseSeconds(s, '--timeout')],
  ['parseChoice', (s) => parseChoice(s, MACVLAN_MODES, '--mode', 'macvlan mode')],
  ['parseTargetSpec', (s) => parseTargetSpec(s, 'target')],
];

for (const [name, parse] of PARSERS)
  test(`${name}: arbitrary text is accepted or refused with exit 2, nothing else`, () => {
    fc.assert(
      fc.property(junk, (s) => {
        const e = onlyPipefitterErrors(() => parse(s));
        if (e) assert.equal(exitCodeFor(e), 2, e.message);
      }),
      FC,
    );
  });

test('parseMtu and parseVlanId: any number is accepted in range or refused with exit 2', () => {
  fc.assert(
    fc.property(number, (n) => {
      for (const parse of [() => parseMtu(n, 'mtu'), () => parseVlanId(n, 'vlan')]) {
        const e = onlyPipefitterErrors(parse);
        if (e) assert.equal(exitCodeFor(e), 2);
      }
    }),
    FC,
  );
});

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const ipv6 = fc.ipV6();

test('valid values from their grammar are accepted: addresses, prefixes, MACs, MTUs, VLANs, names', () => {
  fc.assert(
    fc.property(
      ipv4,
      fc.integer({ min: 0, max: 32 }),
      ipv6,
      fc.integer({ min: 0, max: 128 }),
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }),
      (v4, p4, v6, p6, bytes) => {
        assert.equal(parseIp(v4, 'ip').family, 4);
        assert.equal(parseCidr(`${v4}/${p4}`, 'ip').prefix, p4);
        assert.equal(parseIp(v6, 'ip').family, 6);
        assert.equal(parseCidr(`${v6}/${p6}`, 'ip').prefix, p6);
        // an interface address: any, except those no host can use, each refused for its reason
        for (const c of [`${v4}/${p4}`, `${v6}/${p6}`]) {
          const e = onlyPipefitterErrors(() => parseHostCidr(c, 'ip'));
          if (e) assert.match(e.message, /multicast|network address|broadcast|unspecified/, e.message);
        }
        // a unicast MAC: the multicast bit of the first byte clear
        const mac = [bytes[0]! & 0xfe, ...bytes.slice(1)].map((b) => b.toString(16).padStart(2, '0'));
        const e = onlyPipefitterErrors(() => parseMac(mac.join(':'), 'mac'));
        if (e) assert.match(e.message, /all zero/, e.message);
      },
    ),
    FC,
  );
  fc.assert(
    fc.property(fc.integer({ min: 68, max: 65535 }), fc.integer({ min: 1, max: 4094 }), (m, v) => {
      assert.equal(parseMtu(String(m), 'mtu'), m);
      assert.equal(parseVlanId(String(v), 'vlan'), v);
    }),
    FC,
  );
  const nameChar = fc.constantFrom(
    ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.'.split(''),
  );
  fc.assert(
    fc.property(fc.array(nameChar, { minLength: 1, maxLength: 15 }), (cs) => {
      const name = cs.join('');
      fc.pre(name !== '.' && name !== '..');
      assert.ok(isIfName(name));
      assert.equal(parseIfName(name, '-i'), name);
    }),
    FC,
  );
});
