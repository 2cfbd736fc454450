/**
 * The network configuration a runtime passes on stdin (SPEC.md section 1 and section 3,
 * "Deriving request configuration"), decoded and checked. Pure.
 *
 * Errors: JSON that does not parse is 6 (decode), a version pipefitter does not speak is 1, a
 * key of the wrong shape is 7 (invalid network config), each naming the key and the fix.
 * Keys pipefitter does not know are allowed (section 1: "Plugin configuration objects may
 * contain additional fields").
 */
import { parseCidr, parseIp } from '../addr.js';
import { isPipefitterError } from '../errors.js';
import type { Pool } from '../ipam/pool.js';
import { inPool, parsePool } from '../ipam/pool.js';
import type { CniAttachmentId, CniDns, CniResult } from './types.js';
import { CNI_ERROR, CniError } from './types.js';
import { decodeResult, negotiateVersion, LATEST_VERSION } from './version.js';
import { parseIfName } from '../names.js';

/** pipefitter's own keys, in the vocabulary of `attach` and recipes. */
export interface AttachKeys {
  readonly bridge?: string | undefined;
  /** With `bridge`: an Open vSwitch bridge rather than a Linux one. */
  readonly ovs?: boolean | undefined;
  readonly macvlan?: string | undefined;
  readonly ipvlan?: string | undefined;
  readonly vlan?: string | undefined;
  readonly phys?: string | undefined;
  readonly mode?: string | undefined;
  readonly vlanId?: number | undefined;
  readonly trunk?: readonly number[] | undefined;
  readonly mtu?: number | undefined;
  readonly mac?: string | undefined;
  readonly routes?: readonly { readonly dst: string; readonly gw?: string | undefined }[] | undefined;
  readonly gateway?: readonly string[] | undefined;
  /**
   * The interface to make in the container, when not CNI_IFNAME: in a chain after a plugin that
   * made CNI_IFNAME itself (the reference `bridge`), pipefitter adds a second interface. The
   * attachment is still known by CNI_IFNAME (records, IPAM, GC's valid attachments).
   */
  readonly ifname?: string | undefined;
}

/** The ways to attach: exactly one is given. */
export const ATTACH_WAYS = ['bridge', 'macvlan', 'ipvlan', 'vlan', 'phys'] as const;

/**
 * `"ipam": {"type": "pipefitter", ...}`: an address from pipefitter's own store (the one recipes'
 * `auto` addresses come from), in a recipe network's words: `subnet`, `pool` (a range or a CIDR
 * inside it; the whole subnet when absent), `gateway` (never handed out), `routes`.
 */
export interface OwnIpam {
  /** Canonical network, e.g. "198.51.100.0/24". */
  readonly subnet: string;
  readonly pool: Pool;
  /** Bare address. */
  readonly gateway?: string | undefined;
  readonly routes: readonly { readonly dst: string; readonly gw?: string | undefined }[];
}

export interface IpamConf {
  readonly type: string;
  /** Set when `type` is "pipefitter": pipefitter hands out the address itself. */
  readonly own?: OwnIpam | undefined;
}

export interface NetConf {
  /** The version negotiated from `cniVersion` and `cniVersions`. */
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  readonly attach: AttachKeys;
  readonly ipam?: IpamConf | undefined;
  readonly dns?: CniDns | undefined;
  readonly prevResult?: CniResult | undefined;
  /** GC: `cni.dev/valid-attachments`. */
  readonly validAttachments?: readonly CniAttachmentId[] | undefined;
  /** The object as given, passed whole to a delegated IPAM plugin (section 4). */
  readonly raw: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const invalid = (key: string, value: unknown, problem: string, fix: string): CniError =>
  new CniError(
    CNI_ERROR.invalidConfig,
    value === undefined ? `${key}: ${problem}` : `${key} ${JSON.stringify(value)}: ${problem}`,
    fix,
  );

/** Network names: an alphanumeric, then alphanumerics, `_`, `.`, `-` (section 1). */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const optString = (o: Obj, key: string, fix: string): string | undefined => {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(key, v, 'not a non-empty string', fix);
  return v;
};

const optInt = (o: Obj, key: string, fix: string): number | undefined => {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(key, v, 'not a whole number', fix);
  return v;
};

/** Parse the JSON text from stdin. @throws CniError 6 when it is not a JSON object */
export const decodeConfigText = (text: string): Obj => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CniError(
      CNI_ERROR.decodeFailure,
      `network configuration on stdin: not JSON (${(e as Error).message})`,
      'pass the plugin configuration object as JSON on stdin',
    );
  }
  if (!isObj(doc))
    throw new CniError(
      CNI_ERROR.decodeFailure,
      'network configuration on stdin: not a JSON object',
      'pass the plugin configuration object, e.g. {"cniVersion":"1.1.0","name":"lab","type":"pipefitter","bridge":"br-lab"}',
    );
  return doc;
};

