import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipework, seededMac } from '../../../src/compat/pipework.js';
import type { PipeworkCommand } from '../../../src/compat/pipework.js';
import { isPipefitterError } from '../../../src/errors.js';

const attach = (argv: string[]) => {
  const c: PipeworkCommand = parsePipework(argv);
  assert.equal(c.kind, 'attach');
  if (c.kind !== 'attach') throw new Error();
  return c.request;
};

test('every pipework form parses into the same request an explicit command would make', () => {
  const r = attach(['br1', 'web', '192.0.2.10/24@192.0.2.1']);
  assert.deepEqual(r.target, { kind: 'bare', name: 'web' });
  assert.deepEqual(r.link, {
    kind: 'auto',
    host: { name: 'br1' },
    directPhys: false,
    vlan: undefined,
    hostIfname: undefined,
  });
  assert.equal(r.iface.ifname, 'eth1');
  assert.deepEqual(
    r.iface.addrs.map((a) => a.text),
    ['192.0.2.10/24'],
  );
  assert.deepEqual(
    r.iface.gateways.map((g) => g.address),
    ['192.0.2.1'],
  );

  const full = attach([
    'eth3',
    '-i',
    'lan0',
    '-l',
    'hostlan0',
    '-a',
    '4',
    'docker:web',
    '198.51.100.7/24',
    '02:00:00:00:00:07@10',
  ]);
  assert.equal(full.iface.ifname, 'lan0');
  assert.equal(full.iface.mac, '02:00:00:00:00:07');
  assert.ok(full.link.kind === 'auto' && full.link.vlan === 10 && full.link.hostIfname === 'hostlan0');

  const v6 = attach(['br1', '-a', '6', 'web', '2001:db8::10/64@2001:db8::1']);
  assert.equal(v6.iface.addrs[0]?.family, 6);

  const mac = attach(['mac:02:AA:BB:CC:DD:EE', 'web', '192.0.2.10/24']);
  assert.ok(mac.link.kind === 'auto' && 'mac' in mac.link.host && mac.link.host.mac === '02:aa:bb:cc:dd:ee');

  const seeded = attach(['br1', 'web', '192.0.2.10/24', 'U:web']);
  // echo web | md5sum = 64d42024f1a7…, so pipework made 02:64:d4:20:24:f1
  assert.equal(seeded.iface.mac, '02:64:d4:20:24:f1');
  assert.equal(seededMac('web'), '02:64:d4:20:24:f1');
  assert.equal(
    attach(['br1', 'web', '192.0.2.10/24', '@20']).link.kind === 'auto' &&
      attach(['br1', 'web', '192.0.2.10/24', '@20']).iface.mac,
    undefined,
  );

  const direct = attach(['--direct-phys', 'eth2', 'web', '203.0.113.2/30']);
  assert.ok(direct.link.kind === 'auto' && direct.link.directPhys);
});

test('DHCP forms: client, foreground, options passed through as argv', () => {
  const cases: [string, string, boolean, string[]][] = [
    ['dhcp', 'dhcp', false, []],
    ['dhcp:-x hostname:foo', 'dhcp', false, ['-x', 'hostname:foo']],
    ['udhcpc', 'udhcpc', false, []],
    ['udhcpc-f', 'udhcpc', true, []],
    ['udhcpc-f:-V vendor', 'udhcpc', true, ['-V', 'vendor']],
    ['dhclient', 'dhclient', false, []],
    ['dhclient-f:-v', 'dhclient', true, ['-v']],
    ['dhcpcd:-t 5', 'dhcpcd', false, ['-t', '5']],
  ];
  for (const [word, client, fg, opts] of cases) {
    const r = attach(['br1', 'web', word]);
    assert.equal(r.iface.dhcp?.client, client, word);
    assert.equal(r.iface.dhcp?.foreground, fg, word);
    assert.deepEqual(r.iface.dhcp?.options, opts, word);
    assert.equal(r.iface.dhcp?.hostname, 'web');
    assert.deepEqual(r.iface.addrs, []);
  }
});

test('route, rule, tc and --wait', () => {
  assert.deepEqual(parsePipework(['route', 'web', 'add', '198.51.100.0/24', 'via', '192.0.2.254']), {
    kind: 'route',
    target: { kind: 'bare', name: 'web' },
    args: ['add', '198.51.100.0/24', 'via', '192.0.2.254'],
  });
  assert.equal(parsePipework(['rule', 'pid:42', 'add', 'from', '192.0.2.10', 'table', '100']).kind, 'rule');
  // alone, ip route and ip rule list (pipework passed them through the same way)
  assert.deepEqual(parsePipework(['route', 'web']), {
    kind: 'route',
    target: { kind: 'bare', name: 'web' },
    args: [],
  });
  const tc = parsePipework([
    'tc',
    'web',
    'qdisc',
    'add',
    'dev',
    'eth1',
    'root',
    'tbf',
    'rate',
    '1mbit',
    'burst',
    '32kbit',
    'latency',
    '400ms',
  ]);
  assert.ok(tc.kind === 'tc' && tc.args.length === 12);
  assert.deepEqual(parsePipework(['--wait']), { kind: 'wait', ifname: 'eth1' });
  assert.deepEqual(parsePipework(['--wait', '-i', 'eth2']), { kind: 'wait', ifname: 'eth2' });
});

