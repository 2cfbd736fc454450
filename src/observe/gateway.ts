/**
 * Does a gateway answer from inside a namespace? One ping at a time, a few tries: the first may
 * go while ARP (or ND) resolves, or while a bridge port that just came up is still learning.
 */
import type { Runner } from '../exec/runner.js';
import type { NetnsRef } from '../model/netns.js';

/** @example await gatewayAnswers(runner, { kind: 'name', name: 'r1' }, '192.0.2.1') */
export const gatewayAnswers = async (
  runner: Runner,
  netns: NetnsRef,
  gw: string,
  tries = 5,
): Promise<boolean> => {
  for (let i = 0; i < tries; i++) {
    const r = await runner.run(['ping', '-c', '1', '-W', '1', '-n', gw], { netns, timeoutMs: 3000 });
    if (!r.failed) return true;
  }
  return false;
};
