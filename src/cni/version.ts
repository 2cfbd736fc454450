/**
 * Version negotiation and result conversion between the spec versions pipefitter speaks
 * (0.4.0, 1.0.0, 1.1.0). Pure.
 *
 * - 0.4.0 results carry `"version": "4"|"6"` in each `ips` entry (spec-v0.4.0 SPEC.md, "Result");
 *   1.0.0 dropped it.
 * - 1.1.0 added route `mtu`, `advmss`, `priority`, `table`, `scope` and interface `socketPath`,
 *   `pciID`; a 1.0.0 or 0.4.0 result leaves them out.
 */
import type { CniDns, CniInterface, CniIpConfig, CniResult, CniRoute, CniVersionResult } from './types.js';
import { CNI_ERROR, CniError } from './types.js';

/** Oldest first. */
export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

type Triple = readonly [number, number, number];

/** "1.0.0" → [1, 0, 0]; anything that is not MAJOR.MINOR.PATCH → undefined. */
export const parseVersion = (v: string): Triple | undefined => {
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
};

/** Negative, zero or positive as a is older, the same or newer than b (both valid). */
export const compareVersions = (a: string, b: string): number => {
  const x = parseVersion(a) ?? [0, 0, 0];
  const y = parseVersion(b) ?? [0, 0, 0];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

export const isSupported = (v: string): boolean => (SUPPORTED_VERSIONS as readonly string[]).includes(v);

/**
 * The version to speak for a configuration: the highest of `cniVersion` and `cniVersions`
 * (section 1, "Version considerations") that pipefitter supports.
 * @throws CniError 1 when none is supported, naming what was offered
 */
export const negotiateVersion = (cniVersion: string, cniVersions: readonly string[] = []): string => {
  const offered = [...new Set([cniVersion, ...cniVersions])];
  const common = offered.filter(isSupported).sort(compareVersions);
  const best = common[common.length - 1];
  if (best !== undefined) return best;
  throw new CniError(
    CNI_ERROR.incompatibleVersion,
    `cniVersion ${offered.map((v) => JSON.stringify(v)).join(', ')}: not supported by pipefitter`,
    `set "cniVersion" to one of ${SUPPORTED_VERSIONS.join(', ')} (or list one in "cniVersions")`,
  );
};

/** The highest version both sides support, or undefined. */
export const highestCommon = (ours: readonly string[], theirs: readonly string[]): string | undefined =>
  ours
    .filter((v) => theirs.includes(v))
    .sort(compareVersions)
    .pop();

/** The VERSION answer: `cniVersion` is the one given on input (section 5, "VERSION Success"). */
export const versionResult = (inputVersion: string | undefined): CniVersionResult => ({
  cniVersion: inputVersion ?? LATEST_VERSION,
  supportedVersions: [...SUPPORTED_VERSIONS],
});

const v11 = (version: string): boolean => compareVersions(version, '1.1.0') >= 0;

const ipFamily = (address: string): '4' | '6' => (address.includes(':') ? '6' : '4');

/**
 * A result as the given version prints it: 0.4.0 adds `version` to each ip, versions before
 * 1.1.0 drop 1.1.0's route and interface fields. Key order is stable (the spec's).
 */
export const resultForVersion = (r: CniResult, version: string): Record<string, unknown> => {
  const newer = v11(version);
  const old = compareVersions(version, '1.0.0') < 0;
  const iface = (i: CniInterface): CniInterface => ({
    name: i.name,
    ...(i.mac !== undefined ? { mac: i.mac } : {}),
    ...(i.mtu !== undefined && newer ? { mtu: i.mtu } : {}),
    ...(i.sandbox !== undefined ? { sandbox: i.sandbox } : {}),
    ...(i.socketPath !== undefined && newer ? { socketPath: i.socketPath } : {}),
    ...(i.pciID !== undefined && newer ? { pciID: i.pciID } : {}),
  });
  const ip = (i: CniIpConfig): Record<string, unknown> => ({
    ...(old ? { version: ipFamily(i.address) } : {}),
    address: i.address,
    ...(i.gateway !== undefined ? { gateway: i.gateway } : {}),
    ...(i.interface !== undefined ? { interface: i.interface } : {}),
  });
  const route = (x: CniRoute): CniRoute => ({
    dst: x.dst,
    ...(x.gw !== undefined ? { gw: x.gw } : {}),
    ...(newer
      ? {
          ...(x.mtu !== undefined ? { mtu: x.mtu } : {}),
          ...(x.advmss !== undefined ? { advmss: x.advmss } : {}),
          ...(x.priority !== undefined ? { priority: x.priority } : {}),
          ...(x.table !== undefined ? { table: x.table } : {}),
          ...(x.scope !== undefined ? { scope: x.scope } : {}),
        }
      : {}),
  });
  return {
    cniVersion: version,
    ...(r.interfaces !== undefined ? { interfaces: r.interfaces.map(iface) } : {}),
    ...(r.ips !== undefined ? { ips: r.ips.map(ip) } : {}),
    ...(r.routes !== undefined ? { routes: r.routes.map(route) } : {}),
    ...(r.dns !== undefined ? { dns: r.dns } : {}),
  };
};

// ---- decoding a result another plugin printed (IPAM, or a prevResult) ----

type Obj = Record<string, unknown>;
/** The object without its undefined keys (so that results compare and print as given). */
const compact = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (where: string, problem: string): CniError =>
  new CniError(
    CNI_ERROR.decodeFailure,
    `${where}: ${problem}`,
    'the plugin printed a result that is not a CNI result',
  );

const str = (o: Obj, k: string, where: string, required = false): string | undefined => {
  const v = o[k];
  if (v === undefined || (v === '' && !required)) {
    if (required) throw bad(`${where}.${k}`, 'missing');
    return undefined;
  }
  if (typeof v !== 'string') throw bad(`${where}.${k}`, 'not a string');
  return v;
};

const uint = (o: Obj, k: string, where: string): number | undefined => {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw bad(`${where}.${k}`, 'not a whole number');
  return v;
};

const strings = (o: Obj, k: string, where: string): readonly string[] | undefined => {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    throw bad(`${where}.${k}`, 'not a list of strings');
  return v as string[];
};

const list = (o: Obj, k: string, where: string): readonly Obj[] => {
  const v = o[k];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => !isObj(x))) throw bad(`${where}.${k}`, 'not a list of objects');
  return v as Obj[];
};

