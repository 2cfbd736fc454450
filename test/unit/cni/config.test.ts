import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetConf } from '../../../src/cni/config.js';
import { CniError } from '../../../src/cni/types.js';

const base = { cniVersion: '1.0.0', name: 'lab', type: 'pipefitter', bridge: 'br-lab' };
const text = (o: Record<string, unknown>): string => JSON.stringify(o);

/** The CNI error of a configuration (code and message), with a fix always given. */
const fails = (t: string): CniError => {
  try {
    parseNetConf(t);
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    assert.ok(e.details, `a fix is given for ${e.message}`);
    return e;
  }
  assert.fail(`no error for ${t}`);
};

test('the issue example decodes; unknown keys are allowed and kept for IPAM', () => {
  const conf = parseNetConf(
    text({
      ...base,
      mtu: 1400,
      vlanId: 10,
      ipam: { type: 'host-local', subnet: '198.51.100.0/24', gateway: '198.51.100.1' },
      someOtherPluginKey: { a: 1 },
      capabilities: { portMappings: true },
    }),
  );
  assert.equal(conf.cniVersion, '1.0.0');
  assert.equal(conf.name, 'lab');
  assert.deepEqual(conf.ipam, { type: 'host-local' });
  assert.equal(conf.attach.bridge, 'br-lab');
  assert.equal(conf.attach.mtu, 1400);
  assert.equal(conf.attach.vlanId, 10);
  assert.deepEqual(conf.raw.someOtherPluginKey, { a: 1 });
});

test('every attach key decodes to its type', () => {
  const c = parseNetConf(
    text({
      ...base,
      ovs: true,
      trunk: [10, 20],
      mac: '02:00:00:00:00:01',
      routes: [{ dst: '203.0.113.0/24', gw: '198.51.100.1' }, { dst: '192.0.2.0/24' }],
      gateway: '198.51.100.1',
      dns: { nameservers: ['198.51.100.53'] },
      prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'x' }], ips: [] },
      'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
    }),
  );
  assert.equal(c.attach.ovs, true);
  assert.deepEqual(c.attach.trunk, [10, 20]);
  assert.deepEqual(c.attach.gateway, ['198.51.100.1']);
  assert.deepEqual(c.attach.routes, [{ dst: '203.0.113.0/24', gw: '198.51.100.1' }, { dst: '192.0.2.0/24' }]);
  assert.deepEqual(c.dns, { nameservers: ['198.51.100.53'] });
  assert.deepEqual(c.prevResult?.interfaces, [{ name: 'x' }]);
  assert.deepEqual(c.validAttachments, [{ containerID: 'a', ifname: 'eth0' }]);
  const m = parseNetConf(
    text({ cniVersion: '1.1.0', name: 'n', type: 'pipefitter', macvlan: 'eth0', mode: 'vepa' }),
  );
  assert.deepEqual([m.attach.macvlan, m.attach.mode], ['eth0', 'vepa']);
});

test('stdin that is not a JSON object is error 6', () => {
  for (const t of ['', '{', '[]', '"x"', 'null']) assert.equal(fails(t).code, 6, t);
  assert.match(fails('{').message, /^network configuration on stdin: not JSON/);
});

test('versions: missing is 7, unsupported is 1, cniVersions negotiates', () => {
  const noVersion = { ...base, cniVersion: undefined };
  assert.equal(fails(text(noVersion)).code, 7);
  assert.match(fails(text(noVersion)).message, /^cniVersion: missing/);
  assert.equal(fails(text({ ...base, cniVersion: 1 })).code, 7);
  assert.equal(fails(text({ ...base, cniVersion: '0.3.1' })).code, 1);
  assert.equal(fails(text({ ...base, cniVersions: '1.0.0' })).code, 7);
  assert.equal(
    parseNetConf(text({ ...base, cniVersion: '0.3.1', cniVersions: ['0.4.0', '1.1.0'] })).cniVersion,
    '1.1.0',
  );
});

