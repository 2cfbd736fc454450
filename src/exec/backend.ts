/**
 * Which backend changes and reads namespaces: netlink (in-process, the default) or ip (a process
 * per command, as before; `--backend ip`, PIPEFITTER_BACKEND=ip). Where koffi cannot load, the
 * ip backend runs and says why once.
 */
import { badInput } from '../errors.js';
import { NetlinkSession } from '../netlink/session.js';
import type { Libc } from '../netlink/socket.js';
import { loadLibc } from '../netlink/socket.js';

export const BACKENDS = ['netlink', 'ip'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface NetlinkBackend {
  readonly session: NetlinkSession;
  readonly libc: Libc;
}

export interface BackendChoice {
  readonly name: BackendName;
  /** Why this one (shown by doctor; the fallback's reason is also said once as a note). */
  readonly why: string;
  /** Set when pipefitter fell back to ip without being asked to. */
  readonly fallback?: string | undefined;
  readonly netlink?: NetlinkBackend | undefined;
}

/** PIPEFITTER_BACKEND, if set (`--backend` sets it); anything but netlink or ip is refused. */
export const backendFromEnv = (): BackendName | undefined => {
  const v = process.env.PIPEFITTER_BACKEND;
  if (v === undefined || v === '') return undefined;
  if (v === 'ip' || v === 'netlink') return v;
  throw badInput(
    'E_BAD_VALUE',
    'PIPEFITTER_BACKEND',
    v,
    'unknown backend',
    'set PIPEFITTER_BACKEND=netlink (in-process, the default) or PIPEFITTER_BACKEND=ip',
  );
};

/** @example chooseBackend('ip').name // 'ip' */
export const chooseBackend = (asked: BackendName | undefined = backendFromEnv()): BackendChoice => {
  if (asked === 'ip')
    return {
      name: 'ip',
      why: process.env.PIPEFITTER_BACKEND === 'ip' ? 'PIPEFITTER_BACKEND=ip' : 'asked for (--backend ip)',
    };
  const libc = loadLibc();
  if ('error' in libc)
    return {
      name: 'ip',
      why: `koffi cannot load here (${libc.error})`,
      fallback: `in-process netlink is not available (${libc.error}); running ip commands instead`,
    };
  return {
    name: 'netlink',
    why: asked === 'netlink' ? 'asked for' : 'koffi loads: rtnetlink in-process',
    netlink: { session: new NetlinkSession(libc), libc },
  };
};
