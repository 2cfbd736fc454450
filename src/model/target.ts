import { badInput } from '../errors.js';
import type { NetnsRef } from './netns.js';

/** What the user typed to name a container or namespace. */
export type TargetSpec =
  | { readonly kind: 'docker'; readonly ref: string }
  | { readonly kind: 'podman'; readonly ref: string }
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'netns'; readonly name: string }
  | { readonly kind: 'path'; readonly path: string }
  /** A bare word: a Docker container first, then a named netns. */
  | { readonly kind: 'bare'; readonly name: string };

/** A target after resolution: where its namespace is and how to tell it is still the same one. */
export interface ResolvedTarget {
  readonly spec: TargetSpec;
  /** Stable identity used for ownership tags and generated names, e.g. "docker:3f2a…", "netns:r1". */
  readonly id: string;
  /** What to call it in messages, e.g. `docker:web`, `netns:r1`. */
  readonly label: string;
  readonly netns: NetnsRef;
  /** A process in the namespace, when there is one (pipework names host links after it). */
  readonly pid?: number | undefined;
  /** Device and inode of the namespace file at resolution time, re-checked right before acting. */
  readonly nsIdentity?: string | undefined;
  /** Which instance of that namespace it was (targets/nsfile.ts nsFacts): one made anew reuses the inode. */
  readonly nsInstance?: string | undefined;
  /** The process has a mount namespace of its own (a real container), so /proc/PID/root is its file system. */
  readonly ownMounts?: boolean | undefined;
}

export const targetSpecText = (t: TargetSpec): string => {
  switch (t.kind) {
    case 'docker':
      return `docker:${t.ref}`;
    case 'podman':
      return `podman:${t.ref}`;
    case 'pid':
      return `pid:${t.pid}`;
    case 'netns':
      return `netns:${t.name}`;
    case 'path':
      return t.path;
    case 'bare':
      return t.name;
  }
};

/**
 * Parse what the user typed as a target.
 * @example parseTargetSpec('pid:4242') // { kind: 'pid', pid: 4242 }
 */
export const parseTargetSpec = (text: string, field = 'target'): TargetSpec => {
  const fail = (problem: string, hint: string): never => {
    throw badInput('E_BAD_VALUE', field, text, problem, hint);
  };
  if (text === '')
    return fail('empty target', 'name a container, pid:N, netns:NAME or a namespace file path');
  if (/[\s\0]/.test(text))
    return fail('a target cannot contain whitespace', 'give a container name or ID, pid:N or netns:NAME');
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon) : '';
  const rest = colon > 0 ? text.slice(colon + 1) : text;
  switch (scheme) {
    case 'pid': {
      if (!/^[1-9]\d{0,9}$/.test(rest))
        return fail('not a process id', 'write pid:N with N > 0, e.g. pid:4242');
      return { kind: 'pid', pid: Number(rest) };
    }
    case 'netns':
      if (!/^[A-Za-z0-9_.-]{1,255}$/.test(rest) || rest === '.' || rest === '..')
        return fail('not a namespace name', 'name one listed by `ip netns list`, e.g. netns:r1');
      return { kind: 'netns', name: rest };
    case 'docker':
    case 'podman':
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(rest))
        return fail(`not a ${scheme} container name or ID`, `e.g. ${scheme}:web`);
      return { kind: scheme, ref: rest };
    default:
      break;
  }
  if (text.startsWith('/') || text.startsWith('./')) return { kind: 'path', path: text };
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(text))
    return fail(
      'not a container name, pid:N, netns:NAME or path',
      'e.g. web, docker:web, pid:4242, netns:r1 or /run/netns/r1',
    );
  return { kind: 'bare', name: text };
};
