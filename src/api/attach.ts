import type { AttachRequest } from '../model/attachment.js';
import type { AttachInput, DetachInput, PairInput } from '../model/input.js';
import { parseAttachInput, parseDetachInput, parsePairInput } from '../model/input.js';
import { HOST, netnsKey } from '../model/netns.js';
import { decodeTag } from '../model/owner.js';
import type { ResolvedTarget, TargetSpec } from '../model/target.js';
import { parseTargetSpec } from '../model/target.js';
import type { FirewallSource } from '../observe/snapshot.js';
import { observe } from '../observe/snapshot.js';
import type { Runner } from '../exec/runner.js';
import { targetSpecText } from '../model/target.js';
import type { AttachPlanOptions } from '../plan/attach.js';
import { planAttach } from '../plan/attach.js';
import { planDetach } from '../plan/detach.js';
import { dhcpStateDir } from '../plan/dhcp.js';
import { hasDhcpState, readLease } from '../observe/lease.js';
import { checkCarrier } from '../observe/carrier.js';
import type { Outcome, RunOptions } from './engine.js';
import { requireRoot, resolveAll, runnerOf, runPipeline } from './engine.js';
import type { AttachForm } from '../state/attachments.js';
import { attachmentRecordsOf, forgetAttachment, writeAttachmentRecords } from './records.js';
import type { AttachmentRecord } from '../state/attachments.js';

export interface AttachOptions extends RunOptions, AttachPlanOptions {
  /**
   * The attachment records (what `watch` keeps alive) are handed to this instead of written:
   * `pipefitter try` writes them only when the change is confirmed.
   */
  readonly deferRecords?: ((records: readonly AttachmentRecord[]) => void) | undefined;
  /**
   * A target the caller has resolved already (`pipefitter watch`, from the inspect that saw the
   * restart): used instead of asking the runtime again; undefined resolves it as usual.
   */
  readonly resolved?: ((spec: TargetSpec) => ResolvedTarget | undefined) | undefined;
  /** Where the host's firewall reading comes from. @default read afresh */
  readonly firewall?: FirewallSource | undefined;
  /** Check (and wait up to 3 s for) carrier on every interface made. @default true */
  readonly checkCarrier?: boolean | undefined;
  /**
   * The requests whole, once something the caller started has answered (a CNI ADD's addresses
   * from its IPAM plugin): awaited after the host lock is taken and the namespaces observed, so
   * that the wait overlaps them. Their targets and links must be those of the requests given;
   * their interfaces (addresses, gateways, routes) are taken from here. A rejection ends the
   * run before anything changed.
   */
  readonly completed?: Promise<readonly AttachRequest[]> | undefined;
}

/**
 * Add an interface to a running container or namespace.
 * @example
 * await attach({ target: 'web', bridge: 'br-lab', ip: '192.0.2.10/24', gateway: '192.0.2.1' });
 */
export const attach = async (input: AttachInput | PairInput, opts: AttachOptions = {}): Promise<Outcome> => {
  const req = 'a' in input ? parsePairInput(input) : parseAttachInput(input);
  const title =
    req.link.kind === 'pair'
      ? `pipefitter link ${targetSpecText(req.target)}:${req.iface.ifname} ${targetSpecText(req.link.peer)}:${req.link.peerIface.ifname}`
      : `pipefitter attach ${targetSpecText(req.target)} --ifname ${req.iface.ifname}`;
  const form: AttachForm = 'a' in input ? { form: 'link', input } : { form: 'attach', input };
  return attachRequests([req], opts, title, [form]);
};