/**
 * Read a result of any version pipefitter speaks (and 0.3.x, whose shape is 0.4.0's) into the
 * 1.1.0 shape: 0.4.0's ip `version` is dropped (the address says it).
 * @throws CniError 6 naming the field that does not decode
 */
export const decodeResult = (raw: unknown, where = 'result'): CniResult => {
  if (!isObj(raw)) throw bad(where, 'not a JSON object');
  const cniVersion = str(raw, 'cniVersion', where) ?? LATEST_VERSION;
  const interfaces =
    raw.interfaces === undefined
      ? undefined
      : list(raw, 'interfaces', where).map((i, n) => {
          const w = `${where}.interfaces[${n}]`;
          return compact({
            name: str(i, 'name', w, true) as string,
            mac: str(i, 'mac', w),
            mtu: uint(i, 'mtu', w),
            sandbox: str(i, 'sandbox', w),
            socketPath: str(i, 'socketPath', w),
            pciID: str(i, 'pciID', w),
          });
        });
  const ips = list(raw, 'ips', where).map((i, n) => {
    const w = `${where}.ips[${n}]`;
    return compact({
      address: str(i, 'address', w, true) as string,
      gateway: str(i, 'gateway', w),
      interface: uint(i, 'interface', w),
    });
  });
  const routes = list(raw, 'routes', where).map((x, n) => {
    const w = `${where}.routes[${n}]`;
    return compact({
      dst: str(x, 'dst', w, true) as string,
      gw: str(x, 'gw', w),
      mtu: uint(x, 'mtu', w),
      advmss: uint(x, 'advmss', w),
      priority: uint(x, 'priority', w),
      table: uint(x, 'table', w),
      scope: uint(x, 'scope', w),
    });
  });
  let dns: CniDns | undefined;
  if (raw.dns !== undefined && raw.dns !== null) {
    if (!isObj(raw.dns)) throw bad(`${where}.dns`, 'not an object');
    const w = `${where}.dns`;
    dns = compact({
      nameservers: strings(raw.dns, 'nameservers', w),
      domain: str(raw.dns, 'domain', w),
      search: strings(raw.dns, 'search', w),
      options: strings(raw.dns, 'options', w),
    });
  }
  return compact({ cniVersion, interfaces, ips, routes, dns: dns && compactDns(dns) });
};

const compactDns = (d: CniDns): CniDns | undefined => {
  const out: { -readonly [K in keyof CniDns]: CniDns[K] } = {};
  if (d.nameservers?.length) out.nameservers = d.nameservers;
  if (d.domain) out.domain = d.domain;
  if (d.search?.length) out.search = d.search;
  if (d.options?.length) out.options = d.options;
  return Object.keys(out).length ? out : undefined;
};
