/** A table of recipe mistakes: each is refused with its file:line:col, the field, and the fix. */
import { base } from '../../helpers/recipe-text.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recipeFromText } from '../../../src/recipe/load.js';
import { isPipefitterError } from '../../../src/errors.js';

// [what is wrong, recipe text, line, col, message part, hint part]
export const CASES: [string, string, number, number, RegExp, RegExp][] = [
  ['YAML syntax', 'version: 1\nnetworks: [a\n', 3, 1, /flow sequence|Missing|expected/i, /YAML syntax/],
  ['duplicate key', 'version: 1\nversion: 1\n', 2, 1, /unique/i, /unique keys/],
  ['not a mapping', '- a\n- b\n', 1, 1, /mapping/, /version: 1/],
  ['missing version', 'networks: {}\n', 1, 1, /"version" is required/, /add version/],
  ['wrong version', 'version: 2\n', 1, 10, /unsupported version 2/, /version: 1/],
  ['unknown top-level key', 'version: 1\nnetwork: {}\n', 2, 1, /unknown key "network"/, /spelling/],
  [
    'unknown key in an interface',
    base.replace('address: 192.0.2.10 }', 'adress: 192.0.2.10 }'),
    8,
    29,
    /unknown key "adress"/,
    /spelling/,
  ],
  [
    'wrong type',
    base.replace('network: lan,', 'network: lan, mtu: big,'),
    8,
    34,
    /expected number, got "big"/,
    /.*/,
  ],
  [
    'address without a valid IP',
    base.replace('192.0.2.10 }', '192.0.2.300 }'),
    8,
    38,
    /not an IPv4 or IPv6 address/,
    /address\/prefix/,
  ],
  [
    'address outside the subnet',
    base.replace('192.0.2.10 }', '198.51.100.10/24 }'),
    8,
    38,
    /outside the network's subnet 192\.0\.2\.0\/24/,
    /use an address in/,
  ],
  [
    'unknown network',
    base.replace('network: lan,', 'network: wan,'),
    8,
    24,
    /no network "wan"/,
    /declare it under networks/,
  ],
  [
    'interface name too long',
    base.replace('eth1:', 'averyveryverylongname:'),
    8,
    7,
    /at most 15/,
    /1-15 bytes/,
  ],
  ['interface name with "/"', base.replace('eth1:', '"eth/1":'), 8, 7, /contains "\/"/, /letters, digits/],
  ['bad target', base.replace('netns:web', 'pid:zero'), 6, 13, /not a process id/, /pid:N/],
  [
    'the same target twice',
    `${base}  db:\n    target: netns:web\n`,
    10,
    13,
    /same target as container "web"/,
    /its own target/,
  ],
  [
    'network with bridge and parent',
    base.replace('bridge: br-lan,', 'bridge: br-lan, parent: eth0,'),
    3,
    8,
    /exactly one of "bridge" or "parent"/,
    /bridge: NAME/,
  ],
  [
    'gateway outside the subnet',
    base.replace('gateway: 192.0.2.1', 'gateway: 198.51.100.1'),
    3,
    57,
    /outside the subnet/,
    /inside the subnet/,
  ],
  [
    'auto without a pool',
    base.replace(', pool: 192.0.2.100-192.0.2.199', '').replace('192.0.2.10 }', 'auto }'),
    8,
    38,
    /needs a pool/,
    /add pool/,
  ],
  [
    'gateway: true without a network gateway',
    base.replace(', gateway: 192.0.2.1', '').replace('192.0.2.10 }', '192.0.2.10, gateway: true }'),
    8,
    59,
    /has no gateway/,
    /add gateway/,
  ],
  [
    'a gateway of a family the interface has no address of',
    base.replace('192.0.2.10 }', '192.0.2.10, gateway: "2001:db8::1" }'),
    8,
    59,
    /IPv6 gateway but no IPv6 address on this interface/,
    /give it an IPv6 address/,
  ],
  [
    'a gateway with no address at all',
    base.replace('address: 192.0.2.10 }', 'gateway: true }'),
    8,
    38,
    /IPv4 gateway but no IPv4 address/,
    /or drop gateway/,
  ],
  [
    'duplicate address',
    `${base}  db:\n    target: netns:db\n    interfaces:\n      eth1: { network: lan, address: 192.0.2.10 }\n`,
    12,
    38,
    /also given to web\.eth1/,
    /its own address/,
  ],
  [
    'bad MAC',
    base.replace('192.0.2.10 }', '192.0.2.10, mac: "01:00:5e:00:00:01" }'),
    8,
    55,
    /multicast MAC/,
    /unicast/,
  ],
  [
    'MTU out of range',
    base.replace('192.0.2.10 }', '192.0.2.10, mtu: 99999 }'),
    8,
    55,
    /out of range/,
    /68 to 65535/,
  ],
  [
    'VLAN out of range',
    base.replace('gateway: 192.0.2.1,', 'gateway: 192.0.2.1, vlan: 5000,'),
    3,
    74,
    /1-4094/,
    /1 to 4094/,
  ],
  [
    'unknown variable',
    base.replace('netns:web', 'netns:${prefix}web'),
    6,
    13,
    /unknown variable \$\{prefix\}/,
    /--set NAME=VALUE/,
  ],
  [
    'link to an unknown container',
    `${base}links:\n  - { a: web:eth2, b: db:eth2 }\n`,
    10,
    23,
    /no container "db"/,
    /declare it/,
  ],
  [
    'link end that clashes with an interface',
    `${base}  db: { target: netns:db }\nlinks:\n  - { a: web:eth1, b: db:eth1 }\n`,
    11,
    10,
    /already has an interface "eth1"/,
    /another name/,
  ],
  [
    'publish without nat',
    `${base}bridges:\n  br-lan: { publish: [{ port: 8080, to: "192.0.2.10:80" }] }\n`,
    10,
    23,
    /needs nat/,
    /add nat/,
  ],
  [
    'publish target without a port',
    `${base}bridges:\n  br-lan: { nat: { subnet: 192.0.2.0/24 }, publish: [{ port: 8080, to: "192.0.2.10" }] }\n`,
    10,
    72,
    /not ADDRESS:PORT/,
    /192\.0\.2\.10:80/,
  ],
  [
    'macvlan mode unknown',
    base.replace('bridge: br-lan,', 'parent: eth0, kind: macvlan, mode: weird,'),
    3,
    45,
    /unknown macvlan mode/,
    /bridge, private, vepa, passthru/,
  ],
  [
    'create on a docker target',
    base.replace('target: netns:web', 'target: docker:web\n    create: true'),
    7,
    13,
    /only netns:NAME targets can be made/,
    /netns:NAME/,
  ],
  [
    'two routes to one destination',
    base.replace(
      'address: 192.0.2.10 }',
      'address: 192.0.2.10,\n        routes: [{ to: 198.51.100.0/24, via: 192.0.2.254 }, { to: 198.51.100.0/24, via: 192.0.2.253 }] }',
    ),
    9,
    67,
    /a second route to 198\.51\.100\.0\/24 \(the first is routes\[0\]\)/,
    /different metrics/,
  ],
];

