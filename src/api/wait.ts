/**
 * Readiness: wait until an interface exists, is up with carrier, and (when pipefitter made it)
 * carries its tag — which pipefitter sets last, after addresses and routes. Services that start
 * before their interface can run `pipefitter --wait -i eth1` (inside the container) or
 * `pipefitter wait web -i eth1` (from the host) first. Under the netlink backend it listens to
 * the namespace's link events (RTNLGRP_LINK) and reads the link only when one names it; under
 * the ip backend it reads it with `ip` every `intervalMs`.
 */
import type { PipefitterError } from '../errors.js';
import { refuse } from '../errors.js';
import { HOST } from '../model/netns.js';
import type { NetnsRef } from '../model/netns.js';
import { decodeTag } from '../model/owner.js';
import { parseTargetSpec } from '../model/target.js';
import { parseIfName } from '../names.js';
import { decodeLinks } from '../observe/ip-json.js';
import type { LinkNow } from '../observe/link-watch.js';
import { watchLink } from '../observe/link-watch.js';
import type { RunOptions } from './engine.js';
import { resolveAll, runnerOf } from './engine.js';

export interface WaitOptions extends RunOptions {
  /** Container or namespace; default: the namespace pipefitter runs in (inside a container). */
  readonly target?: string | undefined;
  /** @default "eth1" */
  readonly ifname?: string | undefined;
  /** Give up after this many milliseconds; 0 waits for ever (as pipework did). @default 0 */
  readonly timeoutMs?: number | undefined;
  /** Also accept an interface pipefitter did not make, once it is up with carrier. @default false */
  readonly any?: boolean | undefined;
  /** Under the ip backend, how often the interface is read. @default 100 */
  readonly intervalMs?: number | undefined;
}

export const waitForInterface = async (opts: WaitOptions = {}): Promise<{ waitedMs: number }> => {
  const ifname = parseIfName(opts.ifname ?? 'eth1', '-i');
  const runner = runnerOf(opts);
  let netns: NetnsRef = HOST;
  if (opts.target !== undefined) {
    // waiting only reads: the host's own namespace is fine
    const [t] = await resolveAll([parseTargetSpec(opts.target)], runner, {
      docker: opts.docker,
      allowHostNamespace: true,
    });
    netns = t!.netns;
  }
  const started = performance.now();
  const ready = (l: LinkNow | undefined): boolean =>
    l !== undefined &&
    l.up &&
    l.operstate !== 'DOWN' &&
    l.operstate !== 'LOWERLAYERDOWN' &&
    (opts.any === true || decodeTag(l.alias) !== undefined);
  const notReady = (): PipefitterError =>
    refuse(
      'E_TARGET_NOT_FOUND',
      `interface "${ifname}"`,
      `not ready after ${Math.round((performance.now() - started) / 1000)} s`,
      'check that pipefitter attach ran for this container',
    );
  const nl = runner.netlink;
  if (nl) {
    try {
      const deadline = opts.timeoutMs ? started + opts.timeoutMs : undefined;
      if (await watchLink({ session: nl.session, libc: nl.libc, netns, ifname, deadline }, ready))
        return { waitedMs: performance.now() - started };
      throw notReady();
    } finally {
      runner.close?.();
    }
  }
  for (;;) {
    const r = await runner.run(['ip', '-d', '-j', 'addr', 'show', 'dev', ifname], { netns });
    if (!r.failed && ready(decodeLinks(r.stdout)[0])) return { waitedMs: performance.now() - started };
    if (opts.timeoutMs && performance.now() - started >= opts.timeoutMs) throw notReady();
    await new Promise((res) => setTimeout(res, opts.intervalMs ?? 100));
  }
};
