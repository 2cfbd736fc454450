import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetConf } from '../../../src/cni/config.js';
import { cniLeaseKey, cniPoolId, parseCniLeaseKey } from '../../../src/cni/lease.js';
import { CniError } from '../../../src/cni/types.js';
import { allocate, poolSize } from '../../../src/ipam/pool.js';

const base = { cniVersion: '1.1.0', name: 'lab', type: 'pipefitter', bridge: 'br-lab' };
const conf = (ipam: Record<string, unknown>) => parseNetConf(JSON.stringify({ ...base, ipam }));

const fails = (ipam: Record<string, unknown>): CniError => {
  try {
    conf(ipam);
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    assert.ok(e.details, `a fix is given for ${e.message}`);
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(ipam)}`);
};

test('"ipam": {"type": "pipefitter"} decodes in a recipe network\'s words: subnet, pool, gateway, routes', () => {
  const c = conf({
    type: 'pipefitter',
    subnet: '198.51.100.0/24',
    pool: '198.51.100.100-198.51.100.102',
    gateway: '198.51.100.1',
    routes: [{ dst: '0.0.0.0/0' }, { dst: '203.0.113.0/24', gw: '198.51.100.254' }],
  });
  const own = c.ipam?.own;
  assert.equal(c.ipam?.type, 'pipefitter');
  assert.ok(own);
  assert.equal(own.subnet, '198.51.100.0/24');
  assert.equal(own.gateway, '198.51.100.1');
  assert.equal(own.pool.text, '198.51.100.100-198.51.100.102');
  assert.equal(own.pool.prefix, 24);
  assert.equal(poolSize(own.pool), 3n);
  assert.deepEqual(own.routes, [{ dst: '0.0.0.0/0' }, { dst: '203.0.113.0/24', gw: '198.51.100.254' }]);
});

test('without a pool the whole subnet is handed out, never its network, broadcast or gateway', () => {
  const own = conf({ type: 'pipefitter', subnet: '198.51.100.0/30', gateway: '198.51.100.1' }).ipam?.own;
  assert.ok(own);
  assert.equal(poolSize(own.pool), 1n);
  assert.equal(allocate(own.pool, new Set()), '198.51.100.2');
  assert.equal(allocate(own.pool, new Set(['198.51.100.2'])), undefined);
  const v6 = conf({ type: 'pipefitter', subnet: '2001:db8:5::/64' }).ipam?.own;
  assert.equal(v6?.gateway, undefined);
  assert.deepEqual(v6?.routes, []);
  assert.equal(allocate(v6.pool, new Set()), '2001:db8:5::1');
});

test('a bad pipefitter IPAM configuration is error 7 naming the key and the fix', () => {
  const t = { type: 'pipefitter', subnet: '198.51.100.0/24' };
  const cases: [Record<string, unknown>, RegExp, RegExp][] = [
    [{ type: 'pipefitter' }, /^ipam\.subnet: missing/, /"subnet": "198\.51\.100\.0\/24"/],
    [{ ...t, subnet: 24 }, /^ipam\.subnet 24: not a CIDR string/, /"subnet"/],
    [
      { ...t, subnet: '198.51.100.7/24' },
      /^ipam\.subnet "198\.51\.100\.7\/24": host bits are set/,
      /198\.51\.100\.0\/24/,
    ],
    [{ ...t, subnet: 'lab' }, /^ipam\.subnet "lab"/, /./],
    [{ ...t, pool: 'lab' }, /^ipam\.pool "lab": not an address range or a CIDR/, /range/],
    [{ ...t, pool: 7 }, /^ipam\.pool 7: not a range or CIDR string/, /leave it out/],
    [
      { ...t, pool: '192.0.2.0/25' },
      /^ipam\.pool "192\.0\.2\.0\/25": the pool reaches outside/,
      /198\.51\.100\.0\/24/,
    ],
    [{ ...t, pool: '2001:db8::/64' }, /^ipam\.pool "2001:db8::\/64": IPv6 pool in the IPv4 subnet/, /inside/],
    [
      { ...t, gateway: '192.0.2.1' },
      /^ipam\.gateway "192\.0\.2\.1": not a host address of the subnet/,
      /inside 198\.51\.100\.0\/24/,
    ],
    [{ ...t, gateway: '198.51.100.255' }, /^ipam\.gateway "198\.51\.100\.255": not a host address/, /inside/],
    [{ ...t, gateway: 'router' }, /^ipam\.gateway "router"/, /./],
    [
      { ...t, gateway: ['198.51.100.1'] },
      /^ipam\.gateway \["198\.51\.100\.1"\]: not an address string/,
      /"gateway": "198\.51\.100\.1"/,
    ],
    [{ ...t, routes: {} }, /^ipam\.routes \{\}: not a list/, /"dst"/],
    [{ ...t, routes: [{ gw: '198.51.100.1' }] }, /^ipam\.routes\[0\]/, /"dst"/],
    [
      { ...t, ranges: [[{ subnet: '198.51.100.0/24' }]] },
      /^ipam\.ranges .*: a host-local key/,
      /"type": "pipefitter", "subnet"/,
    ],
    [{ ...t, dataDir: '/tmp/x' }, /^ipam\.dataDir "\/tmp\/x": a host-local key/, /"subnet"/],
  ];
  for (const [ipam, msg, fix] of cases) {
    const e = fails(ipam);
    assert.equal(e.code, 7, e.message);
    assert.match(e.message, msg);
    assert.match(e.details ?? '', fix, e.message);
  }
});

test('a CNI lease key names the network, container and interface, and never a recipe', () => {
  assert.equal(cniPoolId('lab'), 'cni:lab');
  const key = cniLeaseKey('lab.v2', 'c0ffee', 'eth1');
  assert.equal(key, 'cni:lab.v2/c0ffee/eth1');
  assert.deepEqual(parseCniLeaseKey(key), { network: 'lab.v2', containerId: 'c0ffee', ifname: 'eth1' });
  for (const recipeKey of ['lab/web/eth1', 'cni/web/eth1', 'cni:lab/web', 'cni:/a/b', 'cni:a/b/c/d'])
    assert.equal(parseCniLeaseKey(recipeKey), undefined, recipeKey);
});
