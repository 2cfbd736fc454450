/**
 * pipefitter's own IPAM (`"ipam": {"type": "pipefitter", "subnet": ..., "pool": ...}`): the
 * address comes from the store recipes' `auto` addresses come from (ipam/store.ts, one locked
 * file for the host), so no two holders — containers of any network, recipes — ever get the same
 * address. Each lease is keyed by the attachment's identity (cni/lease.ts) and shows in
 * `pipefitter ipam ls`.
 *
 * ADD leases (the key's existing lease when it has one), DEL releases (a lease never made is
 * fine), CHECK compares the lease with `prevResult`, GC releases the network's leases of
 * attachments not in `cni.dev/valid-attachments`, STATUS is error 50 when the store cannot be
 * read or written.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { NetConf, OwnIpam } from '../cni/config.js';
import { cniLeaseKey, cniPoolId, parseCniLeaseKey } from '../cni/lease.js';
import type { CniCommand, CniResult } from '../cni/types.js';
import { CNI_ERROR, CniError } from '../cni/types.js';
import { isPipefitterError } from '../errors.js';
import { inPool } from '../ipam/pool.js';
import { defaultIpamDir, openFileStore } from '../ipam/store.js';

export interface OwnIpamCall {
  readonly conf: NetConf;
  readonly own: OwnIpam;
  readonly containerId?: string | undefined;
  readonly ifname?: string | undefined;
}

/** A store error as a CNI error: a full pool is 103, the store itself (lock, file) 5. */
const asCni = (e: unknown, doing: string): unknown => {
  if (!isPipefitterError(e)) return e;
  return new CniError(
    e.code === 'E_CONFLICT' ? CNI_ERROR.ipamFailed : CNI_ERROR.ioFailure,
    `ipam "pipefitter" ${doing}: ${e.message}`,
    e.hint,
    { cause: e },
  );
};

const keyOf = (call: OwnIpamCall): string =>
  cniLeaseKey(call.conf.name, call.containerId ?? '', call.ifname ?? '');

const lease = async (call: OwnIpamCall): Promise<CniResult> => {
  const { conf, own } = call;
  let address: string;
  try {
    address = (await openFileStore().allocate(cniPoolId(conf.name), own.pool, keyOf(call))).address;
  } catch (e) {
    throw asCni(e, 'ADD');
  }
  return {
    cniVersion: conf.cniVersion,
    ips: [{ address, ...(own.gateway !== undefined ? { gateway: own.gateway } : {}) }],
    routes: own.routes,
  };
};

const check = async (call: OwnIpamCall): Promise<void> => {
  const key = keyOf(call);
  let had;
  try {
    had = (await openFileStore().list()).find((a) => a.key === key);
  } catch (e) {
    throw asCni(e, 'CHECK');
  }
  if (had === undefined)
    throw new CniError(
      CNI_ERROR.drift,
      `ipam "pipefitter": no lease for ${key}`,
      'it was released (`pipefitter ipam release`, or a GC that did not list this attachment): DEL and ADD the attachment again',
    );
  if (had.pool !== cniPoolId(call.conf.name) || !inPool(call.own.pool, had.address))
    throw new CniError(
      CNI_ERROR.drift,
      `ipam "pipefitter": the lease ${had.address} of ${key} is not in ipam.pool ${call.own.pool.text}`,
      'the configuration changed since the ADD: DEL and ADD the attachment again',
    );
  const given = (call.conf.prevResult?.ips ?? []).map((i) => i.address);
  if (!given.includes(had.address))
    throw new CniError(
      CNI_ERROR.drift,
      `ipam "pipefitter": ${key} holds ${had.address}, prevResult has ${given.join(', ') || 'no address'}`,
      'DEL and ADD the attachment again',
    );
};

const collect = async (call: OwnIpamCall): Promise<void> => {
  const keep = new Set(
    (call.conf.validAttachments ?? []).map((a) => cniLeaseKey(call.conf.name, a.containerID, a.ifname)),
  );
  try {
    await openFileStore().releaseWhere(
      (a) => parseCniLeaseKey(a.key)?.network === call.conf.name && !keep.has(a.key),
    );
  } catch (e) {
    throw asCni(e, 'GC');
  }
};

const status = async (): Promise<void> => {
  const dir = defaultIpamDir();
  const unavailable = (why: string, fix: string): CniError =>
    new CniError(CNI_ERROR.notAvailable, `ipam "pipefitter": ${why}`, fix);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK);
  } catch (e) {
    throw unavailable(
      `${dir}: the address store is not writable (${(e as Error).message})`,
      'make it writable for root, or set PIPEFITTER_STATE_DIR',
    );
  }
  try {
    await openFileStore().list();
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    throw unavailable(e.message, e.hint ?? 'repair the address store');
  }
};

/** One operation of pipefitter's own IPAM; the lease as an IPAM result for ADD. */
export const ownIpam = async (call: OwnIpamCall, command: CniCommand): Promise<CniResult | undefined> => {
  switch (command) {
    case 'ADD':
      return lease(call);
    case 'DEL':
      try {
        await openFileStore().release(keyOf(call));
      } catch (e) {
        throw asCni(e, 'DEL');
      }
      return undefined;
    case 'CHECK':
      await check(call);
      return undefined;
    case 'GC':
      await collect(call);
      return undefined;
    case 'STATUS':
      await status();
      return undefined;
    case 'VERSION':
      return undefined;
  }
};
