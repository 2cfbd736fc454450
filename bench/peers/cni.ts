/**
 * The reference CNI `bridge` plugin with `host-local` IPAM (Debian's containernetworking-plugins
 * in /usr/lib/cni), invoked the way a runtime does: env CNI_* and the network config on stdin.
 * The bridge exists already (isGateway false, no masquerade); host-local hands out addresses
 * from net.first in order, so container i gets the same address as with every other tool.
 */
import { access, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { toolEntry } from '../../src/tools.js';
import type { Cmd } from '../lib/proc.js';
import type { Env, Net, Target } from '../lib/types.js';
import type { Tool } from './tool.js';

export const CNI_PATH = '/usr/lib/cni';
const PLUGIN = join(CNI_PATH, 'bridge');

export const cniMissing = async (): Promise<string | undefined> => {
  for (const p of ['bridge', 'host-local']) {
    const ok = await access(join(CNI_PATH, p)).then(
      () => true,
      () => false,
    );
    if (!ok)
      return `${join(CNI_PATH, p)} missing (apt-get install ${toolEntry(join(CNI_PATH, p))?.pkg ?? '?'})`;
  }
  return undefined;
};

/** host-local from net.first to net.last with a default route through the gateway. */
export const hostLocal = (net: Net, dataDir: string) => ({
  type: 'host-local',
  ranges: [
    [
      {
        subnet: `${net.subnet}/${net.prefix}`,
        rangeStart: net.first,
        rangeEnd: net.last,
        gateway: net.gateway,
      },
    ],
  ],
  routes: [{ dst: '0.0.0.0/0' }],
  dataDir,
});

export const cniConfig = (net: Net, dataDir: string): string =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pfbench',
    type: 'bridge',
    bridge: net.bridge,
    isGateway: false,
    ipMasq: false,
    ipam: hostLocal(net, dataDir),
  });

/** One invocation as a runtime makes it: CNI_* in the environment, the config on stdin. */
export const cniCmd = (
  command: 'ADD' | 'DEL',
  t: Target,
  config: string,
  plugin = PLUGIN,
  path = CNI_PATH,
): Cmd => ({
  file: plugin,
  args: [],
  input: config,
  env: {
    CNI_COMMAND: command,
    CNI_CONTAINERID: `pfbench-${t.name}`,
    CNI_NETNS: t.netns,
    CNI_IFNAME: 'eth1',
    CNI_PATH: path,
  },
});

export const cniLoop = (env: Env): Tool => {
  const dataDir = join(env.tmp, 'cni-ipam');
  return {
    name: 'cni loop',
    destroys: true,
    prepare: async () => {
      await mkdir(dataDir, { recursive: true });
    },
    attach: (targets, net) => targets.map((t) => cniCmd('ADD', t, cniConfig(net, dataDir))),
    teardown: (targets, net) =>
      Promise.resolve(targets.map((t) => cniCmd('DEL', t, cniConfig(net, dataDir)))),
    // host-local remembers the last address it gave; forget it so the next run starts at net.first
    afterTeardown: () => rm(dataDir, { recursive: true, force: true }),
  };
};
