// Smoke test of the VM lane (scripts/vm): inside the VM's kernel, every capability this machine's
// own kernel lacks works: 802.1Q VLAN sub-interfaces, bridge VLAN filtering, ipvlan, dummy and
// Open vSwitch. Runs only inside the VM (scripts/vm/init.sh runs the command with PF_VM=1), in
// the sandbox namespace that scripts/run-tests.mjs makes there; elsewhere it is skipped.
import * as assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { sandboxSkipReason, Sandbox } from '../helpers/sandbox.js';

const skipReason = async (): Promise<string | undefined> => {
  if (process.env.PF_VM !== '1')
    return 'not inside the VM: run with `node scripts/vm/run.mjs -- node scripts/run-tests.mjs ...`';
  if (process.env.PF_VM_KERNEL && release() !== process.env.PF_VM_KERNEL)
    return `PF_VM=1 but this kernel is ${release()}, not the VM's ${process.env.PF_VM_KERNEL}`;
  return sandboxSkipReason();
};
const skip = await skipReason();
if (skip) console.log(`# vm smoke test skipped: ${skip}`);

interface LinkInfo {
  ifname: string;
  master?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
  };
}

const ip = async (...args: string[]): Promise<string> => (await execa('ip', args)).stdout;

/** `ip -j -d link show dev NAME` (in namespace `ns` if given), the one link. */
const link = async (name: string, ns?: string): Promise<LinkInfo> => {
  const out = await ip(...(ns ? ['-n', ns] : []), '-j', '-d', 'link', 'show', 'dev', name);
  const links = JSON.parse(out) as LinkInfo[];
  assert.equal(links.length, 1, `one link named ${name}`);
  return links[0] as LinkInfo;
};

void test('vm: runs on the VM kernel, not this machine kernel', { skip }, () => {
  assert.equal(release(), process.env.PF_VM_KERNEL);
});

// VLAN sub-interfaces and bridge VLAN filtering are exercised through pipefitter in kinds.test.ts.

void test('vm: ipvlan (l2), macvlan and dummy links', { skip, timeout: 60_000 }, async (t) => {
  const sb = await new Sandbox().start();
  t.after(() => sb.cleanup());
  const ns = await sb.netns('c');
  const parent = sb.name('d0');
  await ip('link', 'add', parent, 'type', 'dummy');
  await ip('link', 'set', parent, 'up');
  assert.equal((await link(parent)).linkinfo?.info_kind, 'dummy');

  const ipvl = sb.name('iv');
  await ip('link', 'add', 'link', parent, 'name', ipvl, 'type', 'ipvlan', 'mode', 'l2');
  const iv = await link(ipvl);
  assert.equal(iv.linkinfo?.info_kind, 'ipvlan');
  assert.equal(iv.linkinfo?.info_data?.mode, 'l2');
  // Into a namespace, as pipefitter attaches it to a container.
  await ip('link', 'set', ipvl, 'netns', ns, 'name', 'eth1');
  assert.equal((await link('eth1', ns)).linkinfo?.info_kind, 'ipvlan');

  // A parent takes ipvlan or macvlan children, not both.
  const parent2 = sb.name('d1');
  await ip('link', 'add', parent2, 'type', 'dummy');
  const mvl = sb.name('mv');
  await ip('link', 'add', 'link', parent2, 'name', mvl, 'type', 'macvlan', 'mode', 'bridge');
  const mv = await link(mvl);
  assert.equal(mv.linkinfo?.info_kind, 'macvlan');
  assert.equal(mv.linkinfo?.info_data?.mode, 'bridge');
});

