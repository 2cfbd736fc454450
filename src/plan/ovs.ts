/**
 * Open vSwitch bridges (pipework's `ovs*` form, or --ovs): the host end of the veth becomes an
 * OVS port — an access port with `tag=VLAN`, a trunk with `trunks=…` — and goes from the OVS
 * database on detach (deleting a veth leaves its port record behind). A bridge pipefitter made
 * is tagged like a Linux one (the alias of its internal interface) and removed with its last port.
 */
import { HOST } from '../model/netns.js';
import { decodeTag, encodeTag } from '../model/owner.js';
import type { Step } from '../model/step.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { plannedLink } from './context.js';
import { PHASE } from './phases.js';

const vsctl = (...args: string[]): string[] => ['ovs-vsctl', '--timeout=30', ...args];

export const ensureOvsBridge = (
  ctx: PlanContext,
  bridge: string,
  owner: string | undefined,
  label: string,
): ProjectedLink => {
  const br = ctx.link(HOST, bridge);
  if (br) return br;
  const alias = encodeTag({ kind: 'bridge', ...(owner ? { recipe: owner } : {}) });
  const phase = ctx.phase;
  ctx.phase = PHASE.prepare;
  ctx.push({
    id: `ovs-add-br:${bridge}`,
    netns: HOST,
    op: { op: 'exec', argv: vsctl('--may-exist', 'add-br', bridge) },
    describes: `create Open vSwitch bridge "${bridge}"`,
    undo: {
      netns: HOST,
      op: { op: 'exec', argv: vsctl('--if-exists', 'del-br', bridge) },
      describes: `remove Open vSwitch bridge "${bridge}"`,
    },
  });
  ctx.push({
    id: `link-set:${bridge}`,
    netns: HOST,
    op: { op: 'exec', argv: ['ip', 'link', 'set', 'dev', bridge, 'alias', alias, 'up'] },
    describes: `tag "${bridge}" as pipefitter's and bring it up`,
    undo: 'covered',
  });
  ctx.phase = phase;
  ctx.putLink(HOST, { ...plannedLink({ name: bridge, kind: 'openvswitch', alias }), up: true });
  ctx.setOvsPorts(HOST, bridge, []);
  ctx.notes.push(`${label}: Open vSwitch bridge "${bridge}" does not exist and is created`);
  return ctx.link(HOST, bridge)!;
};

/** ovs-vsctl add-port BRIDGE PORT [tag=N] [trunks=A,B] */
export const ovsAddPort = (
  bridge: string,
  port: string,
  vlan: number | undefined,
  trunk: readonly number[],
): Step => ({
  id: `ovs-add-port:${port}`,
  netns: HOST,
  op: {
    op: 'exec',
    argv: vsctl(
      '--may-exist',
      'add-port',
      bridge,
      port,
      ...(vlan !== undefined ? [`tag=${vlan}`] : []),
      ...(trunk.length ? [`trunks=${trunk.join(',')}`] : []),
    ),
  },
  describes: `make "${port}" a port of Open vSwitch bridge "${bridge}"${vlan !== undefined ? ` (VLAN ${vlan})` : ''}${trunk.length ? ` (trunk ${trunk.join(',')})` : ''}`,
  undo: {
    netns: HOST,
    op: { op: 'exec', argv: vsctl('--if-exists', 'del-port', bridge, port) },
    describes: `remove port "${port}" from "${bridge}"`,
  },
});

/** The host end of a detached interface: out of the OVS database; the bridge with its last port. */
export const planOvsPortRemoval = (
  ctx: PlanContext,
  bridge: string,
  port: string,
  keepBridge: boolean,
): void => {
  const phase = ctx.phase;
  ctx.phase = PHASE.finish;
  ctx.push({
    id: `ovs-del-port:${port}`,
    netns: HOST,
    op: { op: 'exec', argv: vsctl('--if-exists', 'del-port', bridge, port) },
    describes: `remove port "${port}" from Open vSwitch bridge "${bridge}"`,
    undo: 'irreversible',
  });
  const ports = (ctx.ovsPorts(HOST, bridge) ?? [port]).filter((p) => p !== port);
  ctx.setOvsPorts(HOST, bridge, ports);
  const br = ctx.link(HOST, bridge);
  if (
    !keepBridge &&
    br &&
    decodeTag(br.alias)?.kind === 'bridge' &&
    ctx.ovsPorts(HOST, bridge) !== undefined &&
    ports.length === 0
  ) {
    ctx.push({
      id: `ovs-del-br:${bridge}`,
      netns: HOST,
      op: { op: 'exec', argv: vsctl('--if-exists', 'del-br', bridge) },
      describes: `remove Open vSwitch bridge "${bridge}" (pipefitter made it; no ports left)`,
      undo: 'irreversible',
    });
    ctx.dropLink(HOST, bridge);
    ctx.setOvsPorts(HOST, bridge, undefined);
  }
  ctx.phase = phase;
};
