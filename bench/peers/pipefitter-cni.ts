/**
 * pipefitter's CNI plugin, installed and run as a runtime runs it: `pipefitter cni install
 * --bin-dir DIR` writes the launcher DIR/pipefitter (a sh script exec'ing node on the bundled
 * CNI entry), `host-local` is linked next to it, and DIR is CNI_PATH. Every ADD and DEL is one
 * start of that launcher with CNI_* in the environment and the network config on stdin: the
 * same network as the reference `bridge` plugin's (bench/peers/cni.ts), type "pipefitter".
 */
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { must } from '../lib/proc.js';
import type { Env, Net } from '../lib/types.js';
import { CNI_PATH, cniCmd, hostLocal } from './cni.js';
import { PF_BIN } from './pipefitter.js';
import type { Tool } from './tool.js';

export const pfCniConfig = (net: Net, dataDir: string): string =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pfbench',
    type: 'pipefitter',
    bridge: net.bridge,
    ipam: hostLocal(net, dataDir),
  });

/** Installs the plugin into a bin dir of the bench's temp dir; returns that dir (CNI_PATH). */
export const installPfCni = async (env: Env): Promise<string> => {
  const binDir = join(env.tmp, 'cni-bin');
  await mkdir(binDir, { recursive: true });
  // the launcher keeps PIPEFITTER_STATE_DIR from this environment as its default
  await must({
    file: process.execPath,
    args: [PF_BIN, 'cni', 'install', '--bin-dir', binDir],
    env: { PIPEFITTER_STATE_DIR: env.stateDir },
  });
  await symlink(join(CNI_PATH, 'host-local'), join(binDir, 'host-local')).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    },
  );
  return binDir;
};

export const pfCni = (env: Env, binDir: string): Tool => {
  const dataDir = join(env.tmp, 'pf-cni-ipam');
  const plugin = join(binDir, 'pipefitter');
  const cmd = (command: 'ADD' | 'DEL') => (t: Parameters<typeof cniCmd>[1], net: Net) =>
    cniCmd(command, t, pfCniConfig(net, dataDir), plugin, binDir);
  return {
    name: 'pipefitter cni',
    destroys: true,
    prepare: async () => {
      await mkdir(dataDir, { recursive: true });
    },
    attach: (targets, net) => targets.map((t) => cmd('ADD')(t, net)),
    teardown: (targets, net) => Promise.resolve(targets.map((t) => cmd('DEL')(t, net))),
    afterTeardown: () => rm(dataDir, { recursive: true, force: true }),
  };
};
