/**
 * The container side of `attach` and `link`: addresses, MTU, gateways, routes and DHCP, parsed
 * once at the edge; each refusal names the flag, the value, what is wrong and the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IfaceInput } from '../../../src/model/input.js';
import { parseIface } from '../../../src/model/input.js';
import { parseCidr, parseHostCidr, parseIp } from '../../../src/addr.js';
import { isPipefitterError } from '../../../src/errors.js';

const refusal = (i: IfaceInput, prefix?: string) => {
  try {
    parseIface(i, prefix);
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    return [e.code, e.field, e.message, e.hint];
  }
  throw new Error(`accepted: ${JSON.stringify(i)}`);
};

test('everything given: addresses, MTU, MAC, one gateway per family, routes in both spellings, DHCP off', () => {
  assert.deepEqual(
    parseIface({
      ifname: 'lan0',
      ip: ['192.0.2.10/24', '2001:db8::10/64'],
      gateway: ['192.0.2.1', '2001:db8::1'],
      route: [
        '198.51.100.0/24:192.0.2.254',
        '203.0.113.0/24@192.0.2.253',
        'default:192.0.2.1',
        '2001:db8:1::/48',
        '2001:db8:2::/48@2001:db8::2',
      ],
      mac: '02:00:00:00:00:10',
      mtu: '1400',
      announce: false,
    }),
    {
      dhcp: undefined,
      ifname: 'lan0',
      mac: '02:00:00:00:00:10',
      mtu: 1400,
      addrs: [parseHostCidr('192.0.2.10/24', 'x'), parseHostCidr('2001:db8::10/64', 'x')],
      gateways: [parseIp('192.0.2.1', 'x'), parseIp('2001:db8::1', 'x')],
      routes: [
        { dst: parseCidr('198.51.100.0/24', 'x'), via: parseIp('192.0.2.254', 'x') },
        { dst: parseCidr('203.0.113.0/24', 'x'), via: parseIp('192.0.2.253', 'x') },
        { dst: 'default', via: parseIp('192.0.2.1', 'x') },
        // an IPv6 network without a gateway: its colons are not a DST:VIA separator
        { dst: parseCidr('2001:db8:1::/48', 'x'), via: undefined },
        { dst: parseCidr('2001:db8:2::/48', 'x'), via: parseIp('2001:db8::2', 'x') },
      ],
      announce: false,
    },
  );
  // defaults: eth1, announced, nothing else
  assert.deepEqual(parseIface({}), {
    dhcp: undefined,
    ifname: 'eth1',
    mac: undefined,
    mtu: undefined,
    addrs: [],
    gateways: [],
    routes: [],
    announce: true,
  });
  // an empty via is no via
  assert.deepEqual(parseIface({ route: '198.51.100.0/24@' }).routes, [
    { dst: parseCidr('198.51.100.0/24', 'x'), via: undefined },
  ]);
});

test('DHCP: the client (true is the default one), its options, hostname, foreground and DNS', () => {
  assert.deepEqual(parseIface({ dhcp: true }).dhcp, {
    client: 'dhcp',
    foreground: false,
    options: [],
    hostname: undefined,
    dns: false,
  });
  assert.deepEqual(
    parseIface({
      dhcp: 'udhcpc',
      dhcpForeground: true,
      dhcpOption: ['-x', 'hostname:web'],
      dhcpHostname: 'web-1.lab',
      dhcpDns: true,
    }).dhcp,
    { client: 'udhcpc', foreground: true, options: ['-x', 'hostname:web'], hostname: 'web-1.lab', dns: true },
  );
  assert.equal(parseIface({ dhcp: false }).dhcp, undefined);
  assert.equal(
    parseIface({ dhcp: 'dhclient', dhcpHostname: `a${'b'.repeat(252)}` }).dhcp?.client,
    'dhclient',
  );
});

test('refusals: each names its flag (with the prefix of the peer side), the value, and the fix', () => {
  const cases: [IfaceInput, unknown[]][] = [
    [
      { ip: ['192.0.2.10/24', '192.0.2.10/24'] },
      ['E_BAD_VALUE', '--ip', '--ip "192.0.2.10/24": given twice', 'list each address once'],
    ],
    [
      { ip: '2001:db8::10/64', mtu: 1279 },
      [
        'E_MTU_RANGE',
        '--mtu',
        '--mtu "1279": IPv6 needs an MTU of at least 1280',
        'raise the MTU to 1280 or more, or drop the IPv6 address',
      ],
    ],
    [
      { ip: '192.0.2.10/24', gateway: ['192.0.2.1', '192.0.2.2'] },
      [
        'E_BAD_VALUE',
        '--gateway',
        '--gateway "192.0.2.2": a second IPv4 gateway',
        'give at most one gateway per IP family',
      ],
    ],
    [
      { ip: '192.0.2.10/24', gateway: '2001:db8::1' },
      [
        'E_FAMILY',
        '--gateway',
        '--gateway "2001:db8::1": IPv6 gateway but no IPv6 address on the interface',
        'add an IPv6 address with --ip, or drop the gateway',
      ],
    ],
    [
      { route: '@192.0.2.1' },
      [
        'E_BAD_ROUTE',
        '--route',
        '--route "@192.0.2.1": route destination missing',
        'write DST:VIA, e.g. 198.51.100.0/24:192.0.2.254',
      ],
    ],
    [
      { route: '198.51.100.0/24@2001:db8::1' },
      [
        'E_FAMILY',
        '--route',
        '--route "198.51.100.0/24@2001:db8::1": destination and gateway are of different IP families',
        'use an IPv4 gateway for an IPv4 destination, IPv6 for IPv6',
      ],
    ],
    [
      { route: ['198.51.100.0/24:192.0.2.1', '198.51.100.7/24@192.0.2.2'] },
      [
        'E_BAD_ROUTE',
        '--route',
        '--route "198.51.100.7/24@192.0.2.2": a second route to 198.51.100.0/24 (the first is "198.51.100.0/24:192.0.2.1")',
        'give each destination once; for a default route use --gateway',
      ],
    ],
    [
      { route: ['default:192.0.2.1', 'default@192.0.2.2'] },
      [
        'E_BAD_ROUTE',
        '--route',
        '--route "default@192.0.2.2": a second route to default (the first is "default:192.0.2.1")',
        'give each destination once; for a default route use --gateway',
      ],
    ],
    [
      { dhcp: 'dhcp', ip: '192.0.2.10/24' },
      [
        'E_USAGE',
        '--dhcp',
        '--dhcp "dhcp": DHCP gives the address and gateway; --ip and --gateway cannot be added',
        'drop --ip/--gateway, or drop --dhcp',
      ],
    ],
    [
      { dhcp: true, gateway: '192.0.2.1' },
      [
        'E_USAGE',
        '--dhcp',
        '--dhcp "dhcp": DHCP gives the address and gateway; --ip and --gateway cannot be added',
        'drop --ip/--gateway, or drop --dhcp',
      ],
    ],
    [
      { dhcp: 'pump' },
      [
        'E_BAD_VALUE',
        '--dhcp',
        '--dhcp "pump": unknown DHCP client',
        'use one of: dhcp, udhcpc, dhclient, dhcpcd',
      ],
    ],
    [
      { dhcp: true, dhcpHostname: '-web' },
      [
        'E_BAD_VALUE',
        '--dhcp-hostname',
        '--dhcp-hostname "-web": not a host name',
        'use letters, digits, "-" and "."',
      ],
    ],
    [
      { dhcp: true, dhcpHostname: `a${'b'.repeat(253)}` },
      [
        'E_BAD_VALUE',
        '--dhcp-hostname',
        `--dhcp-hostname "a${'b'.repeat(253)}": not a host name`,
        'use letters, digits, "-" and "."',
      ],
    ],
    [
      { dhcp: true, dhcpHostname: 'web_1' },
      [
        'E_BAD_VALUE',
        '--dhcp-hostname',
        '--dhcp-hostname "web_1": not a host name',
        'use letters, digits, "-" and "."',
      ],
    ],
  ];
  for (const [input, expected] of cases) assert.deepEqual(refusal(input), expected, JSON.stringify(input));
  // each --dhcp-* option without --dhcp
  for (const input of [
    { dhcpForeground: true },
    { dhcpOption: '-x' },
    { dhcpHostname: 'web' },
    { dhcpDns: true },
    { dhcp: false, dhcpDns: true },
  ] as IfaceInput[])
    assert.deepEqual(
      refusal(input),
      ['E_USAGE', '--dhcp', '--dhcp: the --dhcp-* options need --dhcp', 'add --dhcp'],
      JSON.stringify(input),
    );
  // the peer side of `link` names its own flags
  assert.deepEqual(refusal({ ip: ['192.0.2.1/24', '192.0.2.1/24'] }, 'peer-')[1], '--peer-ip');
  // an MTU of 1280 is enough for IPv6, and a low one is fine for IPv4 only
  assert.equal(parseIface({ ip: '2001:db8::10/64', mtu: 1280 }).mtu, 1280);
  assert.equal(parseIface({ ip: '192.0.2.10/24', mtu: 576 }).mtu, 576);
  // the same destination with another metric, or another family, is another route
  assert.equal(parseIface({ route: ['198.51.100.0/24:192.0.2.1', '2001:db8::/64'] }).routes.length, 2);
});