test('every bad key is error 7 naming the key', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...base, name: undefined }, /^name: missing/],
    [{ ...base, name: '-lab' }, /^name "-lab": not a network name/],
    [{ ...base, type: undefined }, /^type: missing/],
    [{ ...base, bridge: undefined }, /^bridge\|macvlan\|ipvlan\|vlan\|phys: missing: say how to attach/],
    [{ ...base, macvlan: 'eth0' }, /^bridge, macvlan: only one way of attaching/],
    [{ ...base, bridge: 7 }, /^bridge 7: not a non-empty string/],
    [{ ...base, bridge: '' }, /^bridge "": not a non-empty string/],
    [{ ...base, ovs: 'yes' }, /^ovs "yes": not true or false/],
    [{ ...base, bridge: undefined, phys: 'eth3', ovs: true }, /^ovs true: only applies to "bridge"/],
    [{ ...base, vlanId: '10' }, /^vlanId "10": not a whole number/],
    [{ ...base, vlanId: 1.5 }, /^vlanId 1.5: not a whole number/],
    [{ ...base, trunk: '10,20' }, /^trunk "10,20": not a list of VLAN ids/],
    [{ ...base, mtu: '1400' }, /^mtu "1400": not a whole number/],
    [{ ...base, mac: 5 }, /^mac 5: not a non-empty string/],
    [{ ...base, mode: 1 }, /^mode 1:/],
    [{ ...base, routes: {} }, /^routes \{\}: not a list/],
    [{ ...base, routes: [{ gw: '1.2.3.4' }] }, /^routes\[0\] .*: not a route/],
    [{ ...base, routes: [{ dst: '192.0.2.0/24', gw: 1 }] }, /^routes\[0\]/],
    [{ ...base, gateway: 1 }, /^gateway 1: not an address/],
    [{ ...base, ipam: 'host-local' }, /^ipam "host-local": not an object/],
    [{ ...base, ipam: { subnet: '192.0.2.0/24' } }, /^ipam\.type: missing/],
    [{ ...base, ipam: { type: '../bin/sh' } }, /^ipam\.type "\.\.\/bin\/sh": not a plugin name/],
    [{ ...base, dns: [] }, /^dns \[\]: not an object/],
    [{ ...base, 'cni.dev/valid-attachments': {} }, /^cni\.dev\/valid-attachments \{\}: not a list/],
    [{ ...base, 'cni.dev/valid-attachments': [{ containerID: 'a' }] }, /^cni\.dev\/valid-attachments\[0\]/],
  ];
  for (const [o, msg] of cases) {
    const e = fails(text(o));
    assert.equal(e.code, 7, e.message);
    assert.match(e.message, msg);
  }
});

test('a malformed prevResult is error 6 naming the field; an empty ipam is none', () => {
  const e = fails(text({ ...base, prevResult: { ips: [{}] } }));
  assert.equal(e.code, 6);
  assert.match(e.message, /^prevResult\.ips\[0\]\.address: missing/);
  assert.equal(parseNetConf(text({ ...base, ipam: {} })).ipam, undefined);
});

test('"ifname": the interface to make when an earlier plugin of the chain made CNI_IFNAME; a bad one is error 7', () => {
  assert.equal(parseNetConf(text({ ...base, ifname: 'eth1' })).attach.ifname, 'eth1');
  assert.equal(parseNetConf(text(base)).attach.ifname, undefined);
  for (const [v, msg] of [
    ['x'.repeat(16), /^ifname "x{16}": /],
    ['a/b', /^ifname "a\/b": /],
    ['', /^ifname "": not a non-empty string/],
    [1, /^ifname 1: not a non-empty string/],
  ] as const) {
    const e = fails(text({ ...base, ifname: v }));
    assert.equal(e.code, 7, e.message);
    assert.match(e.message, msg);
  }
});
