/**
 * Removing one CNI attachment, for DEL and GC: best effort, idempotent. IPAM DEL first, while
 * the interface is still there (as the reference plugins order it). Then the interface goes by
 * pipefitter's own detach when the namespace is still there (which also removes a bridge
 * pipefitter made once its last port goes); when the namespace is gone its interfaces went with
 * it, and what they leave outside it goes as `watch` forgets a removed container
 * (plan/detach.ts goneFromBridge: an empty bridge pipefitter made). Then the record. Every part
 * is tried; the errors are returned, not thrown.
 */
import { isPipefitterError } from '../errors.js';
import type { NetConf } from '../cni/config.js';
import type { CniEnv } from '../cni/env.js';
import type { Runner } from '../exec/runner.js';
import { HOST } from '../model/netns.js';
import type { ResolvedTarget } from '../model/target.js';
import { planDetach } from '../plan/detach.js';
import { removeCniRecord } from '../state/cni.js';
import type { CniRecord } from '../state/cni.js';
import { detach } from './attach.js';
import { resolveAll, runPipeline } from './engine.js';
import { delegateIpam } from './cni-ipam.js';

/** The id pipefitter's tags name a namespace path by when no record says (targets/resolve.ts). */
export const targetIdOf = (netns: string): string => {
  const named = /^(?:\/var)?\/run\/netns\/([A-Za-z0-9_.-]{1,255})$/.exec(netns);
  if (named) return `netns:${named[1]}`;
  const proc = /^\/proc\/([1-9]\d{0,9})\/ns\/net$/.exec(netns);
  return proc ? `pid:${proc[1]}` : `path:${netns}`;
};

const GONE = new Set(['E_TARGET_NOT_FOUND', 'E_TARGET_STOPPED']);

export interface Removal {
  readonly runner: Runner;
  readonly conf: NetConf;
  readonly env: CniEnv;
  readonly log: (line: string) => void;
  readonly containerId: string;
  readonly ifname: string;
  /** CNI_NETNS when given (DEL), else the record's. */
  readonly netns?: string | undefined;
  readonly record?: CniRecord | undefined;
}

export const removeAttachment = async (r: Removal): Promise<unknown[]> => {
  const { runner, conf, containerId, ifname, log, record } = r;
  // the interface in the container; `ifname` (CNI_IFNAME) stays the attachment's name for IPAM and the record
  const device = record?.device ?? conf.attach.ifname ?? ifname;
  const errors: unknown[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      log(`${what}: ${(e as Error).message}`);
      errors.push(e);
    }
  };
  // IPAM first, while the interface is still there, as the reference plugins do: the `dhcp`
  // daemon sends its DHCPRELEASE out of it
  await attempt('IPAM DEL', () =>
    delegateIpam({ runner, conf, env: r.env, log, containerId, ifname }, 'DEL'),
  );
  const onLockWait = (h: string): void => log(`waiting for the host lock (${h})`);
  const netns = r.netns ?? record?.netns;
  let present = false;
  if (netns !== undefined)
    await attempt(`looking for ${netns}`, async () => {
      try {
        await resolveAll([{ kind: 'path', path: netns }], runner);
        present = true;
      } catch (e) {
        if (!isPipefitterError(e) || !GONE.has(e.code)) throw e;
      }
    });
  if (present && netns !== undefined)
    await attempt(`removing "${device}" from ${netns}`, async () => {
      try {
        await detach({ target: netns, ifname: device }, { runner, onLockWait });
      } catch (e) {
        // An attachment pipefitter never recorded, whose interface name another plugin holds (the
        // runtime DELs the whole list after pipefitter refused an ADD in a chain after the
        // reference bridge): nothing of pipefitter's is there, and the other interface stays.
        if (record !== undefined || !isPipefitterError(e) || e.code !== 'E_NOT_OWNED') throw e;
        log(
          `"${device}" in ${netns} is not pipefitter's and no ADD of this attachment was recorded: left as it is`,
        );
      }
    });
  else {
    const bridge = conf.attach.ovs
      ? undefined
      : (conf.attach.bridge ?? (record?.kind === 'bridge' ? record.host : undefined));
    const id = record?.targetId ?? (netns === undefined ? `cni:${containerId}` : targetIdOf(netns));
    const gone: ResolvedTarget = {
      spec: { kind: 'path', path: netns ?? '/nonexistent' },
      id,
      label: netns ?? `container ${containerId}`,
      // never observed: the plan sees no interface there
      netns: { kind: 'path', path: `/nonexistent/pipefitter-gone/${id}` },
    };
    await attempt('cleaning up after the namespace', () =>
      runPipeline(
        {
          targets: [],
          extraNamespaces: [HOST],
          plan: (observed) =>
            planDetach({ target: gone, ifname: device as never, force: false }, observed, {
              goneFromBridge: bridge,
            }),
          title: `pipefitter cni: remove ${conf.name} ${containerId} ${ifname}`,
        },
        runner,
        { onLockWait },
      ),
    );
  }
  if (errors.length === 0)
    await attempt('removing the record', () => removeCniRecord(conf.name, containerId, ifname));
  return errors;
};