/** The version of a configuration only (VERSION, and the error object of a later failure). */
export const configVersion = (o: Obj): string | undefined =>
  typeof o.cniVersion === 'string' && o.cniVersion !== '' ? o.cniVersion : undefined;

const parseVersions = (o: Obj): string => {
  const v = o.cniVersion;
  if (v === undefined || v === '')
    throw invalid('cniVersion', undefined, 'missing', `add "cniVersion": "${LATEST_VERSION}"`);
  if (typeof v !== 'string')
    throw invalid('cniVersion', v, 'not a string', `write it as a string, e.g. "${LATEST_VERSION}"`);
  const list = o.cniVersions;
  if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== 'string')))
    throw invalid('cniVersions', list, 'not a list of strings', 'write it as e.g. ["1.0.0", "1.1.0"]');
  return negotiateVersion(v, (list as string[] | undefined) ?? []);
};

const parseAttachKeys = (o: Obj): AttachKeys => {
  const ifaceHint = (k: string): string =>
    `give the name of a host interface, e.g. "${k}": "${k === 'bridge' ? 'br-lab' : 'eth1'}"`;
  const bridge = optString(o, 'bridge', ifaceHint('bridge'));
  const macvlan = optString(o, 'macvlan', ifaceHint('macvlan'));
  const ipvlan = optString(o, 'ipvlan', ifaceHint('ipvlan'));
  const vlan = optString(o, 'vlan', ifaceHint('vlan'));
  const phys = optString(o, 'phys', ifaceHint('phys'));
  const given = ATTACH_WAYS.filter((k) => o[k] !== undefined);
  if (given.length !== 1)
    throw invalid(
      given.length ? given.join(', ') : 'bridge|macvlan|ipvlan|vlan|phys',
      undefined,
      given.length ? 'only one way of attaching can be given' : 'missing: say how to attach',
      'give exactly one of "bridge", "macvlan", "ipvlan", "vlan", "phys", e.g. "bridge": "br-lab"',
    );
  const ovs = o.ovs;
  if (ovs !== undefined && typeof ovs !== 'boolean')
    throw invalid('ovs', ovs, 'not true or false', 'write "ovs": true for an Open vSwitch bridge');
  if (ovs === true && bridge === undefined)
    throw invalid('ovs', ovs, 'only applies to "bridge"', 'drop "ovs", or attach with "bridge"');
  const mode = optString(o, 'mode', 'e.g. "mode": "bridge" (macvlan) or "mode": "l2" (ipvlan)');
  const vlanId = optInt(o, 'vlanId', 'write it as a number, e.g. "vlanId": 10');
  let trunk: number[] | undefined;
  if (o.trunk !== undefined) {
    if (!Array.isArray(o.trunk) || o.trunk.some((x) => typeof x !== 'number' || !Number.isInteger(x)))
      throw invalid(
        'trunk',
        o.trunk,
        'not a list of VLAN ids',
        'write it as a list of numbers, e.g. "trunk": [10, 20]',
      );
    trunk = o.trunk as number[];
  }
  const mtu = optInt(o, 'mtu', 'write it as a number, e.g. "mtu": 1400');
  const mac = optString(o, 'mac', 'write it as a string, e.g. "mac": "02:42:c0:00:02:0a"');
  const ifname = optString(o, 'ifname', 'name the interface to make in the container, e.g. "ifname": "eth1"');
  if (ifname !== undefined)
    try {
      parseIfName(ifname, 'ifname');
    } catch (e) {
      if (!isPipefitterError(e)) throw e;
      throw invalid(
        'ifname',
        ifname,
        e.message.replace(/^ifname( "[^"]*")?: /, ''),
        e.hint ?? 'use 1-15 bytes, no "/", ":" or spaces, e.g. "ifname": "eth1"',
      );
    }
  let routes: { dst: string; gw?: string | undefined }[] | undefined;
  if (o.routes !== undefined) {
    const fix =
      'write routes as a list of {"dst": CIDR, "gw": ADDRESS}, e.g. [{"dst": "203.0.113.0/24", "gw": "198.51.100.1"}]';
    if (!Array.isArray(o.routes)) throw invalid('routes', o.routes, 'not a list', fix);
    routes = o.routes.map((r: unknown, i) => {
      if (!isObj(r) || typeof r.dst !== 'string' || (r.gw !== undefined && typeof r.gw !== 'string'))
        throw invalid(`routes[${i}]`, r, 'not a route', fix);
      return { dst: r.dst, ...(r.gw !== undefined ? { gw: r.gw } : {}) };
    });
  }
  let gateway: string[] | undefined;
  if (o.gateway !== undefined) {
    const g = o.gateway;
    if (typeof g === 'string') gateway = [g];
    else if (Array.isArray(g) && g.every((x) => typeof x === 'string')) gateway = g;
    else
      throw invalid(
        'gateway',
        g,
        'not an address or a list of addresses',
        'write e.g. "gateway": "198.51.100.1" (one per IP family)',
      );
  }
  return {
    bridge,
    ovs: ovs,
    macvlan,
    ipvlan,
    vlan,
    phys,
    mode,
    vlanId,
    trunk,
    mtu,
    mac,
    routes,
    gateway,
    ifname,
  };
};

const parseIpam = (o: Obj): IpamConf | undefined => {
  const i = o.ipam;
  if (i === undefined || (isObj(i) && Object.keys(i).length === 0)) return undefined;
  const fix = 'write e.g. "ipam": {"type": "host-local", "subnet": "198.51.100.0/24"}';
  if (!isObj(i)) throw invalid('ipam', i, 'not an object', fix);
  if (typeof i.type !== 'string' || i.type === '')
    throw invalid('ipam.type', i.type, 'missing: name the IPAM plugin', fix);
  if (/[/\\\0]/.test(i.type) || i.type === '.' || i.type === '..')
    throw invalid(
      'ipam.type',
      i.type,
      'not a plugin name',
      'give the file name of a plugin in CNI_PATH, e.g. "host-local"',
    );
  if (i.type === 'pipefitter') return { type: i.type, own: parseOwnIpam(i) };
  return { type: i.type };
};

const OWN_EXAMPLE =
  '"ipam": {"type": "pipefitter", "subnet": "198.51.100.0/24", "pool": "198.51.100.100-198.51.100.199", "gateway": "198.51.100.1"}';

/** A PipefitterError of the pool parser → error 7 in the configuration's words. */
const asInvalid = <T>(fn: () => T): T => {
  try {
    return fn();
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    throw new CniError(CNI_ERROR.invalidConfig, e.message, e.hint, { cause: e });
  }
};

/** `"ipam": {"type": "pipefitter", ...}` (OwnIpam). @throws CniError 7 naming the key */
const parseOwnIpam = (i: Obj): OwnIpam => {
  for (const k of ['ranges', 'range', 'rangeStart', 'rangeEnd', 'dataDir'])
    if (i[k] !== undefined)
      throw invalid(
        `ipam.${k}`,
        i[k],
        'a host-local key: pipefitter\'s own IPAM takes "subnet", "pool", "gateway" and "routes"',
        `write e.g. ${OWN_EXAMPLE}`,
      );
  const subnetText = i.subnet;
  if (typeof subnetText !== 'string' || subnetText === '')
    throw invalid(
      'ipam.subnet',
      subnetText,
      subnetText === undefined ? 'missing: the network the addresses are in' : 'not a CIDR string',
      `write e.g. ${OWN_EXAMPLE}`,
    );
  const subnet = asInvalid(() => parseCidr(subnetText, 'ipam.subnet'));
  if (subnet.text !== subnet.network)
    throw invalid('ipam.subnet', subnetText, 'host bits are set', `write the network: "${subnet.network}"`);
  let gateway: string | undefined;
  if (i.gateway !== undefined) {
    const g = i.gateway;
    if (typeof g !== 'string')
      throw invalid('ipam.gateway', g, 'not an address string', 'write e.g. "gateway": "198.51.100.1"');
    const ip = asInvalid(() => parseIp(g, 'ipam.gateway'));
    const whole = asInvalid(() => parsePool(subnet.network, 'ipam.subnet'));
    if (ip.family !== subnet.family || !inPool(whole, ip.address))
      throw invalid(
        'ipam.gateway',
        g,
        `not a host address of the subnet ${subnet.network}`,
        `give an address inside ${subnet.network}, e.g. "${subnet.family === 4 ? '198.51.100.1' : '2001:db8::1'}"`,
      );
    gateway = ip.address;
  }
  const poolText = i.pool ?? subnet.network;
  if (typeof poolText !== 'string' || poolText === '')
    throw invalid(
      'ipam.pool',
      poolText,
      'not a range or CIDR string',
      'write e.g. "pool": "198.51.100.100-198.51.100.199", or leave it out for the whole subnet',
    );
  const pool = asInvalid(() =>
    parsePool(poolText, 'ipam.pool', subnet, gateway === undefined ? [] : [gateway]),
  );
  const fix =
    'write routes as a list of {"dst": CIDR} (via the gateway) or {"dst": CIDR, "gw": ADDRESS}, e.g. [{"dst": "0.0.0.0/0"}]';
  let routes: { dst: string; gw?: string | undefined }[] = [];
  if (i.routes !== undefined) {
    if (!Array.isArray(i.routes)) throw invalid('ipam.routes', i.routes, 'not a list', fix);
    routes = i.routes.map((r: unknown, n) => {
      if (!isObj(r) || typeof r.dst !== 'string' || (r.gw !== undefined && typeof r.gw !== 'string'))
        throw invalid(`ipam.routes[${n}]`, r, 'not a route', fix);
      return { dst: r.dst, ...(r.gw !== undefined ? { gw: r.gw } : {}) };
    });
  }
  return { subnet: subnet.network, pool, gateway, routes };
};

const parseValidAttachments = (o: Obj): CniAttachmentId[] | undefined => {
  const key = 'cni.dev/valid-attachments';
  const v = o[key];
  if (v === undefined) return undefined;
  const fix = 'the runtime passes a list of {"containerID": ID, "ifname": NAME}';
  if (!Array.isArray(v)) throw invalid(key, v, 'not a list', fix);
  return v.map((a: unknown, i) => {
    if (!isObj(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string')
      throw invalid(`${key}[${i}]`, a, 'not an attachment', fix);
    return { containerID: a.containerID, ifname: a.ifname };
  });
};

/**
 * Decode and check a plugin configuration for an operation other than VERSION.
 * @throws CniError 6 (not JSON), 1 (version), 7 (a key; the message names it)
 */
export const parseNetConf = (text: string): NetConf => {
  const o = decodeConfigText(text);
  const cniVersion = parseVersions(o);
  const name = o.name;
  if (typeof name !== 'string' || !NETWORK_NAME.test(name))
    throw invalid(
      'name',
      name,
      name === undefined ? 'missing' : 'not a network name',
      'start with a letter or digit, then letters, digits, "_", "." or "-", e.g. "name": "lab"',
    );
  const type = o.type;
  if (typeof type !== 'string' || type === '')
    throw invalid('type', type, 'missing', 'add "type": "pipefitter" (the plugin file name)');
  const prevResult =
    o.prevResult === undefined || o.prevResult === null
      ? undefined
      : decodeResult(o.prevResult, 'prevResult');
  let dns: CniDns | undefined;
  if (o.dns !== undefined) {
    if (!isObj(o.dns))
      throw invalid('dns', o.dns, 'not an object', 'write e.g. "dns": {"nameservers": ["198.51.100.1"]}');
    dns = decodeResult({ dns: o.dns }, 'config').dns;
  }
  return {
    cniVersion,
    name,
    type,
    attach: parseAttachKeys(o),
    ipam: parseIpam(o),
    dns,
    prevResult,
    validAttachments: parseValidAttachments(o),
    raw: o,
  };
};
