/**
 * The order the executor runs a plan's steps in, which is also the order `--dry-run` prints.
 * Commands in different namespaces commute, so a kernel change may run earlier than the plan
 * lists it when nothing between touches a namespace it touches: the host-side work of many
 * containers comes together, then each container's own configuration, whatever order the
 * planner emitted them in. Commands that share a namespace keep their order, programs of their
 * own (DHCP clients, nft, arping…) never move ahead of anything, and a step that cannot be undone
 * never runs before a step listed ahead of it (a later failure could not roll it back).
 */
import type { Command, Op, Step } from '../model/step.js';
import type { NetnsRef } from '../model/netns.js';
import { netnsKey } from '../model/netns.js';

/**
 * A kernel change (one rtnetlink request, or one `ip`/`bridge` command) that may move ahead
 * past work in other namespaces. A program of its own may depend on more than its namespace
 * (an announcement needs the host end of its link up), so it stays where the planner put it.
 */
const movable = (
  c: Command & { bestEffort?: boolean | undefined; passOutput?: boolean | undefined },
): boolean => c.op.op !== 'exec' && c.bestEffort !== true && c.passOutput !== true && c.input === undefined;

/** Namespaces an operation names besides the one it runs in (a link born in or moved to another). */
const namedNetns = (o: Op): NetnsRef[] => {
  switch (o.op) {
    case 'link.add':
      return [
        ...(o.netns ? [o.netns] : []),
        ...(o.spec.kind === 'veth' && o.spec.peer.netns ? [o.spec.peer.netns] : []),
      ];
    case 'link.set':
      return o.patch.netns ? [o.patch.netns] : [];
    case 'exec':
      return o.argv.flatMap((a) => (typeof a === 'string' ? [] : [a.netns]));
    case 'link.del':
    case 'addr.add':
    case 'addr.del':
    case 'route.add':
    case 'route.replace':
    case 'route.del':
    case 'bridge-vlan.add':
    case 'bridge-vlan.del':
    case 'sysctl':
    case 'arp.announce':
      return [];
  }
};

/** The namespaces a command reads or changes: where it runs, and any it names. */
export const touches = (c: Command): Set<string> => {
  const out = new Set([netnsKey(c.netns)]);
  for (const ns of namedNetns(c.op)) out.add(netnsKey(ns));
  for (const ns of c.affects ?? []) out.add(netnsKey(ns));
  return out;
};

interface Slot<T> {
  readonly steps: T[];
  readonly touched: Set<string>;
  irreversible: boolean;
  reversible: boolean;
}

const isIrreversible = (c: Command): boolean => (c as Partial<Step>).undo === 'irreversible';

/**
 * The steps in the order they run. Built as slots (runs of movable commands of one namespace);
 * a movable command joins the first slot of its namespace after the last slot it must follow.
 * @example schedule(plan.steps).forEach((s, i) => …)
 */
export const schedule = <T extends Command>(items: readonly T[]): T[] => {
  const slots: Slot<T>[] = [];
  for (const it of items) {
    const t = touches(it);
    const irr = isIrreversible(it);
    let after = -1;
    for (let i = slots.length - 1; i >= 0; i--) {
      const s = slots[i] as Slot<T>;
      if ((irr ? s.reversible : s.irreversible) || [...t].some((k) => s.touched.has(k))) {
        after = i;
        break;
      }
    }
    let slot: Slot<T> | undefined;
    if (movable(it))
      for (let i = Math.max(after, 0); i < slots.length; i++) {
        const s = slots[i] as Slot<T>;
        const head = s.steps[0] as T;
        if (movable(head) && netnsKey(head.netns) === netnsKey(it.netns)) {
          slot = s;
          break;
        }
      }
    if (!slot) {
      slot = { steps: [], touched: new Set(), irreversible: false, reversible: false };
      slots.push(slot);
    }
    slot.steps.push(it);
    for (const k of t) slot.touched.add(k);
    if (irr) slot.irreversible = true;
    else slot.reversible = true;
  }
  return slots.flatMap((s) => s.steps);
};
