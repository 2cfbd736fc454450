/** Kernel interface-name rules and the deterministic names pipefitter generates. */
import { createHash } from 'node:crypto';
import { badInput } from './errors.js';

declare const ifNameBrand: unique symbol;
/** A name the kernel accepts for a network interface (checked by parseIfName). */
export type IfName = string & { readonly [ifNameBrand]: true };

/** IFNAMSIZ is 16 including the terminating NUL. */
export const IFNAME_MAX_BYTES = 15;

const problemOf = (name: string): { code: 'E_NAME_TOO_LONG' | 'E_BAD_NAME'; problem: string } | undefined => {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return { code: 'E_BAD_NAME', problem: 'interface name is empty' };
  if (bytes > IFNAME_MAX_BYTES)
    return {
      code: 'E_NAME_TOO_LONG',
      problem: `interface name is ${bytes} bytes; the kernel allows at most ${IFNAME_MAX_BYTES}`,
    };
  if (name === '.' || name === '..')
    return { code: 'E_BAD_NAME', problem: 'interface name cannot be "." or ".."' };
  // eslint-disable-next-line no-control-regex
  const bad = /[/:\s\u0000]/.exec(name);
  if (bad) {
    const ch = bad[0] === '\u0000' ? 'NUL' : bad[0] === '/' || bad[0] === ':' ? `"${bad[0]}"` : 'whitespace';
    return { code: 'E_BAD_NAME', problem: `interface name contains ${ch}, which the kernel refuses` };
  }
  // Names travel only as argv, never through a shell; this refuses shell and ip keywords' specials anyway.
  if (/[;&|$`'"\\<>(){}*?!#~]/.test(name))
    return { code: 'E_BAD_NAME', problem: 'interface name contains a shell metacharacter' };
  if (name.startsWith('-')) return { code: 'E_BAD_NAME', problem: 'interface name cannot start with "-"' };
  return undefined;
};

export const isIfName = (name: string): name is IfName => problemOf(name) === undefined;

/**
 * Parse an interface name given by a user.
 * @example parseIfName('eth1', '--ifname') // 'eth1'
 */
export const parseIfName = (value: string, field: string): IfName => {
  const p = problemOf(value);
  if (p)
    throw badInput(
      p.code,
      field,
      value,
      p.problem,
      p.code === 'E_NAME_TOO_LONG'
        ? `choose a name of 1-${IFNAME_MAX_BYTES} bytes, e.g. ${value.slice(0, 10)}`
        : 'use letters, digits, "-", "_" or "." (e.g. eth1, lan0, br-lab)',
    );
  return value as IfName;
};

/** For names pipefitter itself builds and has proven to fit. */
export const asIfName = (value: string): IfName => {
  if (!isIfName(value)) throw new Error(`internal: generated interface name "${value}" is not valid`);
  return value;
};

/** A short stable hash in base 36 (lowercase letters and digits). */
export const shortHash = (input: string, length = 8): string => {
  const hex = createHash('sha256').update(input).digest('hex').slice(0, 16);
  return BigInt(`0x${hex}`).toString(36).padStart(length, '0').slice(0, length);
};

/**
 * The host-side name of a veth whose other end is `ifname` in the target.
 * pipework's `v<ifname>pl<pid>` when the target has a PID and it fits (so pipework users find
 * their links where they expect them); otherwise `pf` + a hash of the target identity and ifname.
 */
export const hostSideName = (
  target: { readonly id: string; readonly pid?: number | undefined },
  ifname: IfName,
): IfName => {
  if (target.pid !== undefined) {
    const pipework = `v${ifname}pl${target.pid}`;
    if (isIfName(pipework)) return pipework;
  }
  return asIfName(`pf${shortHash(`${target.id}/${ifname}`, 10)}`);
};
