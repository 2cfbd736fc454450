/**
 * The planner's working copy of the world: observed state plus the effect of every step
 * planned so far, so that two attachments sharing a bridge create it once, and a later
 * step knows whether the link it touches is new (its undo is then `covered`).
 */
import { sameAddress } from '../addr.js';
import type { NetnsRef } from '../model/netns.js';
import { netnsKey } from '../model/netns.js';
import type {
  FirewallState,
  NetnsState,
  ObservedLink,
  ObservedNeighbour,
  ObservedRoute,
  ObservedState,
  ParentUpRecord,
} from '../model/observed.js';
import type { Plan, StateRecord, Step } from '../model/step.js';
import type { Phase } from './phases.js';
import { PHASE } from './phases.js';

export interface ProjectedLink extends ObservedLink {
  /** Made by this plan: steps on it need no undo of their own. */
  readonly planned: boolean;
}

interface ProjectedNetns {
  links: Map<string, ProjectedLink>;
  routes: ObservedRoute[];
  observed: boolean;
  firewall?: FirewallState | undefined;
  ovs?: Map<string, string[]> | undefined;
  neighbours: readonly ObservedNeighbour[];
  parentsUp: Map<string, ParentUpRecord>;
}

export class PlanContext {
  /** The phase steps pushed now belong to (see phases.ts). */
  phase: Phase = PHASE.link;
  readonly steps: Step[] = [];
  private readonly phases: Phase[] = [];
  readonly noops: string[] = [];
  readonly notes: string[] = [];
  readonly records: StateRecord[] = [];
  private readonly spaces = new Map<string, ProjectedNetns>();
  private readonly ids = new Set<string>();
  private readonly checks: (() => void)[] = [];

  constructor(observed: ObservedState) {
    for (const [key, state] of observed) this.spaces.set(key, fromObserved(state));
  }

  private space(ns: NetnsRef): ProjectedNetns {
    const key = netnsKey(ns);
    let s = this.spaces.get(key);
    if (!s) {
      s = { links: new Map(), routes: [], observed: false, neighbours: [], parentsUp: new Map() };
      this.spaces.set(key, s);
    }
    return s;
  }

  /** False when the namespace was never observed (a planner bug or a missing target). */
  isObserved(ns: NetnsRef): boolean {
    return this.space(ns).observed;
  }

  link(ns: NetnsRef, name: string): ProjectedLink | undefined {
    return this.space(ns).links.get(name);
  }

  links(ns: NetnsRef): ProjectedLink[] {
    return [...this.space(ns).links.values()];
  }

  /** Does a neighbour cache entry on `dev` (as observed) hold a MAC address for `address`? */
  knowsNeighbour(ns: NetnsRef, dev: string, address: string): boolean {
    return this.space(ns).neighbours.some((n) => n.dev === dev && sameAddress(n.address, address));
  }

  /** The record of a host interface pipefitter brought up (pending records included), if current. */
  parentUp(name: string): ParentUpRecord | undefined {
    const r = this.space({ kind: 'host' }).parentsUp.get(name);
    const l = this.link({ kind: 'host' }, name);
    return r && l && r.ifindex === l.ifindex ? r : undefined;
  }

  /** Every current record that names this user. */
  parentsUsedBy(user: string): string[] {
    return [...this.space({ kind: 'host' }).parentsUp.keys()].filter((p) =>
      this.parentUp(p)?.users.includes(user),
    );
  }

  /** Record a user of a parent pipefitter brought up (or its leaving), to be written after apply. */
  recordParentUser(parent: string, ifindex: number, user: string, op: 'add' | 'remove'): void {
    const map = this.space({ kind: 'host' }).parentsUp;
    const cur = map.get(parent);
    const users = cur && cur.ifindex === ifindex ? cur.users : [];
    map.set(parent, {
      ifindex,
      users: op === 'add' ? [...new Set([...users, user])] : users.filter((u) => u !== user),
    });
    this.records.push({ kind: 'parent-user', parent, ifindex, user, op });
  }

  routes(ns: NetnsRef): readonly ObservedRoute[] {
    return this.space(ns).routes;
  }

  firewall(ns: NetnsRef): FirewallState | undefined {
    return this.space(ns).firewall;
  }

  /** Ports of an Open vSwitch bridge (undefined when OVS was not observed). */
  ovsPorts(ns: NetnsRef, bridge: string): string[] | undefined {
    return this.space(ns).ovs?.get(bridge);
  }

  setOvsPorts(ns: NetnsRef, bridge: string, ports: string[] | undefined): void {
    const s = this.space(ns);
    s.ovs ??= new Map();
    if (ports === undefined) s.ovs.delete(bridge);
    else s.ovs.set(bridge, ports);
  }

