/**
 * Do namespaces mounted here outlive pipefitter? `ip netns add NAME` bind-mounts the namespace
 * on /run/netns/NAME in pipefitter's mount namespace. Under `ip netns exec`, that is a private
 * copy whose mounts are slaves of the machine's: a mount made in it never reaches the machine's,
 * and when pipefitter exits the namespace is gone, an empty file left in /run/netns.
 *
 * Read from /proc/PID/mountinfo (proc(5)): the mount that holds /run/netns here and in PID 1's
 * mount namespace. The same mount (one mount ID: a mount belongs to one namespace) is the same
 * namespace; otherwise a mount made here propagates there only when ours is `shared:N` and
 * theirs is in that peer group (`shared:N`) or its slave (`master:N`).
 */
import { readFileSync } from 'node:fs';
import { refuse } from '../errors.js';
import { NETNS_RUN_DIR } from '../model/netns.js';

export interface MountEntry {
  readonly id: number;
  readonly mountPoint: string;
  /** Peer group this mount shares mounts with (`shared:N`). */
  readonly shared?: number | undefined;
  /** Peer group this mount receives mounts from (`master:N`). */
  readonly master?: number | undefined;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040). */
const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * The entries of a mountinfo file, in its order (a later mount on the same point covers an earlier).
 * @example parseMountinfo('44 26 254:0 /run/netns /run/netns rw shared:1 - ext4 /dev/vda rw')[0]?.shared // 1
 */
export const parseMountinfo = (text: string): MountEntry[] =>
  text.split('\n').flatMap((line) => {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0 || !/^\d+$/.test(f[0]!)) return [];
    const tag = (name: string): number | undefined => {
      const t = f.slice(6, sep).find((o) => o.startsWith(`${name}:`));
      return t === undefined ? undefined : Number(t.slice(name.length + 1));
    };
    return [{ id: Number(f[0]), mountPoint: unescape(f[4]!), shared: tag('shared'), master: tag('master') }];
  });

const within = (dir: string, mountPoint: string): boolean =>
  mountPoint === '/' || dir === mountPoint || dir.startsWith(`${mountPoint}/`);

/** The mount that holds `dir`: the last of the longest mount points above it. */
export const mountOf = (entries: readonly MountEntry[], dir: string): MountEntry | undefined => {
  let best: MountEntry | undefined;
  for (const e of entries)
    if (within(dir, e.mountPoint) && (!best || e.mountPoint.length >= best.mountPoint.length)) best = e;
  return best;
};

/**
 * Does a mount made under `dir` in the first mount table show in the second? Undefined when
 * either table has no mount for it (unknown).
 * @example mountsReach(ipNetnsExec, init, '/run/netns') // false: "master:1" only receives
 */
export const mountsReach = (
  mine: readonly MountEntry[],
  theirs: readonly MountEntry[],
  dir: string,
): boolean | undefined => {
  const [a, b] = [mountOf(mine, dir), mountOf(theirs, dir)];
  if (!a || !b) return undefined;
  if (a.id === b.id) return true;
  return a.shared !== undefined && (b.shared === a.shared || b.master === a.shared);
};

const read = (path: string): MountEntry[] | undefined => {
  try {
    return parseMountinfo(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
};

/**
 * Refuse, before anything is made, to create named namespaces that would vanish with
 * pipefitter's mount namespace (run under `ip netns exec`). Where PID 1's mounts cannot be
 * read, nothing is refused (nothing to compare with).
 * @example assertNamespacesPersist(['r1'])
 */
export const assertNamespacesPersist = (names: readonly string[]): void => {
  const why = namespacesWouldVanish(names);
  if (why)
    throw refuse(
      'E_USAGE',
      why.who,
      `${why.problem}; nothing was changed`,
      'enter the namespace with `nsenter --net=/run/netns/NAME pipefitter …` instead of `ip netns exec NAME pipefitter …`',
    );
};

/** Why named namespaces made here would vanish with pipefitter's mount namespace, if they would. */
export const namespacesWouldVanish = (
  names: readonly string[],
): { readonly who: string; readonly problem: string } | undefined => {
  if (names.length === 0) return undefined;
  const [mine, init] = [read('/proc/self/mountinfo'), read('/proc/1/mountinfo')];
  if (!mine || !init || mountsReach(mine, init, NETNS_RUN_DIR) !== false) return undefined;
  return {
    who: `netns:${names[0]}${names.length > 1 ? ` (and ${names.length - 1} more)` : ''}`,
    problem: `would vanish when pipefitter exits: ${NETNS_RUN_DIR} here is not shared with the machine's mount namespace (run under \`ip netns exec\`?)`,
  };
};
