/** How a command reaches its namespace, and how a namespace is spelled as an argument. */
import type { NetnsRef } from '../model/netns.js';
import { netnsPath } from '../model/netns.js';
import type { Arg } from '../model/step.js';

/** Our own namespace, as a path any `ip … netns` argument can use. */
export const hostNetnsPath = (): string => `/proc/${process.pid}/ns/net`;

/**
 * The argv that runs `argv` inside `ns`: `ip -n NAME …` (or `bridge -n NAME …`) for a named
 * namespace (the tool enters it itself), `nsenter --net=PATH -- …` otherwise. One process either way.
 */
export const enterArgv = (ns: NetnsRef, argv: readonly string[]): string[] => {
  if (ns.kind === 'host') return [...argv];
  // ip and bridge enter a named namespace themselves (-n NAME).
  if (ns.kind === 'name' && (argv[0] === 'ip' || argv[0] === 'bridge'))
    return [argv[0], '-n', ns.name, ...argv.slice(1)];
  return ['nsenter', `--net=${netnsPath(ns) ?? ''}`, '--', ...argv];
};

/**
 * A namespace as the argument of `ip link add|set … netns X`. ip takes a name under /run/netns,
 * a PID, or (when it contains "/") a path. The host is this very process's namespace, spelled
 * through our own PID at run time and through the shell's `$$` in a rendered script.
 */
export const spellNetnsArg = (ns: NetnsRef, hostPath: string): string => {
  switch (ns.kind) {
    case 'host':
      return hostPath;
    case 'name':
      return ns.name;
    case 'pid':
      return String(ns.pid);
    case 'path':
      return ns.path;
  }
};

export const spellArgs = (argv: readonly Arg[], hostPath: string): string[] =>
  argv.map((a) => (typeof a === 'string' ? a : spellNetnsArg(a.netns, hostPath)));

/** Wrappers that exec the command after their `--`. */
const WRAPPERS = new Set(['nsenter', 'unshare', 'setsid', 'setpriv']);

/**
 * The programs a command starts, as spelled (`nsenter --net=P -- unshare --mount -- X run …`
 * starts nsenter, unshare and X): what must be installed for it to run.
 * @example programsOf(['nsenter', '--net=/proc/1/ns/net', '--', 'nft', '-f', '-']) // ['nsenter', 'nft']
 */
export const programsOf = (argv: readonly string[]): string[] => {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const cmd = argv[at];
    if (cmd === undefined) return out;
    out.push(cmd);
    if (!WRAPPERS.has(cmd)) return out;
    const end = argv.indexOf('--', at + 1);
    if (end < 0) return out;
    at = end + 1;
  }
};