  setFirewall(ns: NetnsRef, f: FirewallState): void {
    this.space(ns).firewall = f;
  }

  putLink(ns: NetnsRef, l: ProjectedLink): void {
    this.space(ns).links.set(l.name, l);
  }

  dropLink(ns: NetnsRef, name: string): void {
    const s = this.space(ns);
    s.links.delete(name);
    s.routes = s.routes.filter((r) => r.dev !== name);
  }

  renameLink(ns: NetnsRef, from: string, to: string): void {
    const s = this.space(ns);
    const l = s.links.get(from);
    if (!l) return;
    s.links.delete(from);
    s.links.set(to, { ...l, name: to });
  }

  updateLink(ns: NetnsRef, name: string, patch: Partial<ProjectedLink>): void {
    const s = this.space(ns);
    const l = s.links.get(name);
    if (l) s.links.set(name, { ...l, ...patch });
  }

  addRoute(ns: NetnsRef, r: ObservedRoute): void {
    this.space(ns).routes.push(r);
  }

  removeRoute(ns: NetnsRef, r: ObservedRoute): void {
    const s = this.space(ns);
    s.routes = s.routes.filter((x) => x !== r);
  }

  /**
   * Add a step. Ids are unique within a plan (recipes, `--json` and the dry-run name steps by
   * them): one that runs inside a target's namespace is qualified by it (`netns:r1/link-up:eth1`),
   * since two containers each have an eth1; a second step with an id already used is a planner
   * bug (the same change planned twice), never renamed.
   */
  push(step: Step, phase: Phase = this.phase): void {
    const id = qualifiedId(step);
    if (this.ids.has(id))
      throw new Error(`internal: two steps of one plan have the id "${id}" (${step.describes})`);
    this.ids.add(id);
    this.steps.push({ ...step, id });
    this.phases.push(phase);
  }

  /** Is a step of this id (qualified, see qualifiedId) planned already? */
  hasStep(id: string): boolean {
    return this.ids.has(id);
  }

  /** Change a step already planned (found by its id), e.g. a tag that gained a user in the same plan. */
  amend(id: string, change: (s: Step) => Step): void {
    const i = this.steps.findIndex((s) => s.id === id);
    const s = this.steps[i];
    if (s === undefined) throw new Error(`internal: no step "${id}" to amend`);
    this.steps[i] = { ...change(s), id };
  }

  /**
   * A check of the state the whole plan leaves (it may refuse), run by finish(): for a rule the
   * kernel applies whatever order the steps come in.
   */
  atFinish(check: () => void): void {
    this.checks.push(check);
  }

  /** The plan: steps ordered by phase, then grouped by namespace in order of first appearance. */
  finish(): Plan {
    for (const check of this.checks.splice(0)) check();
    const firstSeen = new Map<string, number>();
    const order = this.steps.map((s, i) => {
      const key = netnsKey(s.netns);
      if (!firstSeen.has(key)) firstSeen.set(key, i);
      return { s, i, phase: this.phases[i] ?? PHASE.link, ns: firstSeen.get(key) ?? i };
    });
    order.sort((a, b) => a.phase - b.phase || a.ns - b.ns || a.i - b.i);
    return {
      steps: order.map((o) => o.s),
      noops: [...this.noops],
      notes: [...new Set(this.notes)],
      ...(this.records.length ? { records: [...this.records] } : {}),
    };
  }
}

const fromObserved = (s: NetnsState): ProjectedNetns => ({
  links: new Map(s.links.map((l) => [l.name, { ...l, planned: false }])),
  routes: [...s.routes],
  observed: true,
  firewall: s.firewall,
  ovs: s.ovs ? new Map([...s.ovs].map(([k, v]) => [k, [...v]])) : undefined,
  neighbours: s.neighbours ?? [],
  parentsUp: new Map(s.parentsUp ?? []),
});

/** A step's id within its plan: qualified by its namespace unless that is the host's. */
export const qualifiedId = (s: Pick<Step, 'id' | 'netns'>): string =>
  s.netns.kind === 'host' ? s.id : `${netnsKey(s.netns)}/${s.id}`;

/** A link as it will be once a creating step has run. */
export const plannedLink = (p: {
  name: string;
  kind?: string | undefined;
  master?: string | undefined;
  mtu?: number | undefined;
  mac?: string | undefined;
  alias?: string | undefined;
  parent?: string | undefined;
}): ProjectedLink => ({
  ifindex: 0,
  name: p.name,
  kind: p.kind,
  master: p.master,
  up: false,
  operstate: 'DOWN',
  mtu: p.mtu ?? 1500,
  mac: p.mac ?? '',
  alias: p.alias,
  parent: p.parent,
  addrs: [],
  planned: true,
});
