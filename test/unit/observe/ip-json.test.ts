import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeLinks, decodeRoutes } from '../../../src/observe/ip-json.js';
import { decodeTag } from '../../../src/model/owner.js';

// Captured with `ip -d -j addr show` / `ip -d -j route show table all` (iproute2 6.1.0, Linux 6.x).
const fx = (name: string): string =>
  readFileSync(new URL(`../../fixtures/ip-json/iproute2-6.1.0/${name}`, import.meta.url), 'utf8');

test('host: a pipefitter bridge and its tagged port', () => {
  const links = decodeLinks(fx('host-addr.json'));
  const br = links.find((l) => l.name === 'br-lab');
  assert.equal(br?.kind, 'bridge');
  assert.equal(decodeTag(br?.alias)?.kind, 'bridge');
  assert.deepEqual(
    br?.addrs.filter((a) => a.scope === 'global').map((a) => `${a.address}/${a.prefix}`),
    ['192.0.2.1/24'],
  );
  const port = links.find((l) => l.master === 'br-lab');
  assert.equal(port?.kind, 'veth');
  assert.equal(decodeTag(port?.alias)?.kind, 'veth-host');
  assert.equal(port?.up, true);
});

test('container: veth with both families, routes of the main table only', () => {
  const links = decodeLinks(fx('veth-container-addr.json'));
  const eth1 = links.find((l) => l.name === 'eth1');
  assert.equal(eth1?.kind, 'veth');
  assert.equal(typeof eth1?.linkNetnsid, 'number');
  assert.deepEqual(eth1?.addrs.map((a) => [a.family, a.address, a.prefix, a.scope]).slice(0, 2), [
    [4, '192.0.2.10', 24, 'global'],
    [6, '2001:db8::10', 64, 'global'],
  ]);
  // the flags `ip addr add` can set again: a moved NIC's addresses go home with them
  assert.deepEqual(
    eth1?.addrs.map((a) => a.flags ?? []),
    eth1?.addrs.map((a) => (a.address === '2001:db8::10' ? ['nodad'] : [])),
  );
  const routes = decodeRoutes(fx('veth-container-route.json'));
  assert.ok(routes.every((r) => r.type !== 'local' && r.type !== 'broadcast'));
  const def = routes.filter((r) => r.dst === 'default');
  assert.deepEqual(
    def.map((r) => [r.family, r.gateway, r.dev]),
    [[4, '192.0.2.1', 'eth1']],
  );
  const extra = routes.find((r) => r.dst === '198.51.100.0/24');
  assert.equal(extra?.gateway, '192.0.2.254');
});

test('container: macvlan mode and an IPv6 default route with its metric', () => {
  const links = decodeLinks(fx('macvlan-container-addr.json'));
  const mv = links.find((l) => l.name === 'mv0');
  assert.equal(mv?.kind, 'macvlan');
  assert.equal(mv?.macvlanMode, 'private');
  const routes = decodeRoutes(fx('macvlan-container-route.json'));
  const def6 = routes.find((r) => r.dst === 'default' && r.family === 6);
  assert.equal(def6?.gateway, '2001:db8:1::1');
  assert.equal(def6?.metric, 1024);
});

test('junk in, nothing out; malformed JSON is an internal error', () => {
  assert.deepEqual(decodeLinks('[{"foo":1}, 3, null]'), []);
  assert.deepEqual(decodeLinks(''), []);
  assert.throws(() => decodeLinks('{not json'), /internal: cannot parse/);
});