/** Attach several typed requests in one plan (one observation, one apply, all or nothing). */
export const attachRequests = async (
  reqs: readonly AttachRequest[],
  opts: AttachOptions = {},
  title = 'pipefitter attach',
  /**
   * How each request was asked for (attach flags, a link, pipework's words): when given, a
   * successful run records it for `pipefitter watch` (state/attachments.ts).
   */
  forms?: readonly (AttachForm | undefined)[],
): Promise<Outcome> => {
  requireRoot();
  const runner = runnerOf(opts);
  const specs = reqs.flatMap((r) => (r.link.kind === 'pair' ? [r.target, r.link.peer] : [r.target]));
  const known = specs.map((s) => opts.resolved?.(s));
  const asked = await resolveAll(
    specs.filter((_, i) => known[i] === undefined),
    runner,
    opts,
  );
  const resolved = known.map((t) => t ?? asked.shift()!);
  let k = 0;
  let atts = reqs.map((r) => {
    const target = resolved[k++]!;
    if (r.link.kind === 'pair') {
      const peer = resolved[k++]!;
      return { target, iface: r.iface, link: { ...r.link, peer } };
    }
    return { target, iface: r.iface, link: r.link };
  });
  const out = await runPipeline(
    {
      targets: resolved,
      extraNamespaces: [HOST],
      plan: async (observed) => {
        if (opts.completed) {
          const whole = await opts.completed;
          atts = atts.map((a, i) => ({ ...a, iface: whole[i]?.iface ?? a.iface }));
        }
        return planAttach(atts, observed, opts);
      },
      title,
      // The host's br_netfilter and iptables matter only when a bridge may be involved.
      firewall: atts.some((a) => a.link.kind === 'bridge' || a.link.kind === 'auto')
        ? (opts.firewall ?? true)
        : false,
    },
    runner,
    opts,
  );
  if (!opts.dryRun && forms) {
    const records = attachmentRecordsOf(atts, forms, opts);
    if (opts.deferRecords) opts.deferRecords(records);
    else await writeAttachmentRecords(records);
  }
  if (!out.applied || opts.checkCarrier === false) return out;
  // Did every interface made get carrier? A parent just brought up may need a moment.
  const carrier = await checkCarrier(
    runner,
    atts.flatMap((a) => [
      { label: a.target.label, netns: a.target.netns, ifname: a.iface.ifname },
      ...(a.link.kind === 'pair'
        ? [{ label: a.link.peer.label, netns: a.link.peer.netns, ifname: a.link.peerIface.ifname }]
        : []),
    ]),
    { settleMs: out.plan.records?.some((r) => r.op === 'add') ? 3000 : 0 },
  );
  // Report what the DHCP clients got.
  const leases = [];
  for (const a of atts) {
    if (!a.iface.dhcp) continue;
    const lease = await readLease(dhcpStateDir(a.target.id, a.iface.ifname));
    if (lease) leases.push({ target: a.target.label, ifname: a.iface.ifname, lease });
  }
  return { ...out, carrier, ...(leases.length ? { leases } : {}) };
};

/**
 * Remove an interface that pipefitter made (and the bridge it made, once unused).
 * @example await detach({ target: 'web', ifname: 'eth1' });
 */
export const detach = async (input: DetachInput, opts: RunOptions = {}): Promise<Outcome> => {
  const req = parseDetachInput(input);
  requireRoot();
  const runner = runnerOf(opts);
  const [target] = await resolveAll([req.target], runner, opts);
  const t = target!;
  // a DHCP client's state, kept by target and interface: also after a restart took the interface
  const dhcpState = await hasDhcpState(dhcpStateDir(t.id, req.ifname));
  const peer = await pairPeer(t, req.ifname, runner, opts);
  const out = await runPipeline(
    {
      targets: peer ? [t, peer] : [t],
      extraNamespaces: [HOST],
      plan: (observed) =>
        planDetach({ target: t, ifname: req.ifname, force: req.force }, observed, { dhcpState, peer }),
      title: `pipefitter detach ${targetSpecText(req.target)} --ifname ${req.ifname}`,
    },
    runner,
    opts,
  );
  if (!opts.dryRun) await forgetAttachment(t.id, req.ifname);
  return out;
};

/**
 * The other end's target of a pair (`pipefitter link`), named by its tag: a detach of one end
 * removes both and puts back the default routes the other end replaced (--peer-gateway). Read
 * before the lock, only to know which namespace to observe with the rest; the plan reads the
 * tag again. A peer that is gone or cannot be resolved is left out: its end went with it.
 */
const pairPeer = async (
  t: ResolvedTarget,
  ifname: string,
  runner: Runner,
  opts: RunOptions,
): Promise<ResolvedTarget | undefined> => {
  const seen = await observe(runner, [t.netns], { firewall: false }).catch(() => undefined);
  const tag = decodeTag(seen?.get(netnsKey(t.netns))?.links.find((l) => l.name === ifname)?.alias);
  if (tag?.kind !== 'pair' || tag.peer === undefined || tag.peer === t.id) return undefined;
  const id = tag.peer;
  try {
    const spec = parseTargetSpec(id.startsWith('path:') ? id.slice('path:'.length) : id);
    return (await resolveAll([spec], runner, opts))[0];
  } catch {
    return undefined;
  }
};
