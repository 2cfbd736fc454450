import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAttachInput, parseDetachInput, parsePairInput } from '../../../src/model/input.js';
import { parseTargetSpec } from '../../../src/model/target.js';
import { isPipefitterError } from '../../../src/errors.js';
import type { AttachInput, PairInput } from '../../../src/model/input.js';
import { thrown } from '../../helpers/errors.js';

const refused = (input: AttachInput) => thrown(() => parseAttachInput(input));

test('targets: every spelling', () => {
  assert.deepEqual(parseTargetSpec('pid:4242'), { kind: 'pid', pid: 4242 });
  assert.deepEqual(parseTargetSpec('netns:r1'), { kind: 'netns', name: 'r1' });
  assert.deepEqual(parseTargetSpec('docker:web'), { kind: 'docker', ref: 'web' });
  assert.deepEqual(parseTargetSpec('podman:web'), { kind: 'podman', ref: 'web' });
  assert.deepEqual(parseTargetSpec('/run/netns/r1'), { kind: 'path', path: '/run/netns/r1' });
  assert.deepEqual(parseTargetSpec('web'), { kind: 'bare', name: 'web' });
  for (const bad of ['pid:0', 'pid:x', 'netns:../x', 'web;rm', '', 'docker:-x'])
    assert.throws(
      () => parseTargetSpec(bad),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_BAD_VALUE',
      bad,
    );
});

test('a full attach request', () => {
  const r = parseAttachInput({
    target: 'web',
    bridge: 'br-lab',
    ip: ['2001:db8::10/64', '192.0.2.10/24'],
    gateway: ['192.0.2.1'],
    mac: '02:00:00:00:00:10',
    mtu: '1400',
    route: ['198.51.100.0/24:192.0.2.254', '2001:db8:1::/48@2001:db8::1', '203.0.113.0/24'],
  });
  assert.equal(r.iface.ifname, 'eth1');
  assert.equal(r.iface.mtu, 1400);
  assert.deepEqual(
    r.iface.routes.map((x) => [x.dst === 'default' ? 'default' : x.dst.text, x.via?.address]),
    [
      ['198.51.100.0/24', '192.0.2.254'],
      ['2001:db8:1::/48', '2001:db8::1'],
      ['203.0.113.0/24', undefined],
    ],
  );
  assert.equal(r.link.kind, 'bridge');
});

test('bad input names the field and says the fix (table)', () => {
  const cases: [AttachInput, string, string][] = [
    [{ target: 'web', bridge: 'br0', ip: '192.0.2.10' }, 'E_BAD_CIDR', '--ip'],
    [{ target: 'web', bridge: 'br0', ip: '192.0.2.10/40' }, 'E_BAD_CIDR', '--ip'],
    [{ target: 'web', bridge: 'br0', ifname: 'averyveryverylongname' }, 'E_NAME_TOO_LONG', '--ifname'],
    [{ target: 'web', bridge: 'br0', ifname: 'eth1;touch' }, 'E_BAD_NAME', '--ifname'],
    [{ target: 'web', bridge: 'br/0' }, 'E_BAD_NAME', '--bridge'],
    [{ target: 'web', bridge: 'br0', mtu: '9' }, 'E_MTU_RANGE', '--mtu'],
    [{ target: 'web', bridge: 'br0', mtu: 1000, ip: '2001:db8::1/64' }, 'E_MTU_RANGE', '--mtu'],
    [{ target: 'web', bridge: 'br0', mac: '01:00:5e:00:00:01' }, 'E_BAD_MAC', '--mac'],
    [{ target: 'web', bridge: 'br0', ip: '192.0.2.10/24', gateway: '2001:db8::1' }, 'E_FAMILY', '--gateway'],
    [
      { target: 'web', bridge: 'br0', ip: '192.0.2.10/24', gateway: ['192.0.2.1', '192.0.2.2'] },
      'E_BAD_VALUE',
      '--gateway',
    ],
    // issue 13: the interface's own address as its gateway
    [
      { target: 'web', bridge: 'br0', ip: '192.0.2.10/24', gateway: '192.0.2.10' },
      'E_BAD_VALUE',
      '--gateway',
    ],
    [
      { target: 'web', bridge: 'br0', ip: '2001:db8::10/64', gateway: '2001:db8:0::10' },
      'E_BAD_VALUE',
      '--gateway',
    ],
    [{ target: 'web', bridge: 'br0', route: '198.51.100.0/24:2001:db8::1' }, 'E_FAMILY', '--route'],
    [{ target: 'web' }, 'E_USAGE', '--bridge|--ovs|--macvlan|--ipvlan|--vlan|--phys'],
    [
      { target: 'web', bridge: 'br0', macvlan: 'eth0' },
      'E_USAGE',
      '--bridge|--ovs|--macvlan|--ipvlan|--vlan|--phys',
    ],
    [{ target: 'web', macvlan: 'eth0', mode: 'weird' }, 'E_BAD_VALUE', '--mode'],
    [{ target: 'web', vlan: 'eth0' }, 'E_USAGE', '--vlan-id'],
    // --mode and --ipvlan-flag where the link has none: refused, not ignored
    [{ target: 'web', vlan: 'eth0', vlanId: 10, mode: 'bridge' }, 'E_USAGE', '--mode'],
    [{ target: 'web', phys: 'eth3', mode: 'private' }, 'E_USAGE', '--mode'],
    [{ target: 'web', macvlan: 'eth0', ipvlanFlag: 'private' }, 'E_USAGE', '--ipvlan-flag'],
    [{ target: 'web', vlan: 'eth0', vlanId: 4095 }, 'E_BAD_VALUE', '--vlan-id'],
    [{ target: 'web', macvlan: 'eth0', bridgeIp: '192.0.2.1/24' }, 'E_USAGE', '--bridge-ip'],
    [{ target: 'web', bridge: 'br0', ip: ['192.0.2.10/24', '192.0.2.10/24'] }, 'E_BAD_VALUE', '--ip'],
    [
      { target: 'web', bridge: 'br0', route: ['198.51.100.0/24:192.0.2.254', '198.51.100.0/24@192.0.2.253'] },
      'E_BAD_ROUTE',
      '--route',
    ],
  ];
  for (const [input, code, field] of cases) {
    const e = refused(input);
    assert.equal(e.code, code, JSON.stringify(input));
    assert.equal(e.field, field, JSON.stringify(input));
    assert.ok(e.hint && e.hint.length > 5, `hint for ${JSON.stringify(input)}`);
    assert.ok(e.message.startsWith(field), e.message);
  }
});

