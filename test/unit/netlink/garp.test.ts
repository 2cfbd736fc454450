/**
 * The gratuitous ARP after an IPv4 address: a typed step (`arp.announce`) that the netlink
 * backend sends as one packet itself, and whose `ip` form (--dry-run, the ip backend) is arping;
 * the packet byte for byte as arping -U sends it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arpAnnounce } from '../../../src/plan/commands.js';
import { argvOf } from '../../../src/render/ip.js';
import { HOST } from '../../../src/model/netns.js';
import { gratuitousArp } from '../../../src/netlink/socket.js';

test('arpAnnounce: a typed step, run as arping by the ip backend and printed so by --dry-run', () => {
  const s = arpAnnounce(HOST, 'eth1', '192.0.2.10');
  assert.deepEqual(s.op, { op: 'arp.announce', dev: 'eth1', address: '192.0.2.10' });
  assert.deepEqual(argvOf(s), [
    'arping',
    '-q',
    '-U',
    '-c',
    '1',
    '-w',
    '0',
    '-i',
    'eth1',
    '-S',
    '192.0.2.10',
    '192.0.2.10',
  ]);
  assert.equal(s.bestEffort, true);
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
      '020000000a0b',
      'c000020a', // sender 192.0.2.10
      '000000000000', // target MAC unknown
      'c000020a', // target 192.0.2.10
    ].join(''),
  );
  assert.throws(() => gratuitousArp('02:00', '192.0.2.10'), /arp 02:00 192\.0\.2\.10/);
});
