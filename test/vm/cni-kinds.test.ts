/**
 * The CNI plugin's ways of attaching that this machine's kernel lacks, run in the kernel VM lane
 * (npm run test:vm): ipvlan with `mode`, `vlan` with `vlanId`, `bridge` with `vlanId` (an access
 * port) and `trunk`, and `bridge` with `ovs` and `vlanId` (a tagged Open vSwitch port). Through
 * the plugin executable as a runtime runs it, read back with `ip -j -d`, `bridge -j vlan` and
 * ovs-vsctl: ADD makes the link asked with host-local's address and a result as the spec shapes
 * it; CHECK passes, then names drift; DEL leaves the host as it was; DEL again succeeds.
 * macvlan and phys are tested on the host: test/integration/cni-kinds.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { delAfter, detailedLink, expectError, expectOk, kindNet, runCni } from '../helpers/cni-invoke.js';
import type { AddResult, DetailedLink, KindNet } from '../helpers/cni-invoke.js';
import { kernelSkip } from '../helpers/kernel.js';
import { ovsForTest } from '../helpers/ovs.js';
import { link, readState } from '../helpers/read-back.js';
import type { NsState } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';

/** Skipped only when the kernel probe finds a feature missing (never in the VM lane). */
const kindTest = async (
  name: string,
  features: readonly string[],
  fn: (t: TestContext) => Promise<void>,
): Promise<void> => {
  const skip = await kernelSkip(features, `test/vm/cni-kinds.test.ts '${name}'`);
  void test(name, { timeout: 600_000, skip }, fn);
};

const bridgeVlans = async (port: string): Promise<[number, string][]> => {
  const j = JSON.parse((await execa('bridge', ['-j', 'vlan', 'show', 'dev', port])).stdout) as {
    vlans: { vlan: number; flags?: string[] }[];
  }[];
  return (j[0]?.vlans ?? []).map((v) => [v.vlan, (v.flags ?? []).sort().join(',')]);
};

/** The host's links and routes without Open vSwitch's datapath device (there once a bridge was). */
const hostState = async (): Promise<NsState> => {
  const s = await readState('sandbox');
  return { ...s, links: s.links.filter((l) => l.name !== 'ovs-system') };
};

interface Round {
  readonly n: KindNet;
  readonly netns: string;
  readonly keys: Record<string, unknown>;
  /** How many host-side interfaces the result lists before the container's. */
  readonly hostIfaces: number;
  /** More checks of what ADD made. */
  readonly made: (eth0: DetailedLink, res: AddResult) => void | Promise<void>;
  /** host-local's leases while it is there. @default ['198.51.100.2'] */
  readonly leases?: readonly string[];
}

/**
 * ADD, read back, CHECK, drift (the MTU inside changed), DEL twice, the host as before. As few
 * plugin runs as show it: each is a node start under TCG (the host tests repair and CHECK again).
 */
const roundTrip = async (r: Round): Promise<void> => {
  const { n, netns, keys } = r;
  const before = await hostState();
  const add = await runCni(n.env('ADD', netns, netns), n.conf(keys));
  expectOk(add, 'ADD');
  const res = add.out as unknown as AddResult;
  assert.equal(res.cniVersion, '1.1.0');
  assert.equal(res.interfaces.length, r.hostIfaces + 1, JSON.stringify(res.interfaces));
  res.interfaces.slice(0, r.hostIfaces).forEach((i) => assert.equal(i.sandbox, undefined, i.name));
  const inside = res.interfaces[r.hostIfaces]!;
  assert.equal(inside.name, 'eth0');
  assert.equal(inside.sandbox, `/run/netns/${netns}`);
  const leased = r.leases ?? ['198.51.100.2'];
  const address = `${leased[leased.length - 1]}/24`;
  assert.deepEqual(res.ips, [{ address, gateway: '198.51.100.1', interface: r.hostIfaces }]);
  const eth0 = await detailedLink({ netns }, 'eth0');
  assert.ok(eth0, 'eth0 in the container');
  assert.equal(eth0.address, inside.mac);
  assert.equal(eth0.mtu, inside.mtu);
  assert.ok(eth0.flags.includes('UP'));
  assert.deepEqual(
    link(await readState({ netns }), 'eth0')?.addrs.filter((a) => !a.startsWith('fe80')),
    [address],
  );
  assert.deepEqual(await n.leases(), leased);
  await r.made(eth0, res);

  const check = () => runCni(n.env('CHECK', netns, netns), n.conf(keys, { prevResult: res }));
  expectOk(await check(), 'CHECK as ADD left it');
  await execa('ip', ['-n', netns, 'link', 'set', 'eth0', 'mtu', '1280']);
  expectError(await check(), 104, /^interface "eth0" in \S+: MTU 1280, the result says/, 'MTU drift');

  for (let i = 1; i <= 2; i++) expectOk(await runCni(n.env('DEL', netns, netns), n.conf(keys)), `DEL #${i}`);
  assert.equal(link(await readState({ netns }), 'eth0'), undefined);
  assert.deepEqual(await hostState(), before, 'the host as before');
  assert.deepEqual(await n.leases(), leased.slice(0, -1));
};

/**
 * roundTrip of a link on a host NIC (named after `x`) into a namespace (`x1`): `keys` name the
 * NIC as the parent, `made` checks the link against the parent as it was.
 */
