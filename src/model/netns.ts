/** A reference to a network namespace; every command names the one it runs in. */
export type NetnsRef =
  /** The namespace pipefitter itself runs in. */
  | { readonly kind: 'host' }
  /** A named namespace under /run/netns. */
  | { readonly kind: 'name'; readonly name: string }
  /** A namespace file (a bind mount or /proc/PID/ns/net). */
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'pid'; readonly pid: number };

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
