/**
 * A network configuration list driven as a runtime drives it (SPEC.md section 3, "Network
 * configuration lists" and "Chained plugins"; libcni's AddNetworkList, DelNetworkList and
 * CheckNetworkList): each plugin is found by its `type` in CNI_PATH and run with the same
 * attachment parameters (CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS) and its own
 * configuration on stdin — the list's `cniVersion` and `name`, `runtimeConfig` holding only the
 * capability arguments the plugin declares in `capabilities`, and `prevResult`:
 *
 * - ADD: in order, each given the previous plugin's result; the last one's is the list's;
 * - DEL: in reverse order, each given the list's result of the ADD (the runtime's cached one);
 * - CHECK: in order, each given the list's result of the ADD.
 *
 * ADD stops at the first plugin that fails (the runtime then DELs the list); DEL and CHECK too.
 */
import { execa } from 'execa';
import { findInPath } from '../../src/api/cni-ipam.js';

export interface PluginConf {
  readonly type: string;
  /** The runtime capabilities the plugin takes in runtimeConfig (e.g. portMappings). */
  readonly capabilities?: Readonly<Record<string, boolean>>;
  readonly [key: string]: unknown;
}

export interface ConfList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly PluginConf[];
}

export interface Attachment {
  readonly containerId: string;
  /** CNI_NETNS: the namespace file. */
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS, e.g. "IgnoreUnknown=1;K8S_POD_NAME=web". */
  readonly args?: string | undefined;
  /** Capability arguments (portMappings, bandwidth, mac, ips, …), given to the plugins that declare them. */
  readonly capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
}

export interface PluginRun {
  readonly type: string;
  readonly command: 'ADD' | 'DEL' | 'CHECK';
  readonly code: number;
  /** stdout parsed: the result, or the error object; undefined when empty. */
  readonly out: Record<string, unknown> | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** The configuration it was given on stdin. */
  readonly conf: Record<string, unknown>;
}

export interface ChainRun {
  /** One entry per plugin run, in the order they ran. */
  readonly runs: readonly PluginRun[];
  /** True when every plugin exited 0. */
  readonly ok: boolean;
  /** ADD: the last plugin's result. */
  readonly result?: Record<string, unknown> | undefined;
}

export interface Chain {
  readonly list: ConfList;
  readonly path: readonly string[];
  /** Environment every plugin gets besides CNI_* (PATH, PIPEFITTER_STATE_DIR, …). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** The plugin's configuration as libcni builds it (buildOneConfig, injectRuntimeConfig). */
export const pluginConfig = (
  list: ConfList,
  plugin: PluginConf,
  a: Attachment,
  prevResult: Record<string, unknown> | undefined,
): Record<string, unknown> => {
  const runtimeConfig = Object.fromEntries(
    Object.entries(a.capabilityArgs ?? {}).filter(([k]) => plugin.capabilities?.[k] === true),
  );
  return {
    ...plugin,
    cniVersion: list.cniVersion,
    name: list.name,
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    ...(prevResult === undefined ? {} : { prevResult }),
  };
};

/** Run one plugin of the chain. */
export const runPlugin = async (
  chain: Chain,
  command: PluginRun['command'],
  plugin: PluginConf,
  a: Attachment,
  prevResult: Record<string, unknown> | undefined,
): Promise<PluginRun> => {
  const file = await findInPath(plugin.type, chain.path);
  if (file === undefined)
    throw new Error(`plugin "${plugin.type}" not found in CNI_PATH ${chain.path.join(':')}`);
  const conf = pluginConfig(chain.list, plugin, a, prevResult);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...chain.env }))
    if (v !== undefined && !k.startsWith('CNI_')) env[k] = v;
  Object.assign(env, {
    CNI_COMMAND: command,
    CNI_CONTAINERID: a.containerId,
    CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname,
    CNI_PATH: chain.path.join(':'),
    ...(a.args === undefined ? {} : { CNI_ARGS: a.args }),
  });
  const r = await execa(file, [], { input: JSON.stringify(conf), env, extendEnv: false, reject: false });
  const stdout = String(r.stdout);
  let out: Record<string, unknown> | undefined;
  if (stdout.trim() !== '')
    try {
      out = JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      throw new Error(`${plugin.type} ${command}: stdout is not JSON: ${stdout}\n${String(r.stderr)}`);
    }
  return { type: plugin.type, command, code: r.exitCode ?? -1, out, stdout, stderr: String(r.stderr), conf };
};

/** ADD the list: each plugin in order, given the previous one's result. */
export const chainAdd = async (chain: Chain, a: Attachment): Promise<ChainRun> => {
  const runs: PluginRun[] = [];
  let prev: Record<string, unknown> | undefined;
  for (const plugin of chain.list.plugins) {
    const r = await runPlugin(chain, 'ADD', plugin, a, prev);
    runs.push(r);
    if (r.code !== 0) return { runs, ok: false };
    prev = r.out;
  }
  return { runs, ok: true, result: prev };
};

/** DEL the list: in reverse order, each given the ADD's result (undefined when the runtime has none). */
export const chainDel = async (
  chain: Chain,
  a: Attachment,
  result: Record<string, unknown> | undefined,
): Promise<ChainRun> => {
  const runs: PluginRun[] = [];
  for (const plugin of [...chain.list.plugins].reverse()) {
    const r = await runPlugin(chain, 'DEL', plugin, a, result);
    runs.push(r);
    if (r.code !== 0) return { runs, ok: false };
  }
  return { runs, ok: true };
};

/** CHECK the list: in order, each given the ADD's result. */
export const chainCheck = async (
  chain: Chain,
  a: Attachment,
  result: Record<string, unknown>,
): Promise<ChainRun> => {
  const runs: PluginRun[] = [];
  for (const plugin of chain.list.plugins) {
    const r = await runPlugin(chain, 'CHECK', plugin, a, result);
    runs.push(r);
    if (r.code !== 0) return { runs, ok: false };
  }
  return { runs, ok: true };
};

/** One line per plugin run, for assertion messages. */
export const describeRuns = (c: ChainRun): string =>
  c.runs
    .map(
      (r) =>
        `${r.type} ${r.command} → ${r.code}${r.stdout.trim() ? ` ${r.stdout.trim()}` : ''}${r.stderr.trim() ? `\n  stderr: ${r.stderr.trim()}` : ''}`,
    )
    .join('\n');
