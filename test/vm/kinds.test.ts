/**
 * pipefitter's link kinds that this machine's kernel lacks, run in the kernel VM lane
 * (npm run test:vm): 802.1Q VLAN, ipvlan, macvlan on a shared PARENT.VLAN, bridge VLAN
 * filtering (access and trunk ports, the case pipework refused), a VLAN inside a container on
 * its trunk. Same round trip as the host's integration tests: dry run, a failure before every
 * step, apply, apply again, detach twice — all read back with ip -j.
 */
import assert from 'node:assert/strict';
import { release } from 'node:os';
import { test } from 'node:test';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { link, ping, readState } from '../helpers/read-back.js';
import { roundTrip } from '../helpers/round-trip.js';
import { sandboxSkipReason, withSandbox } from '../helpers/sandbox.js';
import { cli } from '../helpers/cli.js';

const skipReason = async (): Promise<string | undefined> => {
  if (process.env.PF_VM !== '1')
    return 'runs in the kernel VM lane only (npm run test:vm): this kernel lacks 8021q, ipvlan and bridge VLAN filtering';
  if (process.env.PF_VM_KERNEL && release() !== process.env.PF_VM_KERNEL)
    return `not the VM kernel (${release()})`;
  return sandboxSkipReason();
};
const skip = await skipReason();
if (skip) console.log(`# vm kinds skipped: ${skip}`);

const bridgeVlans = async (port: string): Promise<{ vlan: number; flags?: string[] }[]> => {
  const j = JSON.parse((await execa('bridge', ['-j', 'vlan', 'show', 'dev', port])).stdout) as {
    ifname: string;
    vlans: { vlan: number; flags?: string[] }[];
  }[];
  return j[0]?.vlans ?? [];
};

test('vlan: an 802.1Q interface on a host NIC, born inside the target', { skip, timeout: 300_000 }, (t) =>
  withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('v');
    const n = await sb.netns('v1');
    await roundTrip({
      input: { target: `netns:${n}`, vlan: nic, vlanId: 10, ifname: 'stor0', ip: '198.51.100.10/24' },
      spaces: ['sandbox', { netns: n }],
      detach: [{ target: `netns:${n}`, ifname: 'stor0' }],
      injectFailures: false, // the same executor path as macvlan, covered on the host
      check: ([, inside]) => {
        const l = link(inside!, 'stor0');
        assert.equal(l?.kind, 'vlan');
        assert.deepEqual(
          l?.addrs.filter((x) => !x.startsWith('fe80')),
          ['198.51.100.10/24'],
        );
      },
    });
  }),
);

test(
  'ipvlan l2 and l3: round trip; two ipvlan containers reach each other',
  { skip, timeout: 300_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      const nic = await sb.hostNic('i');
      const [a, b] = [await sb.netns('i1'), await sb.netns('i2')];
      await attach({ target: `netns:${b}`, ipvlan: nic, mode: 'l2', ip: '198.51.100.21/24' });
      await roundTrip({
        input: { target: `netns:${a}`, ipvlan: nic, mode: 'l2', ip: '198.51.100.20/24' },
        spaces: ['sandbox', { netns: a }],
        detach: [{ target: `netns:${a}`, ifname: 'eth1' }],
        injectFailures: false,
        check: async ([, inside]) => {
          assert.equal(link(inside!, 'eth1')?.kind, 'ipvlan');
          assert.ok(await ping({ netns: a }, '198.51.100.21'));
        },
      });
      await detach({ target: `netns:${b}` });
      const l3 = await attach({ target: `netns:${a}`, ipvlan: nic, mode: 'l3', ip: '198.51.100.30/24' });
      assert.ok(l3.applied);
      const j = JSON.parse((await execa('ip', ['-n', a, '-j', '-d', 'link', 'show', 'eth1'])).stdout) as {
        linkinfo: { info_data: { mode: string } };
      }[];
      assert.equal(j[0]?.linkinfo.info_data.mode, 'l3');
      await detach({ target: `netns:${a}` });
    }),
);

test(
  "pipework's eth … @10: macvlan on a shared PARENT.10, made once, removed with its last user",
  { skip, timeout: 300_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      const nic = await sb.hostNic('s');
      const [a, b] = [await sb.netns('s1'), await sb.netns('s2')];
      const sub = `${nic}.10`;
      await roundTrip({
        input: { target: `netns:${a}`, macvlan: nic, vlanId: 10, ip: '198.51.100.40/24' },
        spaces: ['sandbox', { netns: a }],
        detach: [{ target: `netns:${a}`, ifname: 'eth1' }],
        check: ([host]) => assert.equal(link(host!, sub)?.kind, 'vlan'),
        // the same executor and rollback as the bridge VLAN round trip below; TCG time is dear
        injectFailures: false,
      });
      await attach({ target: `netns:${a}`, macvlan: nic, vlanId: 10, ip: '198.51.100.40/24' });
      await attach({ target: `netns:${b}`, macvlan: nic, vlanId: 10, ip: '198.51.100.41/24' });
      assert.ok(await ping({ netns: a }, '198.51.100.41'), 'two containers on VLAN 10 reach each other');
      await detach({ target: `netns:${a}` });
      assert.ok(link(await readState('sandbox'), sub), 'still used by b');
      await detach({ target: `netns:${b}` });
      assert.equal(link(await readState('sandbox'), sub), undefined, 'gone with its last user');
    }),
);

