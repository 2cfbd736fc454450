/**
 * The CNI specification's data types (SPEC.md sections 1, 2 and 5), as pipefitter reads and
 * writes them. Pure: no I/O. Results are kept internally in the 1.1.0 shape and converted at the
 * edge (version.ts).
 */

/** The spec's well-known error codes (section 5, "Error"). 100 and up are pipefitter's own. */
export const CNI_ERROR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  notAvailableLimited: 51,
  /** pipefitter: the interface CNI_IFNAME already exists in the container (ADD). */
  interfaceExists: 100,
  /** pipefitter: a change failed and was rolled back (the attach's exit 1). */
  failed: 101,
  /** pipefitter: a change failed and the rollback did not finish (the attach's exit 3). */
  rollbackFailed: 102,
  /** pipefitter: the delegated IPAM plugin failed with no error object of its own. */
  ipamFailed: 103,
  /** pipefitter: CHECK found the attachment not as its result says (the message names what). */
  drift: 104,
} as const;

export type CniErrorCode = (typeof CNI_ERROR)[keyof typeof CNI_ERROR];

/** The error object printed on stdout (section 5, "Error"). */
export interface CniErrorObject {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string | undefined;
}

/** An error of the plugin: its code, a short message naming the key or variable, and the fix. */
export class CniError extends Error {
  readonly code: number;
  readonly details: string | undefined;
  constructor(code: number, msg: string, details?: string, opts?: { cause?: unknown }) {
    super(msg, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.details = details;
  }
  toObject(cniVersion: string): CniErrorObject {
    return {
      cniVersion,
      code: this.code,
      msg: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}
CniError.prototype.name = 'CniError';

export const isCniError = (e: unknown): e is CniError => e instanceof CniError;

/** The operations of section 2 (STATUS from 1.1.0). */
export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

export interface CniInterface {
  readonly name: string;
  readonly mac?: string | undefined;
  readonly mtu?: number | undefined;
  /** The netns path for an interface in the container; absent (or empty) on the host. */
  readonly sandbox?: string | undefined;
  readonly socketPath?: string | undefined;
  readonly pciID?: string | undefined;
}

export interface CniIpConfig {
  readonly address: string;
  readonly gateway?: string | undefined;
  /** Index into `interfaces`; absent in an IPAM plugin's result. */
  readonly interface?: number | undefined;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string | undefined;
  /** 1.1.0 only. */
  readonly mtu?: number | undefined;
  readonly advmss?: number | undefined;
  readonly priority?: number | undefined;
  readonly table?: number | undefined;
  readonly scope?: number | undefined;
}

export interface CniDns {
  readonly nameservers?: readonly string[] | undefined;
  readonly domain?: string | undefined;
  readonly search?: readonly string[] | undefined;
  readonly options?: readonly string[] | undefined;
}

/** An ADD result in the 1.1.0 shape (0.4.0's `version` in ips is added on output only). */
export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces?: readonly CniInterface[] | undefined;
  readonly ips?: readonly CniIpConfig[] | undefined;
  readonly routes?: readonly CniRoute[] | undefined;
  readonly dns?: CniDns | undefined;
}

/** The VERSION result. */
export interface CniVersionResult {
  readonly cniVersion: string;
  readonly supportedVersions: readonly string[];
}

/** One entry of `cni.dev/valid-attachments` (GC). */
export interface CniAttachmentId {
  readonly containerID: string;
  readonly ifname: string;
}