test("errors follow pipework's intent with better messages, naming the field and the fix", () => {
  const cases: [string[], string, RegExp][] = [
    [['br1', 'web', '192.0.2.10'], 'E_BAD_CIDR', /add a prefix, e\.g\. 192\.0\.2\.10\/24/],
    [['br1', 'web'], 'E_USAGE', /missing <guest> and <ipaddr>/],
    [['br1'], 'E_USAGE', /missing/],
    [['br1', '-a', '5', 'web', '192.0.2.10/24'], 'E_BAD_VALUE', /use 4 or 6/],
    [['br1', '-a', '6', 'web', '192.0.2.10/24'], 'E_FAMILY', /IPv6/],
    [['br1', 'web', '192.0.2.10/24@2001:db8::1'], 'E_FAMILY', /.*/],
    [['br1', 'web', '192.0.2.10/24', '02:00:00:00:00'], 'E_BAD_MAC', /six hex octets/],
    [['br1', 'web', '192.0.2.10/24', '@5000'], 'E_BAD_VALUE', /1 to 4094/],
    [['br1', 'web', 'dhcpcd-f'], 'E_USAGE', /udhcpc-f or dhclient-f/],
    [['br1', 'web', '192.0.2.10/24', 'x', 'y'], 'E_USAGE', /too many/],
    [['averyveryverylongbridge', 'web', '192.0.2.10/24'], 'E_NAME_TOO_LONG', /at most 15/],
    [['br1', 'web;reboot', '192.0.2.10/24'], 'E_BAD_VALUE', /.*/],
    [['tc', 'web'], 'E_USAGE', /tc needs arguments/],
    [['--wait', '-i'], 'E_USAGE', /needs a container interface/],
    // nothing after an '@' is dropped: a second one is refused, not ignored
    [
      ['br1', 'web', '192.0.2.10/24@192.0.2.1@junk'],
      'E_BAD_VALUE',
      /ipaddr .*more than one "@".*@default_gateway/,
    ],
    [['br1', 'web', '192.0.2.10/24@@192.0.2.1'], 'E_BAD_VALUE', /ipaddr .*more than one "@"/],
    [
      ['br1', 'web', '192.0.2.10/24', '02:00:00:00:00:07@10@junk'],
      'E_BAD_VALUE',
      /macaddr .*more than one "@".*\[macaddr\]\[@vlan\]/,
    ],
    [['br1', 'web', '192.0.2.10/24', '@10@20'], 'E_BAD_VALUE', /macaddr .*more than one "@"/],
    [['br1', 'web', '192.0.2.10/24', 'U:web@10@x'], 'E_BAD_VALUE', /more than one "@"/],
    [['br1', 'web', '192.0.2.10/24', '02:00:00:00:00:07@'], 'E_BAD_VALUE', /@vlan/],
    // what pipework refused too
    [
      ['--direct-phys', 'eth2', '-l', 'hostside', 'web', '203.0.113.2/30'],
      'E_USAGE',
      /--direct-phys takes no -l and no @vlan/,
    ],
    [
      ['--direct-phys', 'eth2', 'web', '203.0.113.2/30', '@10'],
      'E_USAGE',
      /--direct-phys takes no -l and no @vlan/,
    ],
    [
      ['--direct-phys', 'eth2', 'web', '203.0.113.2/30', '02:00:00:00:00:07@10'],
      'E_USAGE',
      /--direct-phys takes no -l and no @vlan/,
    ],
    [['br1', '-a', '4', 'web', 'dhcp'], 'E_USAGE', /-a applies to static addresses, not DHCP/],
    [['br1', '-a', 'inet6', 'web', 'udhcpc-f'], 'E_USAGE', /-a applies to static addresses, not DHCP/],
    [['br1', '-a', 'inet', 'web', '2001:db8::10/64'], 'E_FAMILY', /IPv6/],
    [['br1', '-a', 'inet6', 'web', '192.0.2.10/24'], 'E_FAMILY', /IPv4/],
    [['br1', '-a', 'ipv6', 'web', '192.0.2.10/24'], 'E_BAD_VALUE', /use 4 or 6/],
    // --wait takes -i and nothing else
    [['--wait', 'eth1'], 'E_USAGE', /--wait takes only \[-i containerinterface\]/],
    [['--wait', '-i', 'eth1', 'extra'], 'E_USAGE', /--wait takes only/],
    [['--wait', '-i', 'eth1', '-i', 'eth2'], 'E_USAGE', /--wait takes only/],
    [['--wait', '-i', 'eth1;x'], 'E_BAD_NAME', /shell metacharacter/],
  ];
  for (const [argv, code, hint] of cases)
    assert.throws(
      () => parsePipework(argv),
      (e: unknown) => {
        assert.ok(isPipefitterError(e), `${argv.join(' ')}: ${String(e)}`);
        assert.equal(e.code, code, argv.join(' '));
        assert.match(`${e.message} ${e.hint ?? ''}`, hint, argv.join(' '));
        return true;
      },
      `accepted: ${argv.join(' ')}`,
    );
});

test('-a: 4, 6, inet and inet6 name the family of the address', () => {
  const cases: [string, string, 4 | 6][] = [
    ['4', '192.0.2.10/24', 4],
    ['inet', '192.0.2.10/24@192.0.2.1', 4],
    ['6', '2001:db8::10/64', 6],
    ['inet6', '2001:db8::10/64@2001:db8::1', 6],
  ];
  for (const [a, addr, family] of cases) {
    const r = attach(['br1', '-a', a, 'web', addr]);
    assert.deepEqual(
      r.iface.addrs.map((x) => [x.text, x.family]),
      [[addr.split('@')[0], family]],
      `-a ${a}`,
    );
    assert.deepEqual(
      r.iface.gateways.map((g) => g.address),
      addr.includes('@') ? [addr.split('@')[1]] : [],
      `-a ${a}`,
    );
  }
  // an empty gateway is no gateway, as in pipework ("${GATEWAY}" is empty)
  assert.deepEqual(attach(['br1', 'web', '192.0.2.10/24@']).iface.gateways, []);
});
