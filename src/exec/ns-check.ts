/** Are the namespaces a command names still the ones it was planned for? (ns-identity.ts) */
import type { NetnsRef } from '../model/netns.js';
import { identityOf, netnsPath } from '../model/netns.js';
import type { Arg, Command } from '../model/step.js';
import { argvOf } from '../render/ip.js';
import { TargetChanged, checkPath } from '../netlink/ns-identity.js';

/** The first of `refs` whose file names another namespace now, as its error; undefined when all hold. */
export const changedNetns = (refs: readonly NetnsRef[]): TargetChanged | undefined => {
  for (const ns of refs) {
    const path = netnsPath(ns);
    if (path === undefined) continue;
    try {
      checkPath(path, identityOf(ns));
    } catch (e) {
      if (e instanceof TargetChanged) return e;
      throw e;
    }
  }
  return undefined;
};

const argRefs = (argv: readonly Arg[]): NetnsRef[] =>
  argv.flatMap((a) => (typeof a === 'string' ? [] : [a.netns]));

/** The namespaces a command runs in or names in its arguments. */
export const refsOf = (c: Command): NetnsRef[] => [c.netns, ...argRefs(argvOf(c))];
