/**
 * The test helpers that start daemons (dnsmasq, dockerd, the Open vSwitch daemons) say why one
 * did not start: the program that is not installed, with its package from the tool table; the
 * step; the exit code; its stderr and log. Each failure is provoked for real: a PATH without
 * the program, bad options, a missing file. (The issue this answers: "dnsmasq exited at start
 * (undefined): " hid that dnsmasq was not installed.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { harnessProcesses, terminate } from '../helpers/daemon-leftovers.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { DOCKERD, launchDockerd } from '../helpers/dockerd.js';
import { startOvs } from '../helpers/ovs.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { needTools, pathWith } from '../helpers/tools.js';

const tmpDir = async (what: string): Promise<string> => mkdtemp(`/tmp/pf-${runId}-${what}-`);

/** The error a promise rejects with, as text. */
const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  assert.fail('it started');
};

/** Processes whose command line names `dir` (what a failed start may have left). */
const processesOf = async (dir: string): Promise<string[]> => {
  const out: string[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(dir)) out.push(`${e} ${cmd.replaceAll('\0', ' ')}`);
  }
  return out;
};

/** A bridge with an address in the sandbox, for dnsmasq to serve. */
const bridge = async (t: { after(fn: () => Promise<unknown>): void }, name: string): Promise<string> => {
  await execa('ip', ['link', 'add', name, 'type', 'bridge']);
  t.after(() => execa('ip', ['link', 'del', name], { reject: false }));
  await execa('ip', ['addr', 'add', '192.0.2.1/24', 'dev', name]);
  await execa('ip', ['link', 'set', 'dev', name, 'up']);
  return name;
};

test('dnsmasq that is not installed: the helper names the package, the step and the command', (t) =>
  withSandbox(t, async (sb) => {
    const br = await bridge(t, sb.name('dn'));
    const empty = await pathWith([]);
    t.after(() => empty.remove());
    const msg = await failure(
      startDnsmasq({ iface: br, range: ['192.0.2.100', '192.0.2.150'], path: empty.path }),
    );
    assert.match(msg, /^dnsmasq did not start: dnsmasq is not installed \(Debian package dnsmasq-base\)/);
    assert.match(msg, /apt-get install dnsmasq-base/);
    assert.match(msg, new RegExp(`step: serve DHCP on ${br}`));
    assert.match(msg, /command: dnsmasq --conf-file=\/dev\/null/);
    assert.doesNotMatch(msg, /undefined/);
  }));

test('dnsmasq that exits at start: its exit code and its stderr', (t) =>
  withSandbox(t, async (sb) => {
    await needTools('dnsmasq');
    const br = await bridge(t, sb.name('dx'));
    // an interface that is not there, as a typo would be
    const gone = await failure(startDnsmasq({ iface: 'pfnosuch0', range: ['192.0.2.100', '192.0.2.150'] }));
    assert.match(gone, /^dnsmasq did not start: exited with code [1-9]\d*\n/);
    assert.match(gone, /stderr:\n {4}dnsmasq: unknown interface pfnosuch0/);
    // an option it does not know
    const bad = await failure(
      startDnsmasq({ iface: br, range: ['192.0.2.100', '192.0.2.150'], extraArgs: ['--pf-no-such-option'] }),
    );
    assert.match(bad, /^dnsmasq did not start: exited with code [1-9]\d*\n/);
    assert.match(bad, /stderr:\n {4}dnsmasq: (bad command line options|unrecognized option)/);
    assert.match(bad, /command: dnsmasq .*--pf-no-such-option/);
    assert.deepEqual(await readdir('/tmp').then((l) => l.filter((f) => f.startsWith('pf-dnsmasq-'))), []);
  }));

/** A directory laid out as the Docker harness makes it, removed (and its processes ended) after the test. */
const dockerDir = async (t: { after(fn: () => Promise<unknown>): void }): Promise<string> => {
  const dir = await tmpDir('dockerd');
  t.after(async () => {
    await terminate(await harnessProcesses(dir), 3_000);
    await rm(dir, { recursive: true, force: true });
  });
  for (const d of ['data', 'exec', 'run', 'opt']) await mkdir(join(dir, d));
  return dir;
};

