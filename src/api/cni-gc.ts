/**
 * CNI GC (SPEC.md section 2): every attachment pipefitter recorded for this network that is
 * not in `cni.dev/valid-attachments` is removed as a DEL would (api/cni-remove.ts), its IPAM
 * addresses released by IPAM DEL with its own identity — which frees them also with IPAM
 * plugins that predate GC (Debian's host-local speaks up to 1.0.0). An IPAM plugin that speaks
 * 1.1.0 is then given the GC itself. Errors do not stop the collection; the first is returned.
 */
import type { CniVerb } from '../cni/verb.js';
import { CNI_ERROR, CniError } from '../cni/types.js';
import { compareVersions } from '../cni/version.js';
import { createRunner } from '../exec/runner.js';
import { listCniRecords } from '../state/cni.js';
import { requireRoot } from './engine.js';
import { delegateIpam, ipamVersions } from './cni-ipam.js';
import { removeAttachment } from './cni-remove.js';

export const run: CniVerb = async (env, conf, log) => {
  const valid = conf.validAttachments;
  if (valid === undefined)
    throw new CniError(
      CNI_ERROR.invalidConfig,
      'cni.dev/valid-attachments: missing',
      'GC removes every attachment not listed there: the runtime passes the list (empty for none)',
    );
  requireRoot();
  const runner = createRunner();
  const errors: unknown[] = [];
  try {
    const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
    for (const record of await listCniRecords(conf.name)) {
      if (keep.has(`${record.containerId}\0${record.ifname}`)) continue;
      log(`GC: removing ${record.containerId} ${record.ifname} (${record.netns})`);
      errors.push(
        ...(await removeAttachment({
          runner,
          conf,
          env,
          log,
          containerId: record.containerId,
          ifname: record.ifname,
          record,
        })),
      );
    }
    if (conf.ipam !== undefined)
      try {
        const call = { runner, conf, env, log };
        if ((await ipamVersions(call)).some((v) => compareVersions(v, '1.1.0') >= 0))
          await delegateIpam(call, 'GC');
      } catch (e) {
        log(`IPAM GC: ${(e as Error).message}`);
        errors.push(e);
      }
    if (errors.length) throw errors[0];
    return undefined;
  } finally {
    runner.close?.();
  }
};
