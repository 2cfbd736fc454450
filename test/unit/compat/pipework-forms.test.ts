/** Every pipework form as the whole request it becomes, and each usage refusal with its fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PIPEWORK_SYNTAX, parsePipework, seededMac } from '../../../src/compat/pipework.js';
import { parseCidr, parseIp } from '../../../src/addr.js';
import { isPipefitterError } from '../../../src/errors.js';

const request = (...argv: string[]) => {
  const c = parsePipework(argv);
  if (c.kind !== 'attach') throw new Error(`not an attach: ${argv.join(' ')}`);
  return c.request;
};
const refusal = (...argv: string[]) => {
  try {
    parsePipework(argv);
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    return [e.code, e.field, e.message, e.hint];
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};
const usage = `use: ${PIPEWORK_SYNTAX[0]}`;

test('a static address with gateway, MAC and VLAN, in any flag order, as the whole request', () => {
  assert.deepEqual(
    request(
      'eth3',
      '-a',
      'inet',
      '-l',
      'vh1',
      '-i',
      'lan0',
      'docker:web',
      '192.0.2.10/24@192.0.2.1',
      '02:00:00:00:00:10@7',
    ),
    {
      target: { kind: 'docker', ref: 'web' },
      iface: {
        ifname: 'lan0',
        mac: '02:00:00:00:00:10',
        mtu: undefined,
        addrs: [parseCidr('192.0.2.10/24', 'x')],
        gateways: [parseIp('192.0.2.1', 'x')],
        routes: [],
        announce: true,
        dhcp: undefined,
      },
      link: { kind: 'auto', host: { name: 'eth3' }, directPhys: false, vlan: 7, hostIfname: 'vh1' },
    },
  );
  // -a 6 / inet6 ask for IPv6; the gateway is of the address's family
  assert.equal(request('br0', '-a', '6', 'web', '2001:db8::10/64@2001:db8::1').iface.gateways[0]?.family, 6);
  assert.equal(request('br0', '-a', 'inet6', 'web', '2001:db8::10/64').iface.addrs[0]?.family, 6);
  assert.equal(request('br0', '-a', '4', 'web', '192.0.2.10/24').iface.addrs[0]?.family, 4);
  // an empty gateway (pipework's "ip@") is none (a second "@" is refused: pipework.test.ts)
  assert.deepEqual(request('br0', 'web', '192.0.2.10/24@').iface.gateways, []);
  // only a VLAN, a seeded MAC, a MAC-addressed host interface
  assert.deepEqual(
    [
      request('br0', 'web', '192.0.2.10/24', '@30').iface.mac,
      request('br0', 'web', '192.0.2.10/24', '@30').link,
    ],
    [undefined, { kind: 'auto', host: { name: 'br0' }, directPhys: false, vlan: 30, hostIfname: undefined }],
  );
  assert.equal(request('br0', 'web', '192.0.2.10/24', 'U:web').iface.mac, seededMac('web'));
  assert.deepEqual(request('mac:02:00:00:00:00:03', 'web', '192.0.2.10/24').link, {
    kind: 'auto',
    host: { mac: '02:00:00:00:00:03' },
    directPhys: false,
    vlan: undefined,
    hostIfname: undefined,
  });
  assert.deepEqual(request('--direct-phys', 'eth3', 'web', '192.0.2.10/24').link, {
    kind: 'auto',
    host: { name: 'eth3' },
    directPhys: true,
    vlan: undefined,
    hostIfname: undefined,
  });
});

test('DHCP forms: the client, -f to keep it running, :opts split on blanks, the container name as hostname', () => {
  const dhcp = (guest: string, word: string) => request('br0', guest, word).iface.dhcp;
  assert.deepEqual(dhcp('web', 'dhcp'), {
    client: 'dhcp',
    foreground: false,
    options: [],
    hostname: 'web',
    dns: false,
  });
  assert.deepEqual(dhcp('docker:web-1.lab', 'udhcpc-f:-x  hostname:a\t-b'), {
    client: 'udhcpc',
    foreground: true,
    options: ['-x', 'hostname:a', '-b'],
    hostname: 'web-1.lab',
    dns: false,
  });
  assert.deepEqual(dhcp('podman:db', 'dhclient-f')?.foreground, true);
  assert.deepEqual(dhcp('netns:r1', 'dhcpcd:')?.options, []);
  assert.equal(dhcp('netns:r1', 'dhcpcd')?.hostname, 'r1');
  // a pid, a path or a long name is no host name
  assert.equal(dhcp('pid:42', 'dhcp')?.hostname, undefined);
  assert.equal(dhcp('/run/netns/r1', 'dhcp')?.hostname, undefined);
  assert.equal(dhcp(`w${'x'.repeat(63)}`, 'dhcp')?.hostname, undefined);
  assert.equal(dhcp(`w${'x'.repeat(62)}`, 'dhcp')?.hostname, `w${'x'.repeat(62)}`);
  assert.equal(dhcp('web_1', 'dhcp')?.hostname, undefined);
  // DHCP takes no address and no gateway
  assert.deepEqual(
    [request('br0', 'web', 'dhcp').iface.addrs, request('br0', 'web', 'dhcp').iface.gateways],
    [[], []],
  );
  // a word that only starts like a client is an address (and refused as one)
  assert.equal(refusal('br0', 'web', 'dhcpx')[0], 'E_BAD_CIDR');
  assert.equal(refusal('br0', 'web', 'xdhcp')[0], 'E_BAD_CIDR');
});

test('route, rule and tc pass their arguments through; --wait takes only -i', () => {
  assert.deepEqual(parsePipework(['route', 'web', 'add', 'default', 'via', '192.0.2.1']), {
    kind: 'route',
    target: { kind: 'bare', name: 'web' },
    args: ['add', 'default', 'via', '192.0.2.1'],
  });
  assert.deepEqual(parsePipework(['rule', 'pid:4', 'list']), {
    kind: 'rule',
    target: { kind: 'pid', pid: 4 },
    args: ['list'],
  });
  assert.deepEqual(parsePipework(['route', 'web']), {
    kind: 'route',
    target: { kind: 'bare', name: 'web' },
    args: [],
  });
  assert.deepEqual(parsePipework(['--wait']), { kind: 'wait', ifname: 'eth1' });
  assert.deepEqual(parsePipework(['--wait', '-i', 'lan0']), { kind: 'wait', ifname: 'lan0' });
  // with --direct-phys, "route" is a host interface name
  assert.equal(parsePipework(['--direct-phys', 'route', 'web', '192.0.2.10/24']).kind, 'attach');
});

test('usage refusals name what is missing or extra, with the syntax as the fix', () => {
  const cases: [string[], unknown[]][] = [
    [[], ['E_USAGE', 'pipework syntax', 'pipework syntax: missing host interface', usage]],
    [['--direct-phys'], ['E_USAGE', 'pipework syntax', 'pipework syntax: missing host interface', usage]],
    [['route'], ['E_USAGE', 'pipework syntax', 'pipework syntax: route needs a guest', usage]],
    [['tc'], ['E_USAGE', 'pipework syntax', 'pipework syntax: tc needs a guest', usage]],
    [
      ['tc', 'web'],
      [
        'E_USAGE',
        'pipework syntax',
        'pipework syntax: tc needs arguments',
        'e.g. pipefitter tc web qdisc show, or pipefitter tc web qdisc add dev eth1 root tbf rate 1mbit burst 32kbit latency 400ms',
      ],
    ],
    [
      ['--wait', '-i'],
      ['E_USAGE', 'pipework syntax', 'pipework syntax: -i needs a container interface name', usage],
    ],
    [
      ['--wait', 'x'],
      ['E_USAGE', 'pipework syntax', 'pipework syntax "x": --wait takes only [-i containerinterface]', usage],
    ],
    [
      ['br0', '-i'],
      ['E_USAGE', 'pipework syntax', 'pipework syntax: -i needs a value', usage],
    ],
    [
      ['br0', '-l'],
      ['E_USAGE', 'pipework syntax', 'pipework syntax: -l needs a value', usage],
    ],
    [
      ['br0', '-a', '5', 'web', '192.0.2.10/24'],
      ['E_BAD_VALUE', '-a', '-a "5": unknown address family', 'use 4 or 6'],
    ],
    [
      ['br0', 'web'],
      [
        'E_USAGE',
        'pipework syntax',
        'pipework syntax: missing <guest> and <ipaddr>/<subnet> (or dhcp)',
        usage,
      ],
    ],
    [
      ['br0', 'web', '192.0.2.10/24', 'mac', 'extra', 'more'],
      ['E_USAGE', 'pipework syntax', 'pipework syntax "extra more": too many arguments', usage],
    ],
    [
      ['br0', '-a', '4', 'web', 'dhcp'],
      ['E_USAGE', 'pipework syntax', 'pipework syntax: -a applies to static addresses, not DHCP', usage],
    ],
    [
      ['--direct-phys', 'eth3', 'web', '192.0.2.10/24', '@5'],
      ['E_USAGE', 'pipework syntax', 'pipework syntax: --direct-phys takes no -l and no @vlan', usage],
    ],
    [
      ['--direct-phys', 'eth3', '-l', 'x', 'web', '192.0.2.10/24'],
      ['E_USAGE', 'pipework syntax', 'pipework syntax: --direct-phys takes no -l and no @vlan', usage],
    ],
    [
      ['br0', 'web', 'dhcp-f'],
      [
        'E_USAGE',
        'ipaddr',
        'ipaddr "dhcp-f": "dhcp" has no -f form',
        'use udhcpc-f or dhclient-f to keep the client running',
      ],
    ],
    [
      ['br0', 'web', 'dhcpcd-f:-x'],
      [
        'E_USAGE',
        'ipaddr',
        'ipaddr "dhcpcd-f:-x": "dhcpcd" has no -f form',
        'use udhcpc-f or dhclient-f to keep the client running',
      ],
    ],
  ];
  for (const [argv, expected] of cases) assert.deepEqual(refusal(...argv), expected, argv.join(' '));
  // the fields of the values pipework named
  assert.equal(refusal('br0', 'web', '192.0.2.10/24', '@0')[1], '@vlan');
  assert.equal(refusal('br0', 'web', '192.0.2.10/24', 'zz')[1], 'macaddr');
  assert.equal(refusal('br0', 'web', '192.0.2.10/24@gw')[1], 'default_gateway');
  assert.equal(refusal('br0', 'web', 'x/24')[1], 'ipaddr');
  assert.equal(refusal('br0', '-a', '6', 'web', '192.0.2.10/24')[0], 'E_FAMILY');
  assert.equal(refusal('br0', 'web', '2001:db8::10/64@192.0.2.1')[0], 'E_FAMILY');
  assert.equal(refusal('mac:zz', 'web', '192.0.2.10/24')[1], 'mac:hostinterface');
  assert.equal(refusal('br/0', 'web', '192.0.2.10/24')[1], 'hostinterface');
  assert.equal(refusal('br0', '-i', 'a b', 'web', '192.0.2.10/24')[1], '-i');
  assert.equal(refusal('br0', '-l', 'a b', 'web', '192.0.2.10/24')[1], '-l');
  assert.equal(refusal('br0', 'we b', '192.0.2.10/24')[1], 'guest');
});
