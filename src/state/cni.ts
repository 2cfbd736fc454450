/**
 * The CNI attachments pipefitter made, by their identity (network name, CNI_CONTAINERID,
 * CNI_IFNAME): `$PIPEFITTER_STATE_DIR/cni/NETWORK/CONTAINERID/IFNAME.json` (the interface name
 * percent-encoded). Written before an ADD changes anything and removed when its DEL is done,
 * so that DEL and GC find what an ADD made even when the namespace is gone (and a runtime's
 * netns path with it). Kept apart from `attachments/`: `watch` must not re-make what a runtime
 * owns.
 */
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { stateRoot } from '../paths.js';
import { writeFileAtomic } from './atomic.js';
import { BadState as Bad, readStateFile } from './state-file.js';

export interface CniRecord {
  readonly version: 1;
  readonly network: string;
  readonly containerId: string;
  readonly ifname: string;
  /** The interface made in the container when it is not CNI_IFNAME (the configuration's `ifname`). */
  readonly device?: string | undefined;
  /** CNI_NETNS at ADD. */
  readonly netns: string;
  /** The target's id as resolved at ADD (`netns:NAME`, `path:/x`, `pid:N`): what pipefitter's tags name. */
  readonly targetId: string;
  /** The way of attaching (`bridge`, `macvlan`, …) and its host object (the bridge, the parent). */
  readonly kind: string;
  readonly host: string;
  /** The host end of a bridge port, named from the identity (api/cni-add.ts). */
  readonly hostIfname?: string | undefined;
  /** The IPAM plugin asked for addresses, if any. */
  readonly ipam?: string | undefined;
  readonly addedAt: string;
}

export const cniDir = (): string => `${stateRoot()}/cni`;
const networkDir = (network: string): string => `${cniDir()}/${network}`;
const fileOf = (network: string, containerId: string, ifname: string): string =>
  `${networkDir(network)}/${containerId}/${encodeURIComponent(ifname)}.json`;

const decode = (v: unknown): CniRecord => {
  if (typeof v !== 'object' || v === null) throw new Bad('not an object');
  const o = v as Record<string, unknown>;
  if (o.version !== 1) throw new Bad('version must be 1');
  for (const k of ['network', 'containerId', 'ifname', 'netns', 'targetId', 'kind', 'host', 'addedAt'])
    if (typeof o[k] !== 'string' || o[k] === '') throw new Bad(`${k} must be a non-empty string`);
  for (const k of ['hostIfname', 'ipam', 'device'])
    if (o[k] !== undefined && typeof o[k] !== 'string') throw new Bad(`${k} must be a string`);
  return o as unknown as CniRecord;
};

export const writeCniRecord = async (r: CniRecord): Promise<void> => {
  const file = fileOf(r.network, r.containerId, r.ifname);
  await mkdir(`${networkDir(r.network)}/${r.containerId}`, { recursive: true, mode: 0o700 });
  // not fsynced: what it describes (the interfaces, a bridge's ports) goes with a power loss, and a
  // DEL without it still finds the rest by the configuration and the identity (api/cni-remove.ts);
  // the rename keeps a reader from ever seeing half of it. Two fsyncs were a tenth of a served ADD.
  await writeFileAtomic(file, `${JSON.stringify(r, null, 2)}\n`, { durable: false });
};

export const readCniRecord = (
  network: string,
  containerId: string,
  ifname: string,
): Promise<CniRecord | undefined> =>
  readStateFile(
    fileOf(network, containerId, ifname),
    'CNI attachment record',
    decode,
    'what this attachment made is then found by its DEL only while its namespace exists',
  );

/** Remove a record, and its container's directory once empty. Missing is fine. */
export const removeCniRecord = async (
  network: string,
  containerId: string,
  ifname: string,
): Promise<void> => {
  await rm(fileOf(network, containerId, ifname), { force: true });
  await rmdir(`${networkDir(network)}/${containerId}`).catch(() => undefined);
  await rmdir(networkDir(network)).catch(() => undefined);
};

/** Every record of a network (GC). */
export const listCniRecords = async (network: string): Promise<CniRecord[]> => {
  const out: CniRecord[] = [];
  const containers = await readdir(networkDir(network)).catch(() => [] as string[]);
  for (const c of containers) {
    const files = await readdir(`${networkDir(network)}/${c}`).catch(() => [] as string[]);
    for (const f of files.filter((x) => x.endsWith('.json'))) {
      const r = await readCniRecord(network, c, decodeURIComponent(f.slice(0, -'.json'.length)));
      if (r) out.push(r);
    }
  }
  return out;
};
