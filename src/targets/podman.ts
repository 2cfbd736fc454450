/**
 * Podman through its CLI: the running containers' names, for shell completion (`podman ps`), and
 * its container events, for `watch`: `podman events --format json --filter type=container` as a
 * long-running child of the runner. Podman has no daemon to connect to; the command reads
 * its events log (or the journal) with the same configuration as every other podman command
 * (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, inherited from pipefitter's environment).
 */
import type { Runner } from '../exec/runner.js';
import { HOST } from '../model/netns.js';

/** One container event: `start`, `died`, `remove`, and the rest as Podman names them. */
export interface PodmanEvent {
  readonly action: string;
  /** The full container ID (what `podman:` targets are recorded by). */
  readonly id: string;
  readonly name: string | undefined;
  /** When Podman says it happened, in ms since the epoch. */
  readonly timeMs: number | undefined;
}

/**
 * One line of `podman events --format json` (podman 4.3:
 * `{"ID":"…","Name":"web","Status":"start","Time":"2026-12-02T04:30:52.392393257Z","Type":"container",…}`),
 * or undefined for anything else.
 * @example parsePodmanEvent('{"ID":"24…","Status":"start","Type":"container"}')?.action // 'start'
 */
export const parsePodmanEvent = (line: string): PodmanEvent | undefined => {
  let j: unknown;
  try {
    j = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof j !== 'object' || j === null) return undefined;
  const o = j as { ID?: unknown; Name?: unknown; Status?: unknown; Time?: unknown; Type?: unknown };
  if (typeof o.ID !== 'string' || typeof o.Status !== 'string') return undefined;
  if (o.Type !== undefined && o.Type !== 'container') return undefined;
  const t = typeof o.Time === 'string' ? Date.parse(o.Time) : typeof o.Time === 'number' ? o.Time : NaN;
  return {
    action: o.Status,
    id: o.ID,
    name: typeof o.Name === 'string' ? o.Name : undefined,
    timeMs: Number.isFinite(t) ? t : undefined,
  };
};

/**
 * The names of the running containers, for shell completion: `podman ps` with a short timeout,
 * and an empty list when podman cannot answer (not installed, its storage unreadable, too slow).
 * @example await listPodmanNames(runner) // ['web', 'db']
 */
export const listPodmanNames = async (
  runner: Runner,
  opts: { timeoutMs?: number } = {},
): Promise<string[]> => {
  const r = await runner.run(['podman', 'ps', '--format', '{{.Names}}'], {
    netns: HOST,
    timeoutMs: opts.timeoutMs ?? 1000,
  });
  return r.failed
    ? []
    : r.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
};

/** The command watch follows. */
export const PODMAN_EVENTS = ['podman', 'events', '--format', 'json', '--filter', 'type=container'] as const;

/**
 * Follow Podman's container events until `stop` or until `podman events` exits; `done` says why
 * it ended ('stopped' after `stop`), and `missing` is set when podman is not installed.
 */
export const followPodmanEvents = (
  runner: Runner,
  onEvent: (e: PodmanEvent) => void,
): { done: Promise<{ why: string; missing: boolean }>; stop: () => void } => {
  if (!runner.follow)
    return {
      done: Promise.resolve({ why: 'this runner cannot follow a command', missing: false }),
      stop: () => {},
    };
  let stopped = false;
  const f = runner.follow([...PODMAN_EVENTS], {
    netns: HOST,
    onLine: (line) => {
      const e = parsePodmanEvent(line);
      if (e) onEvent(e);
    },
  });
  const done = f.done.then((r) => {
    if (stopped) return { why: 'stopped', missing: false };
    if (r.reason === 'tool-missing') return { why: 'podman is not installed', missing: true };
    const err = r.stderr.trim().split('\n').pop() ?? '';
    return {
      why: `podman events ended (exit ${r.exitCode ?? 'by signal'}${err ? `: ${err}` : ''})`,
      missing: false,
    };
  });
  return {
    done,
    stop: () => {
      stopped = true;
      f.stop();
    },
  };
};
