/**
 * Readiness: wait until an interface exists, is up with carrier, and (when pipefitter made it)
 * carries its tag — which pipefitter sets last, after addresses and routes. Services that start
 * before their interface can run `pipefitter --wait -i eth1` (inside the container) or
 * `pipefitter wait web -i eth1` (from the host) first.
 */
import { refuse } from '../errors.js';
import { HOST } from '../model/netns.js';
import type { NetnsRef } from '../model/netns.js';
import { decodeTag } from '../model/owner.js';
import { parseTargetSpec } from '../model/target.js';
import { parseIfName } from '../names.js';
import { decodeLinks } from '../observe/ip-json.js';
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
  /** @default 100 */
  readonly intervalMs?: number | undefined;
}

export const waitForInterface = async (opts: WaitOptions = {}): Promise<{ waitedMs: number }> => {
  const ifname = parseIfName(opts.ifname ?? 'eth1', '-i');
  const runner = runnerOf(opts);
  let netns: NetnsRef = HOST;
  if (opts.target !== undefined) {
    const [t] = await resolveAll([parseTargetSpec(opts.target)], runner, opts.docker);
    netns = t!.netns;
  }
  const started = performance.now();
  for (;;) {
    const r = await runner.run(['ip', '-d', '-j', 'addr', 'show', 'dev', ifname], { netns });
    if (!r.failed) {
      const l = decodeLinks(r.stdout)[0];
      const carrier = l !== undefined && l.up && l.operstate !== 'DOWN' && l.operstate !== 'LOWERLAYERDOWN';
      if (l && carrier && (opts.any || decodeTag(l.alias) !== undefined))
        return { waitedMs: performance.now() - started };
    }
    const waited = performance.now() - started;
    if (opts.timeoutMs && waited >= opts.timeoutMs)
      throw refuse(
        'E_TARGET_NOT_FOUND',
        `interface "${ifname}"`,
        `not ready after ${Math.round(waited / 1000)} s`,
        'check that pipefitter attach ran for this container',
      );
    await new Promise((res) => setTimeout(res, opts.intervalMs ?? 100));
  }
};
