/**
 * The CNI plugin's ways of attaching other than a plain bridge, through the plugin executable
 * as a runtime runs it (SPEC.md section 2): macvlan (with `mode`, `mtu`, `mac`, `routes`,
 * `gateway`) and phys (a host device moved in and brought home). Each is read back from the
 * kernel with `ip -j -d`: ADD makes the link of the right kind, parent, mode, MTU and MAC with
 * host-local's address, and a result as the spec shapes it; CHECK passes, then names drift; DEL
 * leaves the host as it was (the macvlan's parent untouched, the device home under its own
 * name) and is idempotent. The kinds this kernel lacks (ipvlan, 802.1Q VLAN, bridge VLAN
 * filtering, Open vSwitch) are tested the same way in the kernel VM lane: test/vm/cni-kinds.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { delAfter, detailedLink, expectError, expectOk, kindNet, runCni } from '../helpers/cni-invoke.js';
import type { AddResult, DetailedLink, KindNet } from '../helpers/cni-invoke.js';
import { link, readState, routes } from '../helpers/read-back.js';
import type { NsState } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';
import type { Sandbox } from '../helpers/sandbox.js';

const MAC = '02:00:c6:33:64:0a';

/** One test's network, host NIC (named after `x`) and container namespace (`x1`). */
const setUp = async (t: { after: (fn: () => unknown) => void }, sb: Sandbox, x: string) => ({
  n: await kindNet(t, sb),
  nic: await sb.hostNic(x),
  c: await sb.netns(`${x}1`),
});

/**
 * ADD of `keys` for the container `id` in `c` (DEL after the test, whatever it left), the host
 * and its NIC read before it.
 */
const addFirst = async (
  t: { after: (fn: () => unknown) => void },
  n: KindNet,
  at: { c: string; id: string; nic: string },
  keys: Record<string, unknown>,
) => {
  delAfter(t, n, n.conf(keys), [[at.c, at.id]]);
  const nicBefore = await detailedLink('sandbox', at.nic);
  const hostBefore = await readState('sandbox');
  const add = await runCni(n.env('ADD', at.c, at.id), n.conf(keys));
  expectOk(add, 'ADD');
  return { res: add.out as unknown as AddResult, nicBefore, hostBefore };
};

/** After DEL: no eth0 in the container, the host and its NIC as `before`, no lease. */
const expectReleased = async (
  n: KindNet,
  c: string,
  before: { host: NsState; nic: string; link: DetailedLink | undefined; what: string },
): Promise<void> => {
  assert.equal(link(await readState({ netns: c }), 'eth0'), undefined);
  assert.deepEqual(await readState('sandbox'), before.host, 'the host as before');
  assert.deepEqual(await detailedLink('sandbox', before.nic), before.link, before.what);
  assert.deepEqual(await n.leases(), []);
};

