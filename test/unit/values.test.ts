import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MACVLAN_MODES,
  MTU,
  VLAN_ID,
  parseChoice,
  parseMac,
  parseMtu,
  parseSeconds,
  parseVlanId,
} from '../../src/values.js';
import { isPipefitterError } from '../../src/errors.js';
import { codeOf, refusal } from '../helpers/errors.js';

test('MTU bounds come from one constant', () => {
  assert.equal(parseMtu(String(MTU.min), '--mtu'), 68);
  assert.equal(parseMtu(String(MTU.max), '--mtu'), 65535);
  assert.equal(
    codeOf(() => parseMtu('67', '--mtu')),
    'E_MTU_RANGE',
  );
  assert.equal(
    codeOf(() => parseMtu('65536', '--mtu')),
    'E_MTU_RANGE',
  );
  assert.equal(
    codeOf(() => parseMtu('15OO', '--mtu')),
    'E_MTU_RANGE',
  );
});

test('VLAN ids 1-4094', () => {
  assert.equal(parseVlanId(String(VLAN_ID.min), 'f'), 1);
  assert.equal(parseVlanId('4094', 'f'), 4094);
  assert.equal(
    codeOf(() => parseVlanId('0', 'f')),
    'E_BAD_VALUE',
  );
  assert.equal(
    codeOf(() => parseVlanId('4095', 'f')),
    'E_BAD_VALUE',
  );
});

test('MAC: unicast, six octets, normalised', () => {
  assert.equal(parseMac('02:00:00:00:00:10', '--mac'), '02:00:00:00:00:10');
  assert.equal(parseMac('02-AB-00-00-00-10', '--mac'), '02:ab:00:00:00:10');
  for (const bad of [
    '01:00:5e:00:00:01',
    '00:00:00:00:00:00',
    '02:00:00:00:00',
    '02:00:00:00:00:00:00',
    'zz:00:00:00:00:00',
  ])
    assert.equal(
      codeOf(() => parseMac(bad, '--mac')),
      'E_BAD_MAC',
      bad,
    );
});

test('enumerated choices list every option in the hint', () => {
  try {
    parseChoice('bogus', MACVLAN_MODES, '--mode', 'macvlan mode');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isPipefitterError(e));
    assert.equal(e.hint, 'use one of: bridge, private, vepa, passthru');
  }
});

test('each value refusal in full: code, field, message and the fix from the constant', () => {
  const range = 'give a number from 68 to 65535 (IPv6 needs at least 1280)';
  assert.deepEqual(
    refusal(() => parseMtu('15x0', '--mtu')),
    ['E_MTU_RANGE', '--mtu "15x0": MTU is not a whole number', 'give a number from 68 to 65535, e.g. 1500'],
  );
  assert.deepEqual(refusal(() => parseMtu(' 1500', '--mtu'))[1], '--mtu " 1500": MTU is not a whole number');
  assert.deepEqual(refusal(() => parseMtu('1500 ', '--mtu'))[1], '--mtu "1500 ": MTU is not a whole number');
  assert.deepEqual(refusal(() => parseMtu(1500.5, '--mtu'))[1], '--mtu "1500.5": MTU is not a whole number');
  assert.deepEqual(
    refusal(() => parseMtu('67', '--mtu')),
    ['E_MTU_RANGE', '--mtu "67": MTU out of range 68-65535', range],
  );
  assert.deepEqual(
    refusal(() => parseMtu(65536, 'mtu')),
    ['E_MTU_RANGE', 'mtu "65536": MTU out of range 68-65535', range],
  );
  assert.equal(parseMtu('68', 'f'), 68);
  assert.equal(parseMtu(65535, 'f'), 65535);
  const vlan = 'give a whole number from 1 to 4094, e.g. 10';
  assert.deepEqual(
    refusal(() => parseVlanId('x10', '--vlan-id')),
    ['E_BAD_VALUE', '--vlan-id "x10": VLAN id must be 1-4094', vlan],
  );
  assert.deepEqual(
    refusal(() => parseVlanId('10x', '--vlan-id'))[1],
    '--vlan-id "10x": VLAN id must be 1-4094',
  );
  assert.deepEqual(refusal(() => parseVlanId(0, '@vlan'))[1], '@vlan "0": VLAN id must be 1-4094');
  assert.deepEqual(refusal(() => parseVlanId('4095', '@vlan'))[1], '@vlan "4095": VLAN id must be 1-4094');
  assert.equal(parseVlanId('4094', 'f'), 4094);
  assert.equal(parseVlanId(1, 'f'), 1);
  assert.deepEqual(
    refusal(() => parseMac('02:00:00:00:00', '--mac')),
    [
      'E_BAD_MAC',
      '--mac "02:00:00:00:00": not a MAC address',
      'write six hex octets separated by ":", e.g. 02:00:00:00:00:10',
    ],
  );
  assert.deepEqual(
    refusal(() => parseMac('03-00-00-00-00-10', '--mac')),
    [
      'E_BAD_MAC',
      '--mac "03-00-00-00-00-10": multicast MAC address (lowest bit of the first octet is set)',
      'use a unicast address; locally administered ones start with 02, e.g. 02:00:00:00:00:10',
    ],
  );
  assert.deepEqual(
    refusal(() => parseMac('00:00:00:00:00:00', '--mac')),
    [
      'E_BAD_MAC',
      '--mac "00:00:00:00:00:00": all-zero MAC address',
      'use a unicast address, e.g. 02:00:00:00:00:10',
    ],
  );
  // the first octet decides, not the others
  assert.equal(parseMac('02-01-00-00-00-10', 'f'), '02:01:00:00:00:10');
  assert.equal(parseMac('AA:00:00:00:00:10', 'f'), 'aa:00:00:00:00:10');
});

test('seconds: whole or fractional, never negative or text (a wait given "abc" waited for ever)', () => {
  assert.equal(parseSeconds('0', '--timeout'), 0);
  assert.equal(parseSeconds('1.5', '--timeout'), 1.5);
  for (const bad of ['abc', '-1', '', '1e3', 'Infinity', '5s'])
    assert.throws(
      () => parseSeconds(bad, '--timeout'),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_BAD_VALUE' && e.field === '--timeout',
      bad,
    );
});