test(`at least 20 kinds of mistake (${CASES.length} here), each located and explained`, () => {
  assert.ok(CASES.length >= 20);
  for (const [what, text, line, col, message, hint] of CASES) {
    try {
      recipeFromText(text, 'lab.yaml');
      assert.fail(`accepted: ${what}`);
    } catch (e) {
      assert.ok(isPipefitterError(e), `${what}: ${String(e)}`);
      assert.equal(e.code, 'E_RECIPE', what);
      const first = e.issues?.[0];
      assert.ok(first, what);
      assert.match(e.message, /^lab\.yaml:\d+:\d+: /, what);
      assert.deepEqual(
        [first.line, first.col],
        [line, col],
        `${what}: at ${first.line}:${first.col} (${first.message})`,
      );
      assert.match(first.message, message, what);
      assert.match(first.hint ?? '', hint, `${what}: hint ${first.hint ?? '(none)'}`);
    }
  }
});

test('all problems are reported at once, not only the first', () => {
  try {
    recipeFromText(
      base.replace('network: lan,', 'network: wan,').replace('target: netns:web', 'target: "pid:x"'),
      'lab.yaml',
    );
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isPipefitterError(e));
    const msgs = (e.issues ?? []).map((i) => i.message).join('\n');
    assert.match(msgs, /no network "wan"/);
    assert.match(msgs, /not a process id/);
  }
});

test('variables, --set overrides, anchors and JSON', () => {
  const r = recipeFromText(
    `version: 1\nvars: { p: a }\nnetworks:\n  n: { bridge: "\${p}-br" }\ncontainers:\n  x: &c { target: "netns:\${p}-x", interfaces: { eth1: { network: n } } }\n  y: { <<: *c, target: "netns:\${p}-y" }\n`,
    'lab.yaml',
    { set: { p: 'b' } },
  );
  assert.deepEqual(
    r.containers.map((c) => c.target),
    [
      { kind: 'netns', name: 'b-x' },
      { kind: 'netns', name: 'b-y' },
    ],
  );
  assert.equal(r.containers[1]?.interfaces.length, 1, 'merged from the anchor');
  const j = recipeFromText(
    JSON.stringify({ version: 1, containers: { x: { target: 'netns:x' } } }),
    'lab.json',
  );
  assert.equal(j.name, 'lab');
});
