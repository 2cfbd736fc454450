/** Kernel errors of netlink requests: errno → the failure reasons the rest of pipefitter branches on. */
import type { FailureReason } from '../errors.js';

/** errno values (asm-generic/errno-base.h, errno.h) and the text `ip` prints for them. */
const ERRNO: Readonly<Record<number, readonly [string, string]>> = {
  1: ['EPERM', 'Operation not permitted'],
  2: ['ENOENT', 'No such file or directory'],
  3: ['ESRCH', 'No such process'],
  13: ['EACCES', 'Permission denied'],
  16: ['EBUSY', 'Device or resource busy'],
  17: ['EEXIST', 'File exists'],
  19: ['ENODEV', 'No such device'],
  22: ['EINVAL', 'Invalid argument'],
  34: ['ERANGE', 'Numerical result out of range'],
  61: ['ENODATA', 'No data available'],
  93: ['EPROTONOSUPPORT', 'Protocol not supported'],
  95: ['EOPNOTSUPP', 'Operation not supported'],
  97: ['EAFNOSUPPORT', 'Address family not supported by protocol'],
  98: ['EADDRINUSE', 'Address already in use'],
  99: ['EADDRNOTAVAIL', 'Cannot assign requested address'],
  100: ['ENETDOWN', 'Network is down'],
  101: ['ENETUNREACH', 'Network is unreachable'],
  105: ['ENOBUFS', 'No buffer space available'],
  107: ['ENOTCONN', 'Transport endpoint is not connected'],
  110: ['ETIMEDOUT', 'Connection timed out'],
};

export const errnoName = (errno: number): string => ERRNO[errno]?.[0] ?? `errno ${errno}`;
export const errnoText = (errno: number): string => ERRNO[errno]?.[1] ?? `errno ${errno}`;

/**
 * The reason the runner would have classified from `ip`'s stderr for the same failure.
 * @example reasonOf(17) // 'exists'
 */
export const reasonOf = (errno: number): FailureReason => {
  switch (errno) {
    case 17:
    case 98:
      return 'exists';
    case 16:
      return 'busy';
    case 1:
    case 13:
      return 'perm';
    case 93:
    case 95:
    case 97:
      return 'unsupported';
    case 2:
    case 3:
    case 19:
    case 99:
      return 'not-found';
    case 110:
      return 'timeout';
    default:
      return 'other';
  }
};

/** A failed netlink request: errno, the kernel's extended-ack message, the reason. */
export class NetlinkError extends Error {
  readonly errno: number;
  readonly reason: FailureReason;
  readonly extack: string | undefined;
  constructor(errno: number, extack: string | undefined, what: string) {
    super(`${what}: ${extack ? `${extack} (${errnoText(errno)})` : errnoText(errno)}`);
    this.errno = errno;
    this.reason = reasonOf(errno);
    this.extack = extack;
  }
}
NetlinkError.prototype.name = 'NetlinkError';