const roundTripOnParent = (
  t: TestContext,
  x: string,
  keys: (nic: string) => Record<string, unknown>,
  made: (eth0: DetailedLink, parent: DetailedLink | undefined) => void,
): Promise<void> =>
  withSandbox(t, async (sb) => {
    const n = await kindNet(t, sb);
    const nic = await sb.hostNic(x);
    const c = await sb.netns(`${x}1`);
    const parent = await detailedLink('sandbox', nic);
    await roundTrip({ n, netns: c, keys: keys(nic), hostIfaces: 0, made: (eth0) => made(eth0, parent) });
  });

await kindTest('ipvlan with mode l3: an ipvlan of that mode on the parent; CHECK; DEL', ['ipvlan'], (t) =>
  roundTripOnParent(
    t,
    'i',
    (nic) => ({ ipvlan: nic, mode: 'l3', mtu: 1400 }),
    (eth0, parent) => {
      assert.equal(eth0.linkinfo?.info_kind, 'ipvlan');
      assert.equal(eth0.linkinfo.info_data?.mode, 'l3');
      assert.equal(eth0.link_index, parent?.ifindex, 'on the parent');
      assert.equal(eth0.mtu, 1400);
      assert.equal(eth0.address, parent?.address, "an ipvlan has its parent's MAC");
    },
  ),
);

await kindTest('vlan with vlanId: an 802.1Q interface on the parent; CHECK; DEL', ['vlan'], (t) =>
  roundTripOnParent(
    t,
    'v',
    (nic) => ({ vlan: nic, vlanId: 42, mac: '02:00:c6:33:64:2a' }),
    (eth0, parent) => {
      assert.equal(eth0.linkinfo?.info_kind, 'vlan');
      assert.equal(eth0.linkinfo.info_data?.id, 42);
      assert.equal(eth0.linkinfo.info_data?.protocol, '802.1Q');
      assert.equal(eth0.link_index, parent?.ifindex, 'on the parent');
      assert.equal(eth0.address, '02:00:c6:33:64:2a');
    },
  ),
);

await kindTest(
  'bridge with vlanId (access port) and with trunk: the port carries those VLANs; CHECK; DEL',
  ['bridge-vlan'],
  (t) =>
    withSandbox(t, async (sb) => {
      const n = await kindNet(t, sb);
      const br = `br${sb.id}`;
      const [a, b] = [await sb.netns('b1'), await sb.netns('b2')];
      const portOf = (res: AddResult): string => res.interfaces[1]!.name;
      // b: a trunk port carrying 10 and 20 tagged, there through a's whole round trip
      const trunk = { bridge: br, trunk: [10, 20] };
      delAfter(t, n, n.conf(trunk), [[b, b]]);
      const addB = await runCni(n.env('ADD', b, b), n.conf(trunk));
      expectOk(addB, 'ADD with trunk');
      const resB = addB.out as unknown as AddResult;
      assert.equal(link(await readState('sandbox'), portOf(resB))?.master, br);
      assert.deepEqual(await bridgeVlans(portOf(resB)), [
        [10, ''],
        [20, ''],
      ]);
      const bd = await detailedLink('sandbox', br);
      assert.equal(bd?.linkinfo?.info_data?.vlan_filtering, 1, 'VLAN filtering on');
      // a: an access port of VLAN 10
      await roundTrip({
        n,
        netns: a,
        keys: { bridge: br, vlanId: 10 },
        hostIfaces: 2,
        made: async (eth0, res) => {
          assert.equal(eth0.linkinfo?.info_kind, 'veth');
          assert.equal(res.interfaces[0]!.name, br);
          assert.equal(link(await readState('sandbox'), portOf(res))?.master, br);
          assert.deepEqual(await bridgeVlans(portOf(res)), [[10, 'Egress Untagged,PVID']]);
        },
        leases: ['198.51.100.2', '198.51.100.3'],
      });
      expectOk(await runCni(n.env('DEL', b, b), n.conf(trunk)), 'DEL of the trunk port');
      assert.equal(link(await readState('sandbox'), br), undefined, 'the bridge pipefitter made is gone');
    }),
);

await kindTest(
  'bridge with ovs and vlanId: a port of that tag on an Open vSwitch bridge; CHECK; DEL removes port and bridge',
  ['openvswitch'],
  (t) =>
    withSandbox(t, async (sb) => {
      // the plugin's ovs-vsctl finds this database through OVS_RUNDIR (kindNet passes it on)
      const ovs = await ovsForTest(t);
      const n = await kindNet(t, sb);
      const br = `ovs${sb.id}`;
      const c = await sb.netns('o1');
      await roundTrip({
        n,
        netns: c,
        keys: { bridge: br, ovs: true, vlanId: 30 },
        hostIfaces: 2,
        made: async (eth0, res) => {
          assert.equal(eth0.linkinfo?.info_kind, 'veth');
          assert.equal(res.interfaces[0]!.name, br, 'the Open vSwitch bridge is in the result');
          assert.equal(res.interfaces[0]!.mac, (await detailedLink('sandbox', br))?.address);
          const port = res.interfaces[1]!.name;
          assert.equal((await ovs.vsctl('port-to-br', port)).trim(), br);
          assert.equal((await ovs.vsctl('get', 'port', port, 'tag')).trim(), '30');
        },
      });
      assert.equal((await ovs.vsctl('list-br')).trim(), '', 'the bridge pipefitter made is gone');
    }),
);
