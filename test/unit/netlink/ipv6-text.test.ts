/** The codec's IPv6 text is ip-address's correct form (RFC 5952), for any 16 bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address6 } from 'ip-address';
import { ipText, ipv6Text } from '../../../src/netlink/codec.js';

const bytes = (text: string): Buffer => Buffer.from(new Address6(text).toUnsignedByteArray().slice(-16));

test('IPv6 bytes as text: the longest zero run (two groups or more, the first of equals) is ::', () => {
  const cases: [string, string][] = [
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'], // one zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longer run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // equal runs: the first
    ['2001:DB8:AA:BB:CC:DD:EE:FF', '2001:db8:aa:bb:cc:dd:ee:ff'],
    ['0:0:0:0:0:ffff:c000:201', '::ffff:c000:201'],
  ];
  for (const [input, want] of cases) {
    assert.equal(ipv6Text(bytes(input)), want, input);
    assert.equal(new Address6(want).correctForm(), want, `${want} is ip-address's form too`);
  }
  assert.equal(ipText(Buffer.from([192, 0, 2, 1])), '192.0.2.1');
  assert.equal(ipText(Buffer.alloc(5)), undefined);
});

test('IPv6 bytes as text equal ip-address for 20,000 random addresses full of zero groups', () => {
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 20_000; n++) {
    const b = Buffer.alloc(16);
    for (let i = 0; i < 16; i += 2) {
      const r = rnd();
      b.writeUInt16BE(r < 0.5 ? 0 : r < 0.7 ? Math.floor(rnd() * 16) : Math.floor(rnd() * 65536), i);
    }
    assert.equal(ipv6Text(b), Address6.fromUnsignedByteArray([...b]).correctForm());
  }
});
