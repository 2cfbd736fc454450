import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareVersions,
  decodeResult,
  highestCommon,
  negotiateVersion,
  parseVersion,
  resultForVersion,
  SUPPORTED_VERSIONS,
  versionResult,
} from '../../../src/cni/version.js';
import { CniError } from '../../../src/cni/types.js';

const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    return e.code;
  }
  return undefined;
};

test('versions parse as MAJOR.MINOR.PATCH and compare numerically', () => {
  assert.deepEqual(parseVersion('1.10.0'), [1, 10, 0]);
  for (const bad of ['1.0', '1.0.0.0', 'v1.0.0', '01.0.0', '', '1.0.x'])
    assert.equal(parseVersion(bad), undefined, bad);
  assert.ok(compareVersions('1.10.0', '1.9.0') > 0);
  assert.ok(compareVersions('0.4.0', '1.0.0') < 0);
  assert.equal(compareVersions('1.1.0', '1.1.0'), 0);
});

test('negotiation picks the highest supported of cniVersion and cniVersions', () => {
  assert.deepEqual(SUPPORTED_VERSIONS, ['0.4.0', '1.0.0', '1.1.0']);
  assert.equal(negotiateVersion('1.0.0'), '1.0.0');
  assert.equal(negotiateVersion('0.4.0', ['0.3.1', '1.1.0', '1.0.0']), '1.1.0');
  assert.equal(negotiateVersion('9.9.9', ['0.3.1', '1.0.0']), '1.0.0');
  assert.equal(negotiateVersion('0.4.0'), '0.4.0');
});

test('negotiation with nothing in common is error 1, naming what was offered', () => {
  assert.equal(
    codeOf(() => negotiateVersion('0.3.1', ['0.2.0'])),
    1,
  );
  try {
    negotiateVersion('2.0.0');
  } catch (e) {
    assert.match((e as Error).message, /cniVersion "2\.0\.0": not supported/);
    assert.match((e as CniError).details ?? '', /0\.4\.0, 1\.0\.0, 1\.1\.0/);
  }
});

test('highestCommon: the newest both sides have', () => {
  assert.equal(highestCommon(SUPPORTED_VERSIONS, ['0.1.0', '0.4.0', '1.0.0']), '1.0.0');
  assert.equal(highestCommon(SUPPORTED_VERSIONS, ['0.3.1']), undefined);
});

test('VERSION echoes the input version and lists every supported one', () => {
  assert.deepEqual(versionResult('1.0.0'), {
    cniVersion: '1.0.0',
    supportedVersions: ['0.4.0', '1.0.0', '1.1.0'],
  });
  assert.equal(versionResult(undefined).cniVersion, '1.1.0');
});

const full = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'br0', mac: '02:00:00:00:00:01', mtu: 1500 },
    { name: 'eth0', mac: '02:00:00:00:00:02', mtu: 1500, sandbox: '/run/netns/a', pciID: '0000:01:00.0' },
  ],
  ips: [
    { address: '192.0.2.2/24', gateway: '192.0.2.1', interface: 1 },
    { address: '2001:db8::2/64', interface: 1 },
  ],
  routes: [{ dst: '203.0.113.0/24', gw: '192.0.2.1', mtu: 1400, priority: 10, table: 100, scope: 0 }],
  dns: { nameservers: ['192.0.2.53'] },
};

test('0.4.0 results carry "version" in each ip and drop 1.1.0 fields', () => {
  const r = resultForVersion(full, '0.4.0') as {
    ips: unknown[];
    routes: unknown[];
    interfaces: unknown[];
    cniVersion: string;
  };
  assert.equal(r.cniVersion, '0.4.0');
  assert.deepEqual(r.ips, [
    { version: '4', address: '192.0.2.2/24', gateway: '192.0.2.1', interface: 1 },
    { version: '6', address: '2001:db8::2/64', interface: 1 },
  ]);
  assert.deepEqual(r.routes, [{ dst: '203.0.113.0/24', gw: '192.0.2.1' }]);
  assert.deepEqual(r.interfaces, [
    { name: 'br0', mac: '02:00:00:00:00:01' },
    { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/run/netns/a' },
  ]);
});

test('1.0.0 results have no ip "version" and no 1.1.0 fields; 1.1.0 keeps them', () => {
  const r10 = resultForVersion(full, '1.0.0') as { ips: Record<string, unknown>[]; routes: unknown[] };
  assert.ok(r10.ips.every((i) => !('version' in i)));
  assert.deepEqual(r10.routes, [{ dst: '203.0.113.0/24', gw: '192.0.2.1' }]);
  const r11 = resultForVersion(full, '1.1.0');
  assert.deepEqual(r11, full);
});

test('decodeResult reads 0.4.0 (drops "version"), 1.0.0 and IPAM results', () => {
  const r = decodeResult({
    cniVersion: '0.4.0',
    ips: [{ version: '4', address: '192.0.2.2/24', gateway: '192.0.2.1' }],
    dns: {},
  });
  assert.deepEqual(r.ips, [{ address: '192.0.2.2/24', gateway: '192.0.2.1' }]);
  assert.equal(r.dns, undefined);
  assert.equal(r.interfaces, undefined);
  assert.deepEqual(decodeResult(full).routes?.[0], full.routes[0]);
});

test('decodeResult: every malformed field is error 6 naming it', () => {
  const cases: [unknown, RegExp][] = [
    ['x', /^result: not a JSON object/],
    [{ ips: {} }, /^result\.ips: not a list/],
    [{ ips: [{}] }, /^result\.ips\[0\]\.address: missing/],
    [{ ips: [{ address: 4 }] }, /^result\.ips\[0\]\.address: not a string/],
    [{ ips: [{ address: 'a', interface: -1 }] }, /interface: not a whole number/],
    [{ interfaces: [{ mac: 'x' }] }, /interfaces\[0\]\.name: missing/],
    [{ routes: [{ gw: '1.2.3.4' }] }, /routes\[0\]\.dst: missing/],
    [{ dns: [] }, /^result\.dns: not an object/],
    [{ dns: { nameservers: 'x' } }, /dns\.nameservers: not a list of strings/],
  ];
  for (const [raw, msg] of cases) {
    try {
      decodeResult(raw);
      assert.fail(`no error for ${JSON.stringify(raw)}`);
    } catch (e) {
      assert.ok(e instanceof CniError);
      assert.equal(e.code, 6);
      assert.match(e.message, msg);
    }
  }
});
