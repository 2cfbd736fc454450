import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MACVLAN_MODES,
  MTU,
  VLAN_ID,
  parseChoice,
  parseMac,
  parseMtu,
  parseVlanId,
} from '../../src/values.js';
import { isPipefitterError } from '../../src/errors.js';
import { codeOf } from '../helpers/errors.js';

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
