/**
 * The values shell completion offers (cli/completion.ts walks the command line and asks here for
 * a kind of value): the choices the parsers accept, from the constants they check against, and
 * live values — running containers (Docker Engine API, podman if installed), named namespaces,
 * and the host's bridges and interfaces. Reads only, quickly, and silently: a source that cannot
 * answer (no dockerd, no podman, no netlink) gives nothing, and the others still answer.
 */
import { readdir } from 'node:fs/promises';
import { BACKENDS } from '../exec/backend.js';
import { GRAPH_FORMATS } from '../recipe/graph.js';
import { IPVLAN_FLAGS, IPVLAN_MODES, MACVLAN_MODES } from '../values.js';
import { listContainerNames } from '../targets/docker.js';
import { listPodmanNames } from '../targets/podman.js';
import { createRunner } from '../exec/runner.js';
import type { Runner } from '../exec/runner.js';
import { readLinks } from '../observe/links.js';
import { HOST } from '../model/netns.js';
import type { ObservedLink } from '../model/observed.js';

export interface CompletionSources {
  containers(): Promise<string[]>;
  podman(): Promise<string[]>;
  namespaces(): Promise<string[]>;
  bridges(): Promise<string[]>;
  hostInterfaces(): Promise<string[]>;
  recipeFiles(): Promise<string[]>;
}

/** A kind of value a flag or argument takes (which flag takes which is the CLI's business). */
export type ValueKind =
  | 'target'
  | 'bridge'
  | 'host-interface'
  | 'recipe-file'
  | 'backend'
  | 'macvlan-mode'
  | 'ipvlan-mode'
  | 'ipvlan-flag'
  | 'graph-format';

/** The schemes a target may be written with (model/target.ts parseTargetSpec), offered as typed. */
const TARGET_PREFIXES = ['docker:', 'podman:', 'netns:', 'pid:'];

/** The choices each parser accepts, from the constants it checks against (values.ts, …). */
const CHOICES = {
  backend: BACKENDS,
  'macvlan-mode': MACVLAN_MODES,
  'ipvlan-mode': IPVLAN_MODES,
  'ipvlan-flag': IPVLAN_FLAGS,
  'graph-format': GRAPH_FORMATS,
} as const satisfies Partial<Record<ValueKind, readonly string[]>>;

const quiet = async (f: () => Promise<string[]>): Promise<string[]> => {
  try {
    return await f();
  } catch {
    return [];
  }
};

const targetValues = async (typed: string, src: CompletionSources): Promise<string[]> => {
  if (typed.startsWith('pid:')) return [];
  if (typed.startsWith('netns:')) return (await quiet(() => src.namespaces())).map((n) => `netns:${n}`);
  if (typed.startsWith('docker:')) return (await quiet(() => src.containers())).map((n) => `docker:${n}`);
  if (typed.startsWith('podman:')) return (await quiet(() => src.podman())).map((n) => `podman:${n}`);
  const [docker, podman, netns] = await Promise.all([
    quiet(() => src.containers()),
    quiet(() => src.podman()),
    quiet(() => src.namespaces()),
  ]);
  return [
    ...docker,
    ...podman.map((n) => `podman:${n}`),
    ...netns.map((n) => `netns:${n}`),
    ...TARGET_PREFIXES,
  ];
};

/**
 * The values of a kind, for the word typed so far (a target's prefix picks its source); not yet
 * filtered by it. A source that fails gives nothing.
 * @example await valuesOf('macvlan-mode', '', sources) // ['bridge', 'private', 'vepa', 'passthru']
 */
export const valuesOf = async (kind: ValueKind, typed: string, src: CompletionSources): Promise<string[]> => {
  switch (kind) {
    case 'target':
      return targetValues(typed, src);
    case 'bridge':
      return quiet(() => src.bridges());
    case 'host-interface':
      return quiet(() => src.hostInterfaces());
    case 'recipe-file':
      return quiet(() => src.recipeFiles());
    case 'backend':
    case 'macvlan-mode':
    case 'ipvlan-mode':
    case 'ipvlan-flag':
    case 'graph-format':
      return [...CHOICES[kind]];
  }
};

/** The host namespace's links, read once (observe/links.ts). */
const hostLinks = (runner: () => Runner): (() => Promise<ObservedLink[]>) => {
  let links: Promise<ObservedLink[]> | undefined;
  return () => (links ??= readLinks(runner(), HOST).catch(() => []));
};

export const liveSources = (cwd: string = process.cwd()): CompletionSources & { close(): void } => {
  let runner: Runner | undefined;
  const getRunner = (): Runner => (runner ??= createRunner({ timeoutMs: 1000 }));
  const links = hostLinks(getRunner);
  return {
    containers: () => quiet(() => listContainerNames({ timeoutMs: 500 })),
    podman: () => quiet(() => listPodmanNames(getRunner(), { timeoutMs: 1000 })),
    namespaces: () => quiet(async () => (await readdir('/run/netns')).sort()),
    bridges: async () => (await links()).filter((l) => l.kind === 'bridge').map((l) => l.name),
    hostInterfaces: async () => (await links()).filter((l) => l.name !== 'lo').map((l) => l.name),
    recipeFiles: () =>
      quiet(async () =>
        (await readdir(cwd, { withFileTypes: true }))
          .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name))
          .map((e) => e.name)
          .sort(),
      ),
    close: () => runner?.close?.(),
  };
};