test('macvlan: ADD makes a macvlan of the mode, MTU and MAC asked on the parent; CHECK; DEL leaves the parent as it was', async (t) => {
  await withSandbox(t, async (sb) => {
    const { n, nic, c } = await setUp(t, sb, 'm');
    const keys = {
      macvlan: nic,
      mode: 'private',
      mtu: 1400,
      mac: MAC,
      routes: [{ dst: '192.0.2.0/24', gw: '198.51.100.254' }],
      gateway: '198.51.100.1',
    };
    const { res, nicBefore: parentBefore, hostBefore } = await addFirst(t, n, { c, id: 'm1', nic }, keys);
    assert.equal(res.cniVersion, '1.1.0');
    // nothing on the host is pipefitter's: the one interface is the container's
    assert.deepEqual(res.interfaces, [{ name: 'eth0', mac: MAC, mtu: 1400, sandbox: `/run/netns/${c}` }]);
    assert.deepEqual(res.ips, [{ address: '198.51.100.2/24', gateway: '198.51.100.1', interface: 0 }]);
    assert.deepEqual(res.routes, [{ dst: '203.0.113.0/24' }, { dst: '192.0.2.0/24', gw: '198.51.100.254' }]);

    const eth0 = await detailedLink({ netns: c }, 'eth0');
    assert.equal(eth0?.linkinfo?.info_kind, 'macvlan');
    assert.equal(eth0.linkinfo.info_data?.mode, 'private');
    assert.equal(eth0.link_index, parentBefore?.ifindex, 'its parent is the NIC');
    assert.equal(eth0.mtu, 1400);
    assert.equal(eth0.address, MAC);
    assert.ok(eth0.flags.includes('UP'));
    const inside = await readState({ netns: c });
    assert.deepEqual(
      link(inside, 'eth0')?.addrs.filter((a) => !a.startsWith('fe80')),
      ['198.51.100.2/24'],
    );
    const rs = routes(inside).map(
      (r) => `${r.dst} ${(r.gateway as string | undefined) ?? ''} ${r.dev as string}`,
    );
    for (const want of [
      'default 198.51.100.1 eth0',
      '203.0.113.0/24 198.51.100.1 eth0',
      '192.0.2.0/24 198.51.100.254 eth0',
    ])
      assert.ok(rs.includes(want), `${want} in ${JSON.stringify(rs)}`);
    assert.deepEqual(await n.leases(), ['198.51.100.2']);
    // untouched by pipefitter (the kernel counts the macvlan in the parent's promiscuity while it is there)
    assert.deepEqual(
      { ...(await detailedLink('sandbox', nic)), promiscuity: undefined },
      { ...parentBefore, promiscuity: undefined },
      'the parent is untouched',
    );

    const check = () => runCni(n.env('CHECK', c, 'm1'), n.conf(keys, { prevResult: res }));
    const good = await check();
    expectOk(good, 'CHECK as ADD left it');
    assert.equal(good.stdout, '');
    // the configuration against the link: its mode, its parent
    expectError(
      await runCni(n.env('CHECK', c, 'm1'), n.conf({ ...keys, mode: 'bridge' }, { prevResult: res })),
      104,
      /^interface "eth0" in \/run\/netns\/\S+: macvlan mode private, the configuration says bridge$/,
      'mode drift',
    );
    await execa('ip', ['-n', c, 'link', 'set', 'eth0', 'mtu', '1300']);
    expectError(
      await check(),
      104,
      /^interface "eth0" in \/run\/netns\/\S+: MTU 1300, the result says 1400/,
      'MTU drift',
    );
    await execa('ip', ['-n', c, 'link', 'set', 'eth0', 'mtu', '1400']);
    await execa('ip', ['-n', c, 'addr', 'del', '198.51.100.2/24', 'dev', 'eth0']);
    expectError(await check(), 104, /^address 198\.51\.100\.2\/24 on "eth0" .*: missing/, 'address gone');

    for (let i = 1; i <= 2; i++) {
      const del = await runCni(n.env('DEL', c, 'm1'), n.conf(keys));
      expectOk(del, `DEL #${i}`);
      assert.equal(del.stdout, '');
    }
    await expectReleased(n, c, { host: hostBefore, nic, link: parentBefore, what: 'the parent as before' });
  });
});

test('macvlan: DEL after the namespace is gone (and again without CNI_NETNS) releases the lease; the parent as it was', async (t) => {
  await withSandbox(t, async (sb) => {
    const { n, nic, c } = await setUp(t, sb, 'g');
    const keys = { macvlan: nic };
    const hostBefore = await readState('sandbox');
    expectOk(await runCni(n.env('ADD', c, 'g1'), n.conf(keys)), 'ADD');
    assert.deepEqual(await n.leases(), ['198.51.100.2']);
    await execa('ip', ['netns', 'del', c]);
    for (const netns of [c, undefined])
      expectOk(
        await runCni(n.env('DEL', netns, 'g1'), n.conf(keys)),
        `DEL with CNI_NETNS ${netns ?? 'unset'}`,
      );
    assert.deepEqual(await n.leases(), []);
    assert.deepEqual(await readState('sandbox'), hostBefore, 'the host as before');
  });
});

