/**
 * CNI STATUS (SPEC.md section 2, from 1.1.0): can an ADD of this configuration be served? Error
 * 50 names what is missing: root, a kernel feature the way of attaching needs (probed in a
 * throwaway namespace, observe/kernel.ts), pipefitter's state directory, the IPAM plugin. An
 * IPAM plugin that speaks 1.1.0 is asked for its own STATUS; for host-local, which predates
 * STATUS, its data directory must be writable.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { CniVerb } from '../cni/verb.js';
import type { NetConf } from '../cni/config.js';
import { CNI_ERROR, CniError } from '../cni/types.js';
import { compareVersions } from '../cni/version.js';
import { createRunner } from '../exec/runner.js';
import { featureById } from '../model/features.js';
import { fixFor, probeKernel } from '../observe/kernel.js';
import { stateRoot } from '../paths.js';
import { cniDir } from '../state/cni.js';
import { delegateIpam, findPlugin, ipamVersions } from './cni-ipam.js';

/** The kernel features an ADD of this configuration needs (model/features.ts ids). */
export const featuresOf = (conf: NetConf): string[] => {
  const a = conf.attach;
  if (a.bridge !== undefined)
    return a.ovs
      ? ['veth']
      : ['veth', 'bridge', ...(a.vlanId !== undefined || a.trunk?.length ? ['bridge-vlan'] : [])];
  if (a.macvlan !== undefined) return ['macvlan', ...(a.vlanId !== undefined ? ['vlan'] : [])];
  if (a.ipvlan !== undefined) return ['ipvlan', ...(a.vlanId !== undefined ? ['vlan'] : [])];
  if (a.vlan !== undefined) return ['vlan'];
  return [];
};

const unavailable = (msg: string, fix: string): CniError => new CniError(CNI_ERROR.notAvailable, msg, fix);

const writable = async (dir: string): Promise<boolean> => {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

export const run: CniVerb = async (env, conf, log) => {
  if (process.geteuid?.() !== 0)
    throw unavailable(
      'must run as root',
      'the runtime runs CNI plugins as root (CAP_NET_ADMIN and CAP_SYS_ADMIN)',
    );
  const runner = createRunner();
  try {
    const needed = featuresOf(conf);
    if (needed.length) {
      const probe = await probeKernel(runner, needed);
      if (probe.error !== undefined)
        throw unavailable(
          `kernel features: cannot probe (${probe.error})`,
          'run as root with unshare installed',
        );
      for (const id of needed)
        if (probe.supported.get(id) === false) {
          const f = featureById(id);
          throw unavailable(
            `kernel: no ${f?.what ?? id}`,
            f ? fixFor(f) : `load the kernel module for ${id}`,
          );
        }
    }
    if (!(await writable(cniDir())))
      throw unavailable(
        `${cniDir()}: pipefitter's state directory is not writable`,
        `make ${stateRoot()} writable for root, or set PIPEFITTER_STATE_DIR`,
      );
    if (conf.ipam !== undefined) {
      const call = { runner, conf, env, log };
      if (conf.ipam.own === undefined)
        try {
          await findPlugin(conf.ipam.type, env.path);
        } catch (e) {
          throw unavailable((e as Error).message, (e as CniError).details ?? 'install the IPAM plugin');
        }
      if ((await ipamVersions(call)).some((v) => compareVersions(v, '1.1.0') >= 0))
        await delegateIpam(call, 'STATUS');
      else if (conf.ipam.type === 'host-local') {
        const ipam = conf.raw.ipam as { dataDir?: unknown };
        const dir = typeof ipam.dataDir === 'string' ? ipam.dataDir : '/var/lib/cni/networks';
        if (!(await writable(dir)))
          throw unavailable(
            `ipam "host-local": its data directory ${dir} is not writable`,
            'make it writable for root, or set ipam.dataDir',
          );
      }
    }
    return undefined;
  } finally {
    runner.close?.();
  }
};
