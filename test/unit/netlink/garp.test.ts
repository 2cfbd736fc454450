/**
 * The gratuitous ARP the netlink backend sends itself instead of starting arping: the argv it
 * recognises (plan/commands.ts's, nothing else) and the packet, byte for byte as arping -U sends it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gratuitousArpOf } from '../../../src/exec/netlink-backend.js';
import { gratuitousArp } from '../../../src/netlink/socket.js';

test('gratuitousArpOf: the announce step of the plan, and only it', () => {
  const argv = ['arping', '-q', '-U', '-c', '1', '-w', '0', '-i', 'eth1', '-S', '192.0.2.10', '192.0.2.10'];
  assert.deepEqual(gratuitousArpOf(argv), { dev: 'eth1', address: '192.0.2.10' });
  assert.equal(gratuitousArpOf(argv.with(2, '-A')), undefined, 'another mode');
  assert.equal(gratuitousArpOf(argv.with(11, '192.0.2.11')), undefined, 'asks for another address');
  assert.equal(gratuitousArpOf([...argv.slice(0, 10), '2001:db8::1', '2001:db8::1']), undefined, 'not IPv4');
  assert.equal(gratuitousArpOf(['dhclient', 'eth1']), undefined);
  assert.equal(gratuitousArpOf(argv.with(8, { ns: 'x' } as unknown as string)), undefined);
});

test('gratuitousArp: an ARP request from the address at the MAC, for the address itself', () => {
  const p = gratuitousArp('02:00:00:00:0a:0b', '192.0.2.10');
  assert.equal(
    p.toString('hex'),
    [
      '0001', // Ethernet
      '0800', // IPv4
      '06',
      '04',
      '0001', // request
      '02000000 0a0b'.replace(' ', ''),
      'c000020a', // sender 192.0.2.10
      '000000000000', // target MAC unknown
      'c000020a', // target 192.0.2.10
    ].join(''),
  );
  assert.throws(() => gratuitousArp('02:00', '192.0.2.10'), /arp 02:00 192\.0\.2\.10/);
});