test('pairs: A:IF B:IF with scheme prefixes', () => {
  const r = parsePairInput({
    a: 'docker:web:eth2',
    b: 'pid:42:eth3',
    ip: '192.0.2.21/30',
    peerIp: '192.0.2.22/30',
  });
  assert.deepEqual(r.target, { kind: 'docker', ref: 'web' });
  assert.equal(r.iface.ifname, 'eth2');
  assert.ok(r.link.kind === 'pair' && r.link.peerIface.ifname === 'eth3' && r.link.peer.kind === 'pid');
  const d = parsePairInput({ a: 'web', b: 'db' });
  assert.equal(d.iface.ifname, 'eth1');
  assert.equal(parseDetachInput({ target: 'web' }).ifname, 'eth1');
});

test('a field of the wrong type (a library caller in JavaScript) is refused naming the field, not a TypeError', () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ bridge: 5 }, '--bridge', /expected a string, got number/],
    [{ bridge: 'br0', ip: 5 }, '--ip', /expected a string or a list of strings, got number/],
    [{ bridge: 'br0', ip: ['192.0.2.10/24', 7] }, '--ip', /got a list of other values/],
    [{ bridge: 'br0', dhcpOption: { a: 1 } }, '--dhcp-option', /got object/],
    [{ bridge: 'br0', mtu: null }, '--mtu', /got null/],
    [{ bridge: 'br0', trunk: [true] }, '--trunk', /a list of numbers or strings/],
    [{ bridge: 'br0', announce: 'no' }, '--announce', /expected true or false, got string/],
  ];
  for (const [fields, field, why] of cases) {
    const e = refused({ target: 'web', ...fields });
    assert.equal(e.code, 'E_BAD_VALUE', JSON.stringify(fields));
    assert.equal(e.field, field);
    assert.match(e.message, why);
    assert.match(e.hint ?? '', /^give /);
  }
  const missing = refused({ bridge: 'br0' } as unknown as AttachInput);
  assert.deepEqual([missing.code, missing.field, missing.message], ['E_USAGE', 'target', 'target: missing']);
  const pair = thrown(() => parsePairInput({ a: 'web', b: 'db', peerIp: 10 } as unknown as PairInput));
  assert.deepEqual([pair.code, pair.field], ['E_BAD_VALUE', '--peer-ip']);
  // what the CLI gives (strings, and the repeatable flags as lists) still parses
  parseAttachInput({ target: 'web', bridge: 'br0', ip: ['192.0.2.10/24'], mtu: '1400', trunk: '10,20' });
  parseAttachInput({ target: 'web', bridge: 'br0', mtu: 1400, trunk: [10, '20'], dhcp: 'udhcpc' });
});