/** ovsdb-server and ovs-vswitchd with every file in `dir`; stop() ends both and the datapath. */
const startOvs = async (dir: string) => {
  const env = {
    OVS_RUNDIR: dir,
    OVS_LOGDIR: dir,
    OVS_DBDIR: dir,
    OVS_SYSCONFDIR: dir,
    OVS_PKGDATADIR: '/usr/share/openvswitch',
  };
  const db = `unix:${dir}/db.sock`;
  const run = (cmd: string, args: string[]) => execa(cmd, args, { env, timeout: 60_000 });
  await run('ovsdb-tool', ['create', `${dir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema']);
  const daemon = (name: string) => [
    '--detach',
    '--no-chdir',
    `--pidfile=${dir}/${name}.pid`,
    `--log-file=${dir}/${name}.log`,
    `--unixctl=${dir}/${name}.ctl`,
  ];
  const stop = async () => {
    await run('ovs-appctl', ['-t', `${dir}/ovs-vswitchd.ctl`, 'exit', '--cleanup']).catch(() => undefined);
    await run('ovs-appctl', ['-t', `${dir}/ovsdb-server.ctl`, 'exit']).catch(() => undefined);
    for (const name of ['ovs-vswitchd', 'ovsdb-server']) {
      const pid = Number((await readFile(`${dir}/${name}.pid`, 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // The kernel datapath outlives the daemon unless removed.
    await execa('ovs-dpctl', ['del-dp', 'ovs-system'], { reject: false });
  };
  try {
    await run('ovsdb-server', [`${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, ...daemon('ovsdb-server')]);
    await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'init']);
    await run('ovs-vswitchd', [db, ...daemon('ovs-vswitchd')]);
  } catch (e) {
    await stop();
    throw e;
  }
  const vsctl = async (...args: string[]) =>
    (await run('ovs-vsctl', [`--db=${db}`, '--timeout=30', ...args])).stdout;
  return { vsctl, stop };
};

// Like the other tests that need a tool (scripts/ensure.mjs installs it in CI): skip, saying why.
const ovsSkip =
  skip ??
  ((await execa('sh', ['-c', 'command -v ovsdb-server && command -v ovs-vswitchd'], { reject: false }))
    .exitCode === 0
    ? undefined
    : 'Open vSwitch is not installed (apt-get install openvswitch-switch)');
if (ovsSkip && !skip) console.log(`# vm Open vSwitch test skipped: ${ovsSkip}`);

void test(
  'vm: Open vSwitch bridge with a VLAN-tagged port',
  { skip: ovsSkip, timeout: 180_000 },
  async (t) => {
    const sb = await new Sandbox().start();
    const dir = await mkdtemp(join(tmpdir(), 'pf-ovs-'));
    const started: { ovs?: Awaited<ReturnType<typeof startOvs>> } = {};
    t.after(async () => {
      await started.ovs?.stop();
      await sb.cleanup();
      await rm(dir, { recursive: true, force: true });
    });
    const ovs = (started.ovs = await startOvs(dir));
    const br = sb.name('ob');
    const port = sb.name('op');
    await ovs.vsctl('add-br', br);
    await ovs.vsctl('add-port', br, port, 'tag=10', '--', 'set', 'interface', port, 'type=internal');

    assert.equal((await ovs.vsctl('get', 'port', port, 'tag')).trim(), '10');
    assert.deepEqual((await ovs.vsctl('list-ports', br)).trim().split('\n'), [port]);
    const l = await link(port);
    assert.equal(l.linkinfo?.info_kind, 'openvswitch', JSON.stringify(l));
    assert.equal((await link(br)).linkinfo?.info_kind, 'openvswitch');
    // The port is in the kernel datapath, not only in the database.
    const dp = (await execa('ovs-dpctl', ['show'])).stdout;
    assert.match(dp, new RegExp(`port \\d+: ${port} \\(internal\\)`), dp);

    await ovs.vsctl('del-port', br, port);
    assert.equal((await ovs.vsctl('list-ports', br)).trim(), '');
    await ovs.vsctl('del-br', br);
    const left = await execa('ip', ['link', 'show', 'dev', port], { reject: false });
    assert.notEqual(left.exitCode, 0, `${port} still exists after del-port`);
  },
);
