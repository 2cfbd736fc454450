/**
 * watch's follower of Podman's container events: `podman events` as a child (targets/podman.ts),
 * started once a watched record names a `podman:` target, started again with backoff when it
 * exits (after which everything is checked again: events may have been missed in between), and
 * given up when podman is not installed (podman: targets are then checked on the drift interval).
 */
import type { Runner } from '../exec/runner.js';
import type { PodmanEvent } from '../targets/podman.js';
import { followPodmanEvents } from '../targets/podman.js';

export interface PodmanFollowOptions {
  readonly runner: Runner;
  /** Is any podman: target watched now? Checked before each start. */
  readonly wanted: () => boolean;
  /** A container event for the target `podman:<full id>`. */
  readonly onEvent: (id: string, e: PodmanEvent) => void;
  /** `podman events` was started again after it ended: events in between may be lost. */
  readonly onRestart: () => void;
  /** A line for watch's log (event `podman`). */
  readonly log: (message: string) => void;
  readonly signal?: AbortSignal | undefined;
}

export interface PodmanFollower {
  /** Start following if a podman: target is watched now and it does not run (after a reload). */
  check(): void;
  /** Stop following; settles when `podman events` has exited. */
  stop(): Promise<void>;
}

/** A run of `podman events` that lasted this long was healthy: the backoff starts over. */
const HEALTHY_MS = 2000;

export const followPodman = (o: PodmanFollowOptions): PodmanFollower => {
  let current: { stop: () => void } | undefined;
  let loop: Promise<void> | undefined;
  let stopped = false;
  let wake = (): void => undefined;
  /** The backoff's wait; `stop` ends it at once. */
  const sleep = (ms: number): Promise<void> =>
    new Promise((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });

  const run = async (): Promise<void> => {
    let backoff = 250;
    let restarted = false;
    while (!stopped && !o.signal?.aborted) {
      const t0 = Date.now();
      const f = followPodmanEvents(o.runner, (e) => o.onEvent(`podman:${e.id}`, e));
      current = f;
      if (restarted) o.onRestart();
      const { why, missing } = await f.done;
      current = undefined;
      if (stopped || o.signal?.aborted || why === 'stopped') return;
      if (missing) {
        o.log(`${why}: podman: targets are checked on the drift interval only`);
        return;
      }
      if (Date.now() - t0 >= HEALTHY_MS) backoff = 250;
      o.log(`${why}; following again in ${backoff} ms`);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
      restarted = true;
    }
  };

  const check = (): void => {
    if (loop || stopped || !o.wanted()) return;
    loop = run();
  };
  check();
  return {
    check,
    async stop() {
      stopped = true;
      current?.stop();
      wake();
      await loop;
    },
  };
};
