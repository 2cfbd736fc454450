/**
 * Live values for shell completion: running containers (Docker Engine API, podman if installed),
 * named namespaces, and the host's bridges and interfaces. Reads only, quickly, and silently:
 * a source that cannot answer (no dockerd, no podman, no netlink) gives nothing.
 */
import { readdir } from 'node:fs/promises';
import { listContainerNames } from '../targets/docker.js';
import { createRunner } from '../exec/runner.js';
import type { Runner } from '../exec/runner.js';
import { observeNetnsNetlink } from '../observe/netlink.js';
import { decodeLinks } from '../observe/ip-json.js';
import type { ObservedLink } from '../model/observed.js';

export interface CompletionSources {
  containers(): Promise<string[]>;
  podman(): Promise<string[]>;
  namespaces(): Promise<string[]>;
  bridges(): Promise<string[]>;
  hostInterfaces(): Promise<string[]>;
  recipeFiles(): Promise<string[]>;
}

const quiet = async (f: () => Promise<string[]>): Promise<string[]> => {
  try {
    return await f();
  } catch {
    return [];
  }
};

/** The host namespace's links, read once (netlink in-process, else `ip -j link`). */
const hostLinks = (runner: () => Runner): (() => Promise<ObservedLink[]>) => {
  let links: Promise<ObservedLink[]> | undefined;
  return () =>
    (links ??= (async () => {
      const r = runner();
      if (r.netlink)
        return [
          ...observeNetnsNetlink(
            r.netlink.session,
            { kind: 'host' },
            { neighbours: false, forwarding: false },
          ).links,
        ];
      const res = await r.run(['ip', '-j', '-d', 'link', 'show'], {
        netns: { kind: 'host' },
        timeoutMs: 1000,
      });
      return res.failed ? [] : decodeLinks(res.stdout);
    })().catch(() => []));
};

export const liveSources = (cwd: string = process.cwd()): CompletionSources & { close(): void } => {
  let runner: Runner | undefined;
  const getRunner = (): Runner => (runner ??= createRunner({ timeoutMs: 1000 }));
  const links = hostLinks(getRunner);
  return {
    containers: () => quiet(() => listContainerNames({ timeoutMs: 500 })),
    podman: () =>
      quiet(async () => {
        const r = await getRunner().run(['podman', 'ps', '--format', '{{.Names}}'], {
          netns: { kind: 'host' },
          timeoutMs: 1000,
        });
        return r.failed ? [] : r.stdout.split('\n').filter((l) => l.trim() !== '');
      }),
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
