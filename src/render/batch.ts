/**
 * Consecutive `ip` (or `bridge`) commands for one namespace go to one `ip -batch -` (or
 * `bridge -batch -`) process — never -force going forward: it stops at the first failure and
 * says which line. The batch reader splits lines on blanks and cuts at "#", so a command whose
 * arguments hold such characters runs alone.
 */
import type { Command, Op, Step } from '../model/step.js';
import type { NetnsRef } from '../model/netns.js';
import { netnsKey } from '../model/netns.js';
import { argvOf } from './ip.js';

const BATCH_UNSAFE = /[\s#"'\\]/;

const BATCH_TOOLS = new Set(['ip', 'bridge']);

export const batchable = (
  c: Command & { bestEffort?: boolean | undefined; passOutput?: boolean | undefined },
): boolean => {
  if (c.bestEffort === true || c.passOutput === true || c.input !== undefined) return false;
  const argv = argvOf(c);
  return (
    typeof argv[0] === 'string' &&
    BATCH_TOOLS.has(argv[0]) &&
    argv.length > 1 &&
    argv.every((a) => typeof a !== 'string' || (a !== '' && !BATCH_UNSAFE.test(a)))
  );
};

/** The program that runs a command under the ip backend (what a batch is made of). */
const toolOf = (c: Command): unknown => argvOf(c)[0];

/** Split commands into runs that can share one process: same namespace, all batchable. */
export const groupCommands = <T extends Command>(items: readonly T[]): T[][] => {
  const groups: T[][] = [];
  let cur: T[] = [];
  for (const it of items) {
    const prev = cur[cur.length - 1];
    if (
      prev &&
      batchable(prev) &&
      batchable(it) &&
      toolOf(prev) === toolOf(it) &&
      netnsKey(prev.netns) === netnsKey(it.netns)
    ) {
      cur.push(it);
      continue;
    }
    if (cur.length) groups.push(cur);
    cur = [it];
  }
  if (cur.length) groups.push(cur);
  return groups;
};

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
 * The order the executor runs a plan in, as groups that each take one process. A command may
 * run earlier than the plan lists it when nothing between shares a namespace with it: commands
 * in different namespaces commute. That lets the host-side work of many containers share one
 * `ip -batch` and each container's own configuration share another, whatever order the planner
 * emitted them in. Commands that share a namespace keep their order, and a step that cannot be
 * undone never runs before a step listed ahead of it (a later failure could not roll it back).
 */
export const schedule = <T extends Command>(items: readonly T[]): T[][] => {
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
    if (batchable(it))
      for (let i = Math.max(after, 0); i < slots.length; i++) {
        const s = slots[i] as Slot<T>;
        const head = s.steps[0] as T;
        if (batchable(head) && toolOf(head) === toolOf(it) && netnsKey(head.netns) === netnsKey(it.netns)) {
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
  return slots.map((s) => s.steps);
};

/**
 * Scheduled groups cut into waves whose groups may run at the same time: each touches
 * namespaces no other group of its wave touches, and none holds a step that cannot be undone
 * (those run alone, in order). A wave holds at most `width` groups.
 */
export const waves = <T extends Command>(groups: readonly T[][], width: number): T[][][] => {
  const out: T[][][] = [];
  let cur: T[][] = [];
  let used = new Set<string>();
  for (const g of groups) {
    const t = new Set(g.flatMap((c) => [...touches(c)]));
    const alone = g.some(isIrreversible);
    if (cur.length > 0 && (alone || cur.length >= width || [...t].some((k) => used.has(k)))) {
      out.push(cur);
      cur = [];
      used = new Set();
    }
    cur.push(g);
    for (const k of t) used.add(k);
    if (alone) {
      out.push(cur);
      cur = [];
      used = new Set();
    }
  }
  if (cur.length) out.push(cur);
  return out;
};

/** The stdin of `ip -batch -` for already-spelled argvs (each starting with the tool's name). */
export const batchInput = (argvs: readonly (readonly string[])[]): string =>
  argvs.map((a) => a.slice(1).join(' ')).join('\n') + '\n';

export interface BatchFailure {
  /** 0-based index of the failed line. */
  readonly index: number;
  readonly message: string;
}

/** Parse ip's "Command failed -:N" lines; each message is the stderr text printed before it. */
export const parseBatchFailures = (stderr: string): BatchFailure[] => {
  const out: BatchFailure[] = [];
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)\s*$/.exec(line);
    if (m) {
      out.push({ index: Number(m[1]) - 1, message: pending.join('\n').trim() });
      pending = [];
    } else if (line.trim()) pending.push(line);
  }
  return out;
};
