/**
 * pipefitter's CNI plugin, installed and run as a runtime runs it: `pipefitter cni install
 * --bin-dir DIR` writes the launcher DIR/pipefitter (a sh script exec'ing node on the bundled
 * CNI entry), `host-local` is linked next to it, and DIR is CNI_PATH. Every ADD and DEL is one
 * start of that launcher with CNI_* in the environment and the network config on stdin: the
 * same network as the reference `bridge` plugin's (bench/peers/cni.ts), type "pipefitter".
 * Served: the same, with a `pipefitter cni serve` running that the launcher hands each call to.
 */
import { mkdir, rm, symlink } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { must } from '../lib/proc.js';
import type { Env, Net } from '../lib/types.js';
import { CNI_PATH, cniCmd, hostLocal } from './cni.js';
import { PF_BIN } from './pipefitter.js';
import type { Tool } from './tool.js';

export const pfCniConfig = (net: Net, dataDir: string, ownIpam = false): string =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pfbench',
    type: 'pipefitter',
    bridge: net.bridge,
    // the same range, gateway and route; pipefitter's own IPAM answers in-process (no host-local)
    ipam: ownIpam
      ? {
          type: 'pipefitter',
          subnet: `${net.subnet}/${net.prefix}`,
          pool: `${net.first}-${net.last}`,
          gateway: net.gateway,
          routes: [{ dst: '0.0.0.0/0' }],
        }
      : hostLocal(net, dataDir),
  });

/**
 * The settings of the served plugin's launcher and of its server: the bench's state directory,
 * a run directory of their own (the plain launcher's socket, under the state directory, has no
 * server: it always starts node).
 */
export const servedSettings = (env: Env): Record<string, string> => ({
  PIPEFITTER_STATE_DIR: env.stateDir,
  PIPEFITTER_RUN_DIR: join(env.tmp, 'cni-serve-run'),
});

/**
 * Installs the plugin into a bin dir of the bench's temp dir; returns that dir (CNI_PATH). With
 * `served`, the launcher whose calls `pipefitter cni serve` (startPfCniServer) answers.
 */
export const installPfCni = async (env: Env, served = false): Promise<string> => {
  const binDir = join(env.tmp, served ? 'cni-bin-served' : 'cni-bin');
  await mkdir(binDir, { recursive: true });
  // the launcher keeps PIPEFITTER_STATE_DIR (and RUN_DIR) from this environment as its defaults
  await must({
    file: process.execPath,
    args: [PF_BIN, 'cni', 'install', '--bin-dir', binDir],
    env: served ? servedSettings(env) : { PIPEFITTER_STATE_DIR: env.stateDir },
  });
  await symlink(join(CNI_PATH, 'host-local'), join(binDir, 'host-local')).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    },
  );
  return binDir;
};

/**
 * `pipefitter cni serve` in the bench's namespace with servedSettings; resolves once it listens,
 * to its stop (SIGTERM, then wait for it to remove its socket and exit).
 */
export const startPfCniServer = async (env: Env): Promise<() => Promise<void>> => {
  const p = execa(process.execPath, [PF_BIN, 'cni', 'serve', '--quiet'], {
    env: servedSettings(env),
    reject: false,
    buffer: false,
    stdout: 'ignore',
  });
  let log = '';
  p.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  for (let i = 0; i < 400 && !/listening on/.test(log) && p.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 25));
  if (!/listening on/.test(log)) {
    p.kill();
    throw new Error(`pipefitter cni serve did not start: ${log}`);
  }
  return async () => {
    p.kill('SIGTERM');
    const r = await p;
    if (r.exitCode !== 0) throw new Error(`pipefitter cni serve: exit ${r.exitCode ?? r.signal}: ${log}`);
  };
};

export const pfCni = (env: Env, binDir: string, name = 'pipefitter cni', ownIpam = false): Tool => {
  const dataDir = join(env.tmp, `pf-cni-ipam-${name.replace(/\W+/g, '-')}`);
  const plugin = join(binDir, 'pipefitter');
  const cmd = (command: 'ADD' | 'DEL') => (t: Parameters<typeof cniCmd>[1], net: Net) =>
    cniCmd(command, t, pfCniConfig(net, dataDir, ownIpam), plugin, binDir);
  return {
    name,
    destroys: true,
    prepare: async () => {
      await mkdir(dataDir, { recursive: true });
    },
    attach: (targets, net) => targets.map((t) => cmd('ADD')(t, net)),
    teardown: (targets, net) => Promise.resolve(targets.map((t) => cmd('DEL')(t, net))),
    afterTeardown: () => rm(dataDir, { recursive: true, force: true }),
  };
};
