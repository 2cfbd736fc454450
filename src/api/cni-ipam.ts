/**
 * IPAM delegation (SPEC.md section 4): the IPAM plugin named by `ipam.type` is looked up in
 * CNI_PATH and run with the same environment and the whole configuration on stdin; its stderr
 * goes to ours. It is given the configuration's version, or — when it answers error 1
 * (incompatible version) — the newest version both speak, from its VERSION answer: Debian's
 * plugins (containernetworking-plugins 1.1.1) stop at 1.0.0. Its result is read into the 1.1.0
 * shape (cni/version.ts decodeResult). `"type": "pipefitter"` is not run: pipefitter hands out
 * the address itself (api/cni-own-ipam.ts).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Runner } from '../exec/runner.js';
import { HOST } from '../model/netns.js';
import type { NetConf } from '../cni/config.js';
import type { CniEnv } from '../cni/env.js';
import type { CniCommand, CniResult } from '../cni/types.js';
import { CNI_ERROR, CniError } from '../cni/types.js';
import { compareVersions, decodeResult, highestCommon, SUPPORTED_VERSIONS } from '../cni/version.js';
import { ownIpam } from './cni-own-ipam.js';

export interface IpamCall {
  readonly runner: Runner;
  readonly conf: NetConf;
  readonly env: CniEnv;
  readonly log: (line: string) => void;
  /** Another attachment's identity (GC releasing a stale one). */
  readonly containerId?: string | undefined;
  readonly ifname?: string | undefined;
}

/** The first `DIR/TYPE` of the CNI_PATH directories that is executable (libcni's FindInPath). */
export const findInPath = async (type: string, path: readonly string[]): Promise<string | undefined> => {
  for (const dir of path) {
    const file = `${dir.replace(/\/+$/, '')}/${type}`;
    if (
      await access(file, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return file;
  }
  return undefined;
};

/** The plugin's file: the first `DIR/TYPE` in CNI_PATH that is executable. */
export const findPlugin = async (type: string, path: readonly string[]): Promise<string> => {
  if (path.length === 0)
    throw new CniError(
      CNI_ERROR.invalidEnv,
      `CNI_PATH: not set (needed to find the IPAM plugin "${type}")`,
      'the runtime sets CNI_PATH to its plugin directories, e.g. /opt/cni/bin',
    );
  const file = await findInPath(type, path);
  if (file !== undefined) return file;
  throw new CniError(
    CNI_ERROR.invalidConfig,
    `ipam.type "${type}": no such plugin in CNI_PATH (${path.join(':')})`,
    `install the "${type}" plugin into one of those directories, or name another IPAM plugin`,
  );
};

interface Raw {
  readonly failed: boolean;
  readonly stdout: string;
}

const exec = async (call: IpamCall, file: string, command: CniCommand, cniVersion: string): Promise<Raw> => {
  // the call's own parameters, given whole: `pipefitter cni serve` runs calls with none in its environment
  const env: Record<string, string> = { CNI_COMMAND: command };
  const containerId = call.containerId ?? call.env.containerId;
  const ifname = call.ifname ?? call.env.ifname;
  if (containerId !== undefined) env.CNI_CONTAINERID = containerId;
  if (call.env.netns !== undefined) env.CNI_NETNS = call.env.netns;
  if (ifname !== undefined) env.CNI_IFNAME = ifname;
  if (call.env.args.length) env.CNI_ARGS = call.env.args.map(([k, v]) => `${k}=${v}`).join(';');
  if (call.env.path.length) env.CNI_PATH = call.env.path.join(':');
  const input = JSON.stringify({ ...call.conf.raw, cniVersion });
  const r = await call.runner.run([file], { netns: HOST, input, env });
  for (const line of r.stderr.split('\n').filter((l) => l.trim() !== ''))
    call.log(`${call.conf.ipam?.type}: ${line}`);
  if (r.failed && r.exitCode === undefined)
    throw new CniError(
      CNI_ERROR.ipamFailed,
      `ipam "${call.conf.ipam?.type}": ${r.reason ?? 'did not run'}`,
      r.stderr || undefined,
    );
  return { failed: r.failed, stdout: r.stdout };
};

/** The error object the plugin printed, as a CniError of the same code. */
const errorOf = (type: string, command: CniCommand, raw: Raw): CniError => {
  try {
    const o = JSON.parse(raw.stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof o.code === 'number' && typeof o.msg === 'string')
      return new CniError(
        o.code,
        `ipam "${type}" ${command}: ${o.msg}`,
        typeof o.details === 'string' ? o.details : undefined,
      );
  } catch {
    // not an error object: below
  }
  return new CniError(
    CNI_ERROR.ipamFailed,
    `ipam "${type}" ${command}: failed`,
    raw.stdout.trim() || undefined,
  );
};

/**
 * Run the IPAM plugin for `command`; its result for ADD (undefined for the others).
 * @throws CniError: the plugin's own error (its code, its message after `ipam "TYPE" COMMAND: `)
 */
export const delegateIpam = async (call: IpamCall, command: CniCommand): Promise<CniResult | undefined> => {
  const type = call.conf.ipam?.type;
  if (type === undefined) return undefined;
  const own = call.conf.ipam?.own;
  if (own !== undefined)
    return ownIpam(
      {
        conf: call.conf,
        own,
        containerId: call.containerId ?? call.env.containerId,
        ifname: call.ifname ?? call.env.ifname,
      },
      command,
    );
  const file = await findPlugin(type, call.env.path);
  let version = call.conf.cniVersion;
  let raw = await exec(call, file, command, version);
  if (raw.failed && errorOf(type, command, raw).code === CNI_ERROR.incompatibleVersion) {
    const theirs = await ipamVersions(call);
    // never newer than the configuration's own version
    const common = highestCommon(
      SUPPORTED_VERSIONS.filter((x) => compareVersions(x, version) <= 0),
      theirs,
    );
    if (common === undefined || common === version) throw errorOf(type, command, raw);
    version = common;
    raw = await exec(call, file, command, version);
  }
  if (raw.failed) throw errorOf(type, command, raw);
  if (command !== 'ADD') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(raw.stdout);
  } catch {
    throw new CniError(
      CNI_ERROR.decodeFailure,
      `ipam "${type}" ADD: its result is not JSON`,
      raw.stdout.slice(0, 200),
    );
  }
  return decodeResult(doc, `ipam "${type}" result`);
};

/** The versions the IPAM plugin says it speaks (its VERSION answer); empty when it does not answer. */
export const ipamVersions = async (call: IpamCall): Promise<string[]> => {
  const type = call.conf.ipam?.type;
  if (type === undefined) return [];
  if (call.conf.ipam?.own !== undefined) return [...SUPPORTED_VERSIONS];
  const file = await findPlugin(type, call.env.path);
  const v = await exec(call, file, 'VERSION', call.conf.cniVersion);
  try {
    const o = JSON.parse(v.stdout) as { supportedVersions?: unknown };
    return Array.isArray(o.supportedVersions)
      ? o.supportedVersions.filter((x): x is string => typeof x === 'string')
      : [];
  } catch {
    return [];
  }
};
