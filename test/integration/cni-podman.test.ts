/**
 * pipefitter as a CNI plugin under a runtime nobody here wrote: Debian's Podman 4.3 with its CNI
 * backend (issue 15, "Tested with real clients"). A throwaway Podman environment
 * (test/helpers/podman.ts) gets a network whose conflist's plugin is `pipefitter`, installed
 * with `pipefitter cni install --bin-dir` into the environment's cni_plugin_dirs next to links
 * to Debian's reference plugins (host-local for IPAM). Podman execs the plugin itself (ADD on
 * `podman run --network`, DEL on `podman rm -f` — or from Podman's cleanup process, which passes
 * none of the test's environment: the launcher keeps the test's PIPEFITTER_STATE_DIR,
 * PIPEFITTER_BACKEND and PIPEFITTER_CNI_LOG from `cni install`). Everything is read
 * back from the kernel (`ip -j` in each container's namespace and in the sandbox).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { REFERENCE, hostLocalIpam, hostLocalLeases } from '../helpers/cni.js';
import { startPodman } from '../helpers/podman.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';

/** Every file under `dir`, relative to it (none when it is gone). */
const filesUnder = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []))
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();

const leases = hostLocalLeases;

test('Podman (CNI backend) runs pipefitter: two containers on its bridge reach each other, rm -f leaves nothing', async (t) => {
  await withSandbox(t, async (sb) => {
    await needTools(join(REFERENCE, 'host-local'));
    const started = Date.now();
    const p = await startPodman(sb);
    // the plugin's own log (PIPEFITTER_CNI_LOG, kept by the launcher): shown when a check fails
    const logFile = join(p.dir, 'cni.log');
    process.env.PIPEFITTER_CNI_LOG = logFile;
    t.after(() => {
      delete process.env.PIPEFITTER_CNI_LOG;
    });
    const pluginLog = async (): Promise<string> =>
      `the plugin's log:\n${await readFile(logFile, 'utf8').catch(() => '(none)')}`;
    const dataDir = join(p.dir, 'cni/leases');
    await mkdir(dataDir, { recursive: true });
    const net = `pf${sb.id}`;
    const bridge = sb.name('pb');
    await p.cniNetwork(
      {
        cniVersion: '1.0.0',
        name: net,
        plugins: [{ type: 'pipefitter', bridge, mtu: 1400, ipam: hostLocalIpam(dataDir) }],
      },
      ['host-local', 'loopback'],
    );
    // Podman reads the conflist as a network of its own
    assert.match(await p.podman(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`^${net}$`, 'm'));

    const before = (await readState('sandbox')).links.map((l) => l.name).sort();
    const t0 = Date.now();
    const a = await p.run(sb.name('ca'), { network: net });
    const addMs = Date.now() - t0;
    const b = await p.run(sb.name('cb'), { network: net });

    // in each container: eth0 with host-local's address, the MTU, the route through the gateway
    const addrs: string[] = [];
    for (const c of [a, b]) {
      const inC = await readState({ pid: c.pid });
      const eth0 = link(inC, 'eth0');
      assert.ok(eth0, `${c.name}: eth0 in the container: ${JSON.stringify(inC.links)}`);
      const v4 = eth0.addrs.filter((x) => !x.startsWith('fe80'));
      assert.equal(v4.length, 1, `${c.name}: one address: ${JSON.stringify(eth0.addrs)}`);
      assert.match(v4[0]!, /^198\.51\.100\.\d+\/24$/);
      assert.equal(eth0.mtu, 1400);
      assert.ok(eth0.up, `${c.name}: eth0 up`);
      assert.ok(
        routes(inC).some(
          (r) => r.dst === '203.0.113.0/24' && r.gateway === '198.51.100.1' && r.dev === 'eth0',
        ),
        `${c.name}: route through the gateway: ${JSON.stringify(inC.routes)}`,
      );
      addrs.push(v4[0]!.split('/')[0]!);
    }
    assert.deepEqual([...addrs].sort(), ['198.51.100.2', '198.51.100.3']);
    assert.deepEqual(await leases(dataDir, net), ['198.51.100.2', '198.51.100.3']);

    // on the host side (the sandbox, where Podman runs): the bridge pipefitter made, two veth ports
    const host = await readState('sandbox');
    assert.equal(link(host, bridge)?.kind, 'bridge');
    const ports = host.links.filter((l) => l.master === bridge);
    assert.deepEqual(
      ports.map((l) => [l.kind, l.mtu]),
      [
        ['veth', 1400],
        ['veth', 1400],
      ],
    );
    // pipefitter's records: one per container, under Podman's container IDs
    const state = join(process.env.PIPEFITTER_STATE_DIR ?? '/var/lib/pipefitter', 'cni', net);
    assert.deepEqual(
      await filesUnder(state),
      [`${a.id}/eth0.json`, `${b.id}/eth0.json`].sort(),
      await pluginLog(),
    );
    assert.match(await readFile(logFile, 'utf8'), new RegExp(`ADD ${a.id} eth0: ${net}: done`), 'ADD logged');

    // a reaches b across the bridge, and b reaches a
    assert.ok(await ping({ pid: a.pid }, addrs[1]!), 'a reaches b');
    assert.ok(await ping({ pid: b.pid }, addrs[0]!), 'b reaches a');

    // `podman rm -f` runs DEL: the host end goes, the bridge stays for b; then b, and nothing is left
    const t1 = Date.now();
    await p.remove(a.name);
    const delMs = Date.now() - t1;
    const afterA = await readState('sandbox');
    assert.equal(afterA.links.filter((l) => l.master === bridge).length, 1, "one port left, b's");
    assert.deepEqual(await leases(dataDir, net), [addrs[1]!]);
    assert.deepEqual(await filesUnder(state), [`${b.id}/eth0.json`], await pluginLog());
    await p.remove(b.name);
    const after = await readState('sandbox');
    assert.equal(link(after, bridge), undefined, 'the bridge pipefitter made is gone');
    assert.deepEqual(after.links.map((l) => l.name).sort(), before, 'no host end left, the links as before');
    assert.deepEqual(await leases(dataDir, net), [], "host-local's leases released");
    assert.deepEqual(await filesUnder(state), [], `pipefitter's records removed; ${await pluginLog()}`);
    t.diagnostic(
      `podman run (ADD) ${addMs} ms, podman rm -f (DEL) ${delMs} ms, whole test ${Date.now() - started} ms`,
    );
  });
});
