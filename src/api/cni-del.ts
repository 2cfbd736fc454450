/**
 * CNI DEL (SPEC.md section 2): best effort and idempotent — a namespace already gone, an
 * attachment never made, a second DEL all succeed (api/cni-remove.ts). IPAM DEL always runs.
 * Errors are collected and the first is returned after everything was tried.
 */
import type { CniVerb } from '../cni/verb.js';
import { createRunner } from '../exec/runner.js';
import { readCniRecord } from '../state/cni.js';
import type { CniRecord } from '../state/cni.js';
import { requireRoot } from './engine.js';
import { removeAttachment } from './cni-remove.js';

export const run: CniVerb = async (env, conf, log) => {
  const containerId = env.containerId ?? '';
  const ifname = env.ifname ?? '';
  requireRoot();
  const runner = createRunner();
  try {
    let record: CniRecord | undefined;
    const errors: unknown[] = [];
    try {
      record = await readCniRecord(conf.name, containerId, ifname);
    } catch (e) {
      log(`reading the attachment record: ${(e as Error).message}`);
      errors.push(e);
    }
    errors.push(
      ...(await removeAttachment({ runner, conf, env, log, containerId, ifname, netns: env.netns, record })),
    );
    if (errors.length) throw errors[0];
    return undefined;
  } finally {
    runner.close?.();
  }
};
