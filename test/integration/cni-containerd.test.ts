/**
 * pipefitter as a CNI plugin under containerd 1.6's `ctr run --cni` (issue 15, "Tested with real
 * clients"). containerd runs inside the sandbox namespace with a config of the test's own (root,
 * state and sockets in /tmp/pf-<run id>-containerd-*, the CRI plugin off); the image is an OCI
 * layout tar of the busybox rootfs, imported with `ctr images import`. `ctr` 1.6 reads only
 * /etc/cni/net.d (the first conflist by name) and /opt/cni/bin, so the test puts its conflist
 * and links to its plugins there and removes exactly those in a `finally`, failed or not — and,
 * when the test process was killed, the leak check's sweep does (test/helpers/containerd-env.ts:
 * each path is recorded in the environment before it is made).
 * `ctr run --rm --cni` runs ADD before the task starts and DEL (namespace gone) after it exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { busyboxRootfsTar } from '../helpers/busybox-image.js';
import { cli } from '../helpers/cli.js';
import { REFERENCE, hostLocalIpam, hostLocalLeases } from '../helpers/cni.js';
import {
  makeContainerdEnvironment,
  makeHostFile,
  removeContainerdEnvironment,
} from '../helpers/containerd-env.js';
import { ownCgroup } from '../helpers/owned-env.js';
import { link, ping, readState, routes } from '../helpers/read-back.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';

const CONF_DIR = '/etc/cni/net.d';
const BIN_DIR = '/opt/cni/bin';
const IMAGE = 'docker.io/library/pf-busybox:cni';
const IDLE = ['sh', '-c', 'trap "exit 0" TERM INT; sleep 3600 & wait'];

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** An OCI image layout (one uncompressed layer: the busybox rootfs) in `dir`, tarred to `tar`. */
const ociLayout = async (dir: string, tar: string): Promise<void> => {
  const layer = await busyboxRootfsTar(join(dir, 'rootfs'));
  const blobs = join(dir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const blob = async (content: Uint8Array | string, mediaType: string) => {
    const digest = sha(content);
    await writeFile(join(blobs, digest), content);
    return { mediaType, digest: `sha256:${digest}`, size: Buffer.byteLength(content) };
  };
  const l = await blob(layer, 'application/vnd.oci.image.layer.v1.tar');
  const config = await blob(
    JSON.stringify({
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [l.digest] },
    }),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = await blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers: [l],
    }),
    'application/vnd.oci.image.manifest.v1+json',
  );
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          ...manifest,
          annotations: { 'io.containerd.image.name': IMAGE, 'org.opencontainers.image.ref.name': 'cni' },
        },
      ],
    }),
  );
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await execa('tar', ['-C', dir, '-cf', tar, 'oci-layout', 'index.json', 'blobs']);
};

const exists = (p: string): Promise<boolean> =>
  lstat(p).then(
    () => true,
    () => false,
  );

const leases = hostLocalLeases;

