// Smoke test of the VM lane (scripts/vm): inside the VM's kernel, every capability this machine's
// own kernel lacks works: 802.1Q VLAN sub-interfaces, bridge VLAN filtering, ipvlan, dummy and
// Open vSwitch. Runs in the VM (scripts/vm/init.sh runs the command with PF_VM=1 and
// PF_VM_KERNEL), in the sandbox namespace that scripts/run-tests.mjs makes there. Elsewhere a
// test skips only when the kernel feature probe finds what it needs missing.
import * as assert from 'node:assert/strict';
import { release } from 'node:os';
import { test } from 'node:test';
import { execa } from 'execa';
import { kernelSkip } from '../helpers/kernel.js';
import { Sandbox } from '../helpers/sandbox.js';

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

// Under PF_VM=1 this is never skipped: a VM lane that booted the wrong kernel fails here.
void test(
  'vm: runs on the VM kernel, not this machine kernel',
  {
    skip:
      process.env.PF_VM === '1'
        ? undefined
        : 'not in the kernel VM lane (PF_VM is not 1): no VM kernel to check',
  },
  () => {
    assert.ok(process.env.PF_VM_KERNEL, 'scripts/vm/run.mjs sets PF_VM_KERNEL to the release it boots');
    assert.equal(release(), process.env.PF_VM_KERNEL);
  },
);

// VLAN sub-interfaces and bridge VLAN filtering are exercised through pipefitter in kinds.test.ts.

const linksName = 'vm: ipvlan (l2), macvlan and dummy links';
const linksSkip = await kernelSkip(['ipvlan', 'macvlan', 'dummy'], `test/vm/smoke.test.ts '${linksName}'`);
void test(linksName, { skip: linksSkip, timeout: 60_000 }, async (t) => {
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

// Open vSwitch through pipefitter (ports, tags, removal) is tested in kinds.test.ts.