test('dockerd that is not installed, and a wrapper that is not: each named with its package', (t) =>
  withSandbox(t, async () => {
    await needTools('setpriv', 'unshare', 'sh', 'mount');
    const dir = await dockerDir(t);
    // everything the wrapper needs, but no dockerd
    const noDockerd = await pathWith(['setpriv', 'unshare', 'sh', 'mount']);
    t.after(() => noDockerd.remove());
    const msg = await failure(
      launchDockerd(dir, { storageDriver: 'vfs', dockerd: 'dockerd', path: noDockerd.path }),
    );
    assert.match(msg, /^dockerd did not start: dockerd is not installed \(Debian package docker\.io\)/);
    assert.match(msg, /step: start dockerd \(vfs\) under setpriv, unshare --mount and sh/);
    assert.match(msg, /exited with code 127/);
    // no setpriv at all: the first program of the chain
    const empty = await pathWith([]);
    t.after(() => empty.remove());
    const first = await failure(launchDockerd(dir, { storageDriver: 'vfs', path: empty.path }));
    assert.match(first, /^dockerd did not start: setpriv is not installed \(Debian package util-linux\)/);
    assert.deepEqual(await processesOf(dir), []);
  }));

test('dockerd that exits at start: its exit code and the last lines of its log', (t) =>
  withSandbox(t, async () => {
    await needTools('setpriv', 'unshare', 'sh', 'mount', DOCKERD);
    const dir = await dockerDir(t);
    const msg = await failure(launchDockerd(dir, { storageDriver: 'vfs', extraArgs: ['--pf-no-such-flag'] }));
    assert.match(msg, /^dockerd did not start: exited with code [1-9]\d*\n/);
    assert.match(msg, /log \(last lines\):\n[\s\S]*unknown flag: --pf-no-such-flag/);
    assert.deepEqual(await processesOf(dir), []);
  }));

test('Open vSwitch: a missing program, a failed step and a daemon that exits are each reported', (t) =>
  withSandbox(t, async () => {
    await needTools('ovsdb-tool', 'ovsdb-server', 'ovs-appctl');
    const dir = await tmpDir('ovs');
    t.after(() => rm(dir, { recursive: true, force: true }));
    const empty = await pathWith([]);
    t.after(() => empty.remove());

    const missing = await failure(startOvs(dir, { path: empty.path }));
    assert.match(
      missing,
      /^ovsdb-tool did not start: ovsdb-tool is not installed \(Debian package openvswitch-common\)/,
    );
    assert.match(missing, /step: create the database \(ovsdb-tool create\)/);

    const schema = await failure(startOvs(dir, { schema: `${dir}/no-such.ovsschema` }));
    assert.match(schema, /^ovsdb-tool did not start: exited with code 1\n/);
    assert.match(schema, /stderr:\n {4}ovsdb-tool: .*no-such\.ovsschema/);

    await rm(join(dir, 'conf.db'), { force: true });
    const server = await failure(startOvs(dir, { dbOnly: true, serverArgs: ['--pf-no-such-option'] }));
    assert.match(server, /^ovsdb-server did not start: exited with code 1\n/);
    assert.match(server, /step: start ovsdb-server/);
    assert.match(server, /stderr:\n[\s\S]*\n {4}ovsdb-server: unrecognized option '--pf-no-such-option'\n/);
    assert.deepEqual(await processesOf(dir), [], 'nothing left running');

    // and on this host, without the kernel's openvswitch module, ovsdb-server itself starts
    await rm(join(dir, 'conf.db'), { force: true });
    const ovs = await startOvs(dir, { dbOnly: true });
    const pid = Number((await readFile(join(dir, 'ovsdb-server.pid'), 'utf8')).trim());
    assert.ok(pid > 0 && (await processesOf(dir)).length === 1, 'ovsdb-server runs');
    await ovs.stop();
    assert.deepEqual(await processesOf(dir), [], 'stop() ends it');
  }));