test('containerd (ctr run --rm --cni) runs pipefitter: two tasks reach each other, nothing left after', async (t) => {
  await withSandbox(t, async (sb) => {
    await needTools(
      'containerd',
      'ctr',
      'containerd-shim-runc-v2',
      'runc',
      'nsenter',
      join(REFERENCE, 'host-local'),
    );
    const started = Date.now();
    const sandbox = process.env.PF_SANDBOX;
    assert.ok(sandbox, 'PF_SANDBOX is unset: run through scripts/run-tests.mjs');
    const dir = await makeContainerdEnvironment();
    const cgroup = join(await ownCgroup(), basename(dir));
    const sock = join(dir, 'containerd.sock');
    const net = `pf${sb.id}`;
    const bridge = sb.name('db');
    const dataDir = join(dir, 'leases');
    const conflist = join(CONF_DIR, `00-pf-${runId}-${sb.id}.conflist`);
    const runs: ResultPromise[] = [];
    const ctr = (args: readonly string[]) =>
      execa(
        'nsenter',
        [`--net=/run/netns/${sandbox}`, '--', 'ctr', '--address', sock, '--namespace', 'pf', ...args],
        {
          reject: false,
        },
      );
    try {
      // containerd, in the sandbox namespace, everything of it under dir
      for (const d of ['root', 'state', 'bin']) await mkdir(join(dir, d), { recursive: true });
      await writeFile(
        join(dir, 'config.toml'),
        [
          'version = 2',
          `root = ${JSON.stringify(join(dir, 'root'))}`,
          `state = ${JSON.stringify(join(dir, 'state'))}`,
          'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
          // its `opt` plugin would make /opt/containerd
          '[plugins."io.containerd.internal.v1.opt"]',
          `path = ${JSON.stringify(join(dir, 'opt'))}`,
          '[grpc]',
          `address = ${JSON.stringify(sock)}`,
          '[ttrpc]',
          `address = ${JSON.stringify(`${sock}.ttrpc`)}`,
          '',
        ].join('\n'),
      );
      const daemon = execa(
        'nsenter',
        [`--net=/run/netns/${sandbox}`, '--', 'containerd', '--config', join(dir, 'config.toml')],
        {
          reject: false,
          stdout: { file: join(dir, 'containerd.log') },
          stderr: { file: join(dir, 'containerd.err') },
        },
      );
      runs.push(daemon);
      for (const end = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 100))) {
        if ((await ctr(['version'])).exitCode === 0) break;
        if (Date.now() > end || daemon.exitCode !== null)
          assert.fail(
            `containerd did not start: ${await readFile(join(dir, 'containerd.err'), 'utf8').catch(() => '')}`,
          );
      }
      await ociLayout(join(dir, 'oci'), join(dir, 'image.tar'));
      const imported = await ctr(['images', 'import', '--snapshotter', 'native', join(dir, 'image.tar')]);
      assert.equal(imported.exitCode, 0, imported.stderr);

      // the plugin and the reference IPAM where ctr looks; the conflist first by name
      const installed = await cli(['cni', 'install', '--bin-dir', join(dir, 'bin')]);
      assert.equal(installed.code, 0, installed.stderr);
      for (const d of ['/opt/cni', BIN_DIR]) await makeHostFile(dir, { kind: 'dir', path: d });
      const links: [string, string][] = [
        ['pipefitter', join(dir, 'bin/pipefitter')],
        ['host-local', join(REFERENCE, 'host-local')],
        ['loopback', join(REFERENCE, 'loopback')],
      ];
      for (const [name] of links)
        assert.ok(
          !(await exists(join(BIN_DIR, name))),
          `${BIN_DIR}/${name} exists already: not overwriting it`,
        );
      for (const [name, target] of links)
        await makeHostFile(dir, { kind: 'link', path: join(BIN_DIR, name), target });
      await makeHostFile(dir, {
        kind: 'file',
        path: conflist,
        content: JSON.stringify({
          cniVersion: '1.0.0',
          name: net,
          plugins: [
            {
              type: 'pipefitter',
              bridge,
              ipam: hostLocalIpam(dataDir),
            },
          ],
        }),
      });

      const before = (await readState('sandbox')).links.map((l) => l.name).sort();
      /** `ctr run --rm --cni` of an idle shell, left running; resolves with its task's PID once it runs. */
      const run = async (id: string): Promise<number> => {
        const p = ctr([
          'run',
          '--rm',
          '--cni',
          '--snapshotter',
          'native',
          '--cgroup',
          join(cgroup, id),
          IMAGE,
          id,
          ...IDLE,
        ]);
        runs.push(p);
        for (const end = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 50))) {
          const ls = await ctr(['tasks', 'ls']);
          const row = ls.stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
          const [, pid, status] = row?.split(/\s+/) ?? [];
          if (status === 'RUNNING') return Number(pid);
          if (p.exitCode !== null || Date.now() > end) {
            const r = await p;
            assert.fail(`ctr run ${id} did not start: exit ${r.exitCode}: ${String(r.stderr)}`);
          }
        }
      };
      const t0 = Date.now();
      const [ca, cb] = [`ca-${sb.id}`, `cb-${sb.id}`]; // runc's state is machine-wide (/run/containerd/runc)
      const pa = await run(ca);
      const addMs = Date.now() - t0;
      const pb = await run(cb);

      const addrs: string[] = [];
      for (const [id, pid] of [
        [ca, pa],
        [cb, pb],
      ] as const) {
        const inC = await readState({ pid });
        const eth0 = link(inC, 'eth0');
        assert.ok(eth0, `${id}: eth0 in the task: ${JSON.stringify(inC.links)}`);
        const v4 = eth0.addrs.filter((x) => !x.startsWith('fe80'));
        assert.equal(v4.length, 1, `${id}: ${JSON.stringify(eth0.addrs)}`);
        assert.ok(
          routes(inC).some(
            (r) => r.dst === '203.0.113.0/24' && r.gateway === '198.51.100.1' && r.dev === 'eth0',
          ),
          `${id}: ${JSON.stringify(inC.routes)}`,
        );
        addrs.push(v4[0]!.split('/')[0]!);
      }
      assert.deepEqual([...addrs].sort(), ['198.51.100.2', '198.51.100.3']);
      assert.deepEqual(await leases(dataDir, net), ['198.51.100.2', '198.51.100.3']);
      const host = await readState('sandbox');
      assert.equal(link(host, bridge)?.kind, 'bridge');
      assert.deepEqual(
        host.links.filter((l) => l.master === bridge).map((l) => l.kind),
        ['veth', 'veth'],
      );
      const state = join(process.env.PIPEFITTER_STATE_DIR ?? '/var/lib/pipefitter', 'cni', net);
      assert.deepEqual(
        (await readdir(state, { recursive: true })).filter((f) => f.endsWith('.json')).sort(),
        [`pf-${ca}/eth0.json`, `pf-${cb}/eth0.json`],
      );
      assert.ok(await ping({ pid: pa }, addrs[1]!), 'ca reaches cb');
      assert.ok(await ping({ pid: pb }, addrs[0]!), 'cb reaches ca');

      // the tasks end: `ctr run --rm` runs DEL (the namespace is gone by then) and exits 0
      const t1 = Date.now();
      for (const id of [ca, cb]) {
        const k = await ctr(['tasks', 'kill', '--signal', 'SIGTERM', id]);
        assert.equal(k.exitCode, 0, k.stderr);
      }
      for (const p of runs.slice(1)) {
        const r = await p;
        assert.equal(r.exitCode, 0, `ctr run: ${String(r.stderr)}`);
      }
      const delMs = Date.now() - t1;
      const after = await readState('sandbox');
      assert.equal(link(after, bridge), undefined, 'the bridge pipefitter made is gone');
      assert.deepEqual(after.links.map((l) => l.name).sort(), before, 'no host end left');
      assert.deepEqual(await leases(dataDir, net), [], "host-local's leases released");
      assert.deepEqual(
        (await readdir(state, { recursive: true }).catch(() => [] as string[])).filter((f) =>
          f.endsWith('.json'),
        ),
        [],
        "pipefitter's records removed",
      );
      assert.equal((await ctr(['containers', 'ls', '-q'])).stdout.trim(), '', 'ctr run --rm removed them');
      t.diagnostic(
        `ctr run (ADD, task running) ${addMs} ms, two tasks ended (DEL) ${delMs} ms, whole test ${Date.now() - started} ms`,
      );
    } finally {
      // only what this test made under /etc/cni and /opt/cni, newest first
      // tasks still running end first (their `ctr run --rm` runs DEL while the plugin is there)
      for (const id of [`ca-${sb.id}`, `cb-${sb.id}`])
        await ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]);
      await Promise.race([Promise.all(runs.slice(1)), new Promise((r) => setTimeout(r, 5_000))]);
      const errors: string[] = [];
      await removeContainerdEnvironment(dir, errors);
      await Promise.race([Promise.all(runs), new Promise((r) => setTimeout(r, 5_000))]);
      await rmdir('/run/containerd/runc/pf').catch(() => {}); // runc's, for this namespace, when empty
      assert.deepEqual(errors, [], `the containerd environment ${dir} is not all gone`);
    }
  });
});
