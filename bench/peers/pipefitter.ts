/**
 * pipefitter, run as its users run it: the built CLI (bin/pipefitter.js) with PIPEFITTER_STATE_DIR
 * pointing into the bench's temp dir. Two ways: one recipe `apply` for all containers, or a loop
 * of `attach` calls, one per container.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Cmd } from '../lib/proc.js';
import { bridgePorts, deletePortsCmd } from '../lib/verify.js';
import type { Env, Net, Target } from '../lib/types.js';
import type { Tool } from './tool.js';

export const PF_BIN = resolve(import.meta.dirname, '../../bin/pipefitter.js');

/** netlink: in-process rtnetlink (the default); ip: one ip/bridge process per command group. */
export type Backend = 'netlink' | 'ip';

export const pf = (env: Env, args: readonly string[], backend: Backend = 'netlink'): Cmd => ({
  file: process.execPath,
  args: [PF_BIN, ...args],
  env: {
    PIPEFITTER_STATE_DIR: env.stateDir,
    PIPEFITTER_BACKEND: backend,
    ...(env.dockerHost ? { DOCKER_HOST: env.dockerHost } : {}),
  },
});

/** The recipe a user would write: the existing bridge as a network, one line per container. */
export const recipeText = (name: string, targets: readonly Target[], net: Net): string =>
  [
    'version: 1',
    `name: ${name}`,
    'networks:',
    `  lan: { bridge: ${net.bridge}, subnet: ${net.subnet}/${net.prefix}, gateway: ${net.gateway} }`,
    'containers:',
    ...targets.map(
      (t) =>
        `  ${t.name}: { target: '${t.ref}', interfaces: { eth1: { network: lan, address: ${t.address}, gateway: true } } }`,
    ),
    '',
  ].join('\n');

export const recipePath = (env: Env) => join(env.tmp, 'bench-recipe.yaml');

export const pfApply = (env: Env, backend: Backend = 'netlink'): Tool => ({
  name: backend === 'netlink' ? 'pipefitter apply' : 'pipefitter apply (ip backend)',
  destroys: true,
  async prepare(targets, net) {
    await writeFile(recipePath(env), recipeText(`bench${env.id}`, targets, net));
  },
  attach: () => [pf(env, ['apply', recipePath(env), '--json'], backend)],
  teardown: () => Promise.resolve([pf(env, ['destroy', recipePath(env), '--json'], backend)]),
});

export const attachArgs = (t: Target, net: Net): string[] => [
  'attach',
  t.ref,
  '--bridge',
  net.bridge,
  '--ip',
  `${t.address}/${net.prefix}`,
  '--gateway',
  net.gateway,
];

export const pfLoop = (env: Env, backend: Backend = 'netlink'): Tool => ({
  name: backend === 'netlink' ? 'pipefitter loop' : 'pipefitter loop (ip backend)',
  destroys: false,
  attach: (targets, net) => targets.map((t) => pf(env, attachArgs(t, net), backend)),
  teardown: async (_t, net) => [deletePortsCmd((await bridgePorts(net.bridge)).map((p) => p.ifname))],
});
