/**
 * A CNI configuration, the attachment parameters and the IPAM result → pipefitter's own attach
 * request, through the same parser and checks as `pipefitter attach` (model/input.ts), so the
 * two cannot drift. Its errors come back as CNI error 7 in the configuration's words (the key,
 * not the flag). Pure.
 */
import type { AttachRequest } from '../model/attachment.js';
import type { AttachInput } from '../model/input.js';
import { parseAttachInput } from '../model/input.js';
import { isPipefitterError } from '../errors.js';
import { shortHash } from '../names.js';
import type { NetConf } from './config.js';
import type { CniResult } from './types.js';
import { CNI_ERROR, CniError } from './types.js';
import { inConfigWords } from './words.js';

export { inConfigWords } from './words.js';

const isDefault = (dst: string): boolean => dst === '0.0.0.0/0' || dst === '::/0' || dst === 'default';
const familyOf = (a: string): 4 | 6 => (a.includes(':') ? 6 : 4);

export interface RequestParams {
  /** CNI_NETNS: the namespace path (pipefitter's path target). */
  readonly netns: string;
  /** CNI_IFNAME. */
  readonly ifname: string;
  /** The host end of a bridge port (hostIfnameOf). */
  readonly hostIfname?: string | undefined;
}

/** The interface pipefitter makes in the container: the configuration's `ifname`, else CNI_IFNAME. */
export const containerIfnameOf = (conf: NetConf, cniIfname: string): string =>
  conf.attach.ifname ?? cniIfname;

/**
 * The host end of a bridge port, named from the attachment's identity (network, container id,
 * interface): the same for an ADD and its DEL whatever the namespace path, so a DEL finds it
 * without entering the namespace. `pf` and 12 base-36 characters: 14 bytes.
 */
export const hostIfnameOf = (network: string, containerId: string, ifname: string): string =>
  `pf${shortHash(`cni\0${network}\0${containerId}\0${ifname}`, 12)}`;

/**
 * What `attach` would only find out late, or not at all, refused here in the configuration's
 * words: `mode` on a VLAN or a moved device (attach ignores it there), `mac` on an ipvlan (it
 * has its parent's MAC: the plan refuses it, once IPAM was asked).
 * @throws CniError 7 naming the key and the fix
 */
const checkKindKeys = (a: NetConf['attach']): void => {
  const way = a.vlan !== undefined ? 'vlan' : a.phys !== undefined ? 'phys' : undefined;
  if (a.mode !== undefined && way !== undefined)
    throw new CniError(
      CNI_ERROR.invalidConfig,
      `mode "${a.mode}": only applies to macvlan and ipvlan, not ${way}`,
      'drop mode',
    );
  if (a.ipvlan !== undefined && a.mac !== undefined)
    throw new CniError(
      CNI_ERROR.invalidConfig,
      `mac "${a.mac}": an ipvlan link shares its parent's MAC and cannot have its own`,
      'drop mac, or attach with macvlan',
    );
};

/**
 * The `attach` input for a configuration: its keys, plus the IPAM result's addresses and
 * routes. IPAM routes without `gw` take the gateway of their family from `ips` (section 5); a
 * default route becomes the gateway of its family (attach's `--gateway`), unless the
 * configuration names `gateway` itself.
 */
export const attachInputOf = (conf: NetConf, p: RequestParams, ipam?: CniResult): AttachInput => {
  const a = conf.attach;
  checkKindKeys(a);
  const ips = ipam?.ips ?? [];
  const gwOf = (family: 4 | 6): string | undefined =>
    ips.find((i) => i.gateway !== undefined && familyOf(i.address) === family)?.gateway;
  const gateways = new Map<4 | 6, string>();
  const routes: string[] = [];
  for (const r of [...(ipam?.routes ?? []), ...(a.routes ?? [])]) {
    const family = familyOf(r.dst);
    const via = r.gw ?? gwOf(family);
    if (isDefault(r.dst)) {
      if (via !== undefined && !gateways.has(family)) gateways.set(family, via);
      continue;
    }
    routes.push(via === undefined ? r.dst : `${r.dst}@${via}`);
  }
  const gateway = a.gateway ?? [...gateways.values()];
  return {
    target: p.netns,
    ifname: p.ifname,
    ...(a.ovs ? { ovs: a.bridge } : { bridge: a.bridge }),
    hostIfname: a.bridge === undefined ? undefined : p.hostIfname,
    macvlan: a.macvlan,
    ipvlan: a.ipvlan,
    vlan: a.vlan,
    phys: a.phys,
    mode: a.mode,
    vlanId: a.vlanId,
    trunk: a.trunk,
    mtu: a.mtu,
    mac: a.mac,
    ip: ips.map((i) => i.address),
    gateway,
    route: routes,
  };
};

/**
 * Check the configuration's own keys before anything is allocated; returns the request without
 * the IPAM result's addresses (gateways are checked against the addresses later).
 * @throws CniError 7 naming the key
 */
export const checkAttachKeys = (conf: NetConf, p: RequestParams): AttachRequest => {
  const input = attachInputOf(conf, p);
  return requestOfInput({ ...input, gateway: [] });
};

/**
 * The attach request for an ADD (or CHECK): configuration, parameters and IPAM result.
 * @throws CniError 7 naming the key and the fix
 */
export const attachRequestOf = (conf: NetConf, p: RequestParams, ipam?: CniResult): AttachRequest =>
  requestOfInput(attachInputOf(conf, p, ipam));

const requestOfInput = (input: AttachInput): AttachRequest => {
  try {
    return parseAttachInput(input);
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    const code = e.field === '--ifname' ? CNI_ERROR.invalidEnv : CNI_ERROR.invalidConfig;
    throw new CniError(
      code,
      inConfigWords(e.message),
      e.hint === undefined ? undefined : inConfigWords(e.hint),
      { cause: e },
    );
  }
};
