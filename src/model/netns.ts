/**
 * Which namespace a reference meant when its target was resolved: "dev:ino" of the namespace
 * file and when that namespace was born there (netlink/ns-identity.ts). Both backends refuse a
 * step whose file names another namespace by then (a container restarted, a name re-created, a
 * PID reused), so nothing planned or replayed reaches a namespace it was not planned for.
 */
interface Identified {
  readonly identity?: string | undefined;
}

/** A reference to a network namespace; every command names the one it runs in. */
export type NetnsRef =
  /** The namespace pipefitter itself runs in. */
  | { readonly kind: 'host' }
  /** A named namespace under /run/netns. */
  | ({ readonly kind: 'name'; readonly name: string } & Identified)
  /** A namespace file (a bind mount or /proc/PID/ns/net). */
  | ({ readonly kind: 'path'; readonly path: string } & Identified)
  | ({ readonly kind: 'pid'; readonly pid: number } & Identified);

/** The identity a reference carries, if any. */
export const identityOf = (ns: NetnsRef): string | undefined =>
  ns.kind === 'host' ? undefined : ns.identity;

export const HOST: NetnsRef = { kind: 'host' };

export const NETNS_RUN_DIR = '/run/netns';

/** The file that holds the namespace, for `nsenter --net=`. Undefined for the host. */
export const netnsPath = (ns: NetnsRef): string | undefined => {
  switch (ns.kind) {
    case 'host':
      return undefined;
    case 'name':
      return `${NETNS_RUN_DIR}/${ns.name}`;
    case 'path':
      return ns.path;
    case 'pid':
      return `/proc/${ns.pid}/ns/net`;
  }
};

/** A stable key for grouping and display, e.g. "host", "netns:r1", "pid:4242". */
export const netnsKey = (ns: NetnsRef): string => {
  switch (ns.kind) {
    case 'host':
      return 'host';
    case 'name':
      return `netns:${ns.name}`;
    case 'path':
      return `path:${ns.path}`;
    case 'pid':
      return `pid:${ns.pid}`;
  }
};

export const sameNetns = (a: NetnsRef, b: NetnsRef): boolean => netnsKey(a) === netnsKey(b);