test('phys: ADD moves the host device in as CNI_IFNAME with its MTU; CHECK; DEL brings it home under its own name', async (t) => {
  await withSandbox(t, async (sb) => {
    const { n, nic, c } = await setUp(t, sb, 'p');
    const keys = { phys: nic, mtu: 1400 };
    const { res, nicBefore: before, hostBefore } = await addFirst(t, n, { c, id: 'p1', nic }, keys);
    assert.equal(res.interfaces.length, 1, JSON.stringify(res.interfaces));
    assert.deepEqual(res.interfaces[0], {
      name: 'eth0',
      mac: before?.address,
      mtu: 1400,
      sandbox: `/run/netns/${c}`,
    });
    assert.deepEqual(res.ips, [{ address: '198.51.100.2/24', gateway: '198.51.100.1', interface: 0 }]);

    assert.equal(await detailedLink('sandbox', nic), undefined, 'gone from the host');
    const eth0 = await detailedLink({ netns: c }, 'eth0');
    assert.equal(eth0?.linkinfo?.info_kind, 'veth', 'the device itself');
    assert.equal(eth0.address, before?.address);
    assert.equal(eth0.mtu, 1400);
    assert.deepEqual(
      link(await readState({ netns: c }), 'eth0')?.addrs.filter((a) => !a.startsWith('fe80')),
      ['198.51.100.2/24'],
    );

    const check = () => runCni(n.env('CHECK', c, 'p1'), n.conf(keys, { prevResult: res }));
    expectOk(await check(), 'CHECK as ADD left it');
    await execa('ip', ['-n', c, 'link', 'set', 'eth0', 'address', '02:00:00:00:00:99']);
    expectError(
      await check(),
      104,
      /^interface "eth0" .*: MAC 02:00:00:00:00:99, the result says/,
      'MAC drift',
    );
    await execa('ip', ['-n', c, 'link', 'set', 'eth0', 'address', before!.address]);
    expectOk(await check(), 'CHECK once repaired');

    for (let i = 1; i <= 2; i++) expectOk(await runCni(n.env('DEL', c, 'p1'), n.conf(keys)), `DEL #${i}`);
    await expectReleased(n, c, {
      host: hostBefore,
      nic,
      link: before,
      what: 'home under its own name, MTU and MAC',
    });
  });
});

test('phys naming a missing device, two ways, mode on a bridge, a VLAN id out of range: error 7 naming the key, nothing touched', async (t) => {
  await withSandbox(t, async (sb) => {
    const { n, nic, c } = await setUp(t, sb, 'e');
    const hostBefore = await readState('sandbox');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ phys: `${nic}x` }, new RegExp(`^phys "${nic}x": no such interface on the host`)],
      [{ macvlan: `${nic}x` }, new RegExp(`^macvlan "${nic}x": no such interface on the host`)],
      [{ macvlan: nic, phys: nic }, /^macvlan, phys: only one way of attaching/],
      [{ bridge: 'br-x', mode: 'private' }, /^mode "private": only applies to macvlan and ipvlan/],
      [{ bridge: 'br-x', vlanId: 4095 }, /^vlanId "4095"/],
      [{ macvlan: nic, mode: 'l2' }, /^mode "l2"/],
    ];
    for (const [keys, msg] of cases) {
      const r = await runCni(n.env('ADD', c, 'e1'), n.conf(keys));
      expectError(r, 7, msg, JSON.stringify(keys));
      assert.deepEqual(await n.leases(), [], `${JSON.stringify(keys)}: no lease`);
      assert.deepEqual(await readState('sandbox'), hostBefore, `${JSON.stringify(keys)}: host as before`);
      assert.deepEqual(
        (await readState({ netns: c })).links.map((l) => l.name),
        ['lo'],
        `${JSON.stringify(keys)}: container as before`,
      );
    }
  });
});