test(
  'bridge VLAN filtering: same VLAN reaches, other VLAN does not; trunk + VLAN inside the container',
  { skip, timeout: 300_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      const br = sb.name('vb').slice(0, 15);
      const [a, b, c, d] = [
        await sb.netns('b1'),
        await sb.netns('b2'),
        await sb.netns('b3'),
        await sb.netns('b4'),
      ];
      await roundTrip({
        input: { target: `netns:${a}`, bridge: br, vlanId: 10, ip: '192.0.2.10/24' },
        spaces: ['sandbox', { netns: a }],
        detach: [{ target: `netns:${a}`, ifname: 'eth1' }],
        check: async ([host]) => {
          const port = host!.links.find((l) => l.master === br)!.name;
          const v = await bridgeVlans(port);
          assert.deepEqual(
            v.map((x) => [x.vlan, (x.flags ?? []).sort().join(',')]),
            [[10, 'Egress Untagged,PVID']],
          );
        },
      });
      await attach({ target: `netns:${a}`, bridge: br, vlanId: 10, ip: '192.0.2.10/24' });
      await attach({ target: `netns:${b}`, bridge: br, vlanId: 10, ip: '192.0.2.11/24' });
      await attach({ target: `netns:${c}`, bridge: br, vlanId: 20, ip: '192.0.2.12/24' });
      assert.ok(await ping({ netns: a }, '192.0.2.11'), 'same VLAN');
      assert.equal(await ping({ netns: a }, '192.0.2.12'), false, 'another VLAN');
      // d has a trunk carrying 10 and 20, and VLAN interfaces inside on it
      await attach({ target: `netns:${d}`, bridge: br, trunk: '10,20' });
      await attach({
        target: `netns:${d}`,
        vlan: 'eth1',
        inside: true,
        vlanId: 10,
        ifname: 'eth1.10',
        ip: '192.0.2.13/24',
      });
      await attach({
        target: `netns:${d}`,
        vlan: 'eth1',
        inside: true,
        vlanId: 20,
        ifname: 'eth1.20',
        ip: '198.51.100.13/24',
      });
      assert.ok(await ping({ netns: d }, '192.0.2.10'), 'trunk to VLAN 10');
      for (const [ns, ifname] of [
        [d, 'eth1.10'],
        [d, 'eth1.20'],
        [d, 'eth1'],
        [a, 'eth1'],
        [b, 'eth1'],
        [c, 'eth1'],
      ] as const)
        await detach({ target: `netns:${ns}`, ifname });
      assert.equal(link(await readState('sandbox'), br), undefined);
    }),
);

test(
  "pipework's @VLAN forms, verbatim: macvlan on NIC.10, and a port of VLAN 10 on a Linux bridge (which pipework refused)",
  { skip, timeout: 300_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      const nic = await sb.hostNic('w');
      const br = `br${sb.id}`;
      const [a, b, c] = [await sb.netns('w1'), await sb.netns('w2'), await sb.netns('w3')];
      assert.equal((await cli([nic, `netns:${a}`, '198.51.100.50/24', '@10'])).code, 0);
      assert.equal(link(await readState('sandbox'), `${nic}.10`)?.kind, 'vlan');
      assert.equal((await cli([br, `netns:${b}`, '192.0.2.50/24', '@10'])).code, 0);
      assert.equal((await cli([br, `netns:${c}`, '192.0.2.51/24', '02:00:00:00:00:51@10'])).code, 0);
      assert.ok(await ping({ netns: b }, '192.0.2.51'));
      const port = (await readState('sandbox')).links.find((l) => l.master === br)!.name;
      assert.deepEqual(
        (await bridgeVlans(port)).map((v) => v.vlan),
        [10],
      );
      for (const n of [a, b, c]) assert.equal((await cli(['detach', `netns:${n}`])).code, 0);
      const host = await readState('sandbox');
      assert.equal(link(host, `${nic}.10`), undefined);
      assert.equal(link(host, br), undefined);
    }),
);

test(
  'recipe: the VLAN trunk lab (router on a stick) — apply, again, status, drift, repair, destroy',
  { skip, timeout: 600_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      const set = ['--set', `ns=pf-${process.env.PF_RUN_ID ?? 'x'}-${sb.id}`, '--set', `p=v${sb.id}`];
      const ns = `pf-${process.env.PF_RUN_ID ?? 'x'}-${sb.id}`;
      const before = await readState('sandbox');
      assert.equal((await cli(['apply', 'recipes/vlan-trunk.yaml', ...set])).code, 0);
      assert.ok(
        await ping({ netns: `${ns}-h10` }, '198.51.100.10'),
        'VLAN 10 reaches VLAN 20 through the router',
      );
      assert.match((await cli(['apply', 'recipes/vlan-trunk.yaml', ...set])).stdout, /no changes/);
      await execa('ip', ['-n', `${ns}-rtr`, 'link', 'del', 'dev', 'eth1.20']);
      const st = JSON.parse((await cli(['status', 'recipes/vlan-trunk.yaml', ...set, '--json'])).stdout) as {
        inSync: boolean;
        drift: { what: string }[];
      };
      assert.equal(st.inSync, false);
      assert.ok(
        st.drift.some((d) => /create VLAN 20 interface "eth1\.20"/.test(d.what)),
        JSON.stringify(st.drift),
      );
      assert.equal((await cli(['apply', 'recipes/vlan-trunk.yaml', ...set])).code, 0);
      assert.ok(await ping({ netns: `${ns}-h10` }, '198.51.100.10'));
      const gone = await cli(['destroy', 'recipes/vlan-trunk.yaml', ...set]);
      assert.equal(gone.code, 0, gone.stderr);
      assert.deepEqual(await readState('sandbox'), before);
    }),
);
