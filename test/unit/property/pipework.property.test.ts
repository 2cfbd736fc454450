/**
 * pipework's argument forms (compat/pipework.ts), generated from its grammar: every valid form
 * parses to the request it spells; any argv (junk, or valid words in a wrong order) is parsed or
 * refused with a PipefitterError, exit 2 — never another exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePipework } from '../../../src/compat/pipework.js';
import { exitCodeFor } from '../../../src/errors.js';
import { FC, onlyPipefitterErrors } from '../../helpers/property.js';

const alnum = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const word = (min: number, max: number) =>
  fc
    .tuple(
      fc.constantFrom(...alnum.slice(0, 26)),
      fc.array(fc.constantFrom(...alnum, '_', '-'), { maxLength: max - 1 }),
    )
    .map(([a, b]) => a + b.join(''))
    .filter((w) => w.length >= min);
const ifname = word(1, 15);
const guest = fc.oneof(
  word(1, 20),
  word(1, 20).map((w) => `docker:${w}`),
  word(1, 20).map((w) => `netns:${w}`),
  fc.integer({ min: 1, max: 4_000_000 }).map((n) => `pid:${n}`),
);
const octet = fc.integer({ min: 1, max: 254 });
const v4 = fc.tuple(fc.constantFrom(192, 198, 203, 10), octet, octet, octet).map((o) => o.join('.'));
const hex = fc.integer({ min: 0, max: 255 }).map((b) => b.toString(16).padStart(2, '0'));
const mac = fc.array(hex, { minLength: 5, maxLength: 5 }).map((b) => `02:${b.join(':')}`);
const dhcp = fc
  .tuple(
    fc.constantFrom('dhcp', 'udhcpc', 'udhcpc-f', 'dhclient', 'dhclient-f', 'dhcpcd'),
    fc.option(word(1, 8)),
  )
  .map(([c, o]) => (o === null ? c : `${c}:-${o}`));

interface Form {
  argv: string[];
  ifname: string;
  addr: string | undefined;
  gw: string | undefined;
  vlan: number | undefined;
  mac: string | undefined;
}
const attach: fc.Arbitrary<Form> = fc
  .record({
    host: fc.oneof(
      ifname,
      mac.map((m) => `mac:${m}`),
    ),
    i: fc.option(ifname),
    l: fc.option(ifname),
    a: fc.boolean(),
    guest,
    addr: fc.oneof(
      fc
        .tuple(v4, fc.integer({ min: 8, max: 30 }), fc.option(v4))
        .map(([a, p, g]) => ({ a: `${a}/${p}`, g })),
      dhcp.map((d) => ({ a: d, g: null })),
    ),
    mac: fc.option(mac),
    vlan: fc.option(fc.integer({ min: 1, max: 4094 })),
  })
  .map((r) => {
    const isDhcp = !/^\d/.test(r.addr.a);
    const flags = [
      ...(r.i !== null ? ['-i', r.i] : []),
      ...(r.l !== null ? ['-l', r.l] : []),
      ...(r.a && !isDhcp ? ['-a', '4'] : []),
    ];
    const tail =
      r.mac !== null || r.vlan !== null ? [`${r.mac ?? ''}${r.vlan !== null ? `@${r.vlan}` : ''}`] : [];
    return {
      argv: [r.host, ...flags, r.guest, r.addr.g !== null ? `${r.addr.a}@${r.addr.g}` : r.addr.a, ...tail],
      ifname: r.i ?? 'eth1',
      addr: isDhcp ? undefined : r.addr.a,
      gw: r.addr.g ?? undefined,
      vlan: r.vlan ?? undefined,
      mac: r.mac ?? undefined,
    };
  });

test('every valid attach form parses to the request it spells', () => {
  fc.assert(
    fc.property(attach, (f) => {
      const c = parsePipework(f.argv);
      assert.equal(c.kind, 'attach');
      if (c.kind !== 'attach') return;
      assert.equal(c.request.iface.ifname, f.ifname);
      assert.equal(c.request.iface.addrs[0]?.text, f.addr);
      assert.equal(c.request.iface.dhcp === undefined, f.addr !== undefined);
      assert.equal(c.request.iface.gateways[0]?.address, f.gw);
      assert.equal(c.request.link.kind === 'auto' ? c.request.link.vlan : 'not auto', f.vlan);
      assert.equal(c.request.iface.mac, f.mac);
    }),
    FC,
  );
});

test('route, rule, tc and --wait forms parse', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('route', 'rule', 'tc'),
      guest,
      fc.array(word(1, 10), { minLength: 1, maxLength: 6 }),
      fc.option(ifname),
      (verb, g, args, i) => {
        const c = parsePipework([verb, g, ...args]);
        assert.equal(c.kind, verb);
        if (c.kind === verb) assert.deepEqual(c.args, args);
        const w = parsePipework(i === null ? ['--wait'] : ['--wait', '-i', i]);
        assert.deepEqual(w, { kind: 'wait', ifname: i ?? 'eth1' });
      },
    ),
    FC,
  );
});

/** Valid words, flags and junk in any order and number. */
const token = fc.oneof(
  fc.constantFrom(
    '-i',
    '-l',
    '-a',
    '4',
    '6',
    'inet6',
    '--wait',
    '--direct-phys',
    'route',
    'rule',
    'tc',
    '@',
    '@@',
    'U:x',
    'mac:',
    '',
  ),
  ifname,
  guest,
  v4,
  v4.map((a) => `${a}/24@`),
  mac,
  dhcp,
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

test('any argv: parsed, or refused with a PipefitterError and exit 2', () => {
  fc.assert(
    fc.property(fc.array(token, { maxLength: 9 }), (argv) => {
      const e = onlyPipefitterErrors(() => parsePipework(argv));
      if (e) assert.equal(exitCodeFor(e), 2, e.message);
    }),
    { ...FC, numRuns: (FC.numRuns ?? 300) * 4 },
  );
});

test('a valid form with one word replaced by junk: parsed, or refused with exit 2', () => {
  fc.assert(
    fc.property(attach, fc.nat(), token, (f, k, junk) => {
      const argv = [...f.argv];
      argv[k % argv.length] = junk;
      const e = onlyPipefitterErrors(() => parsePipework(argv));
      if (e) assert.equal(exitCodeFor(e), 2, e.message);
    }),
    FC,
  );
});
