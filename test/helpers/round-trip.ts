/**
 * One round trip per link kind (netlink's testLinkAddDel idea), asserting on state read back
 * from the kernel: a dry run changes nothing; a failure injected before every step — on the
 * schedule real runs take — leaves the full state as before; apply
 * makes the expected state; a second apply plans nothing; a failure injected before every step
 * of the detach leaves the attached state; detach brings back the before-state, twice without
 * error. "State" is the full snapshot of ./kernel-state.ts: links, addresses, routes of every
 * table, rules, neighbours, sysctls, bridge VLANs, nftables, iptables, processes and files.
 */
import assert from 'node:assert/strict';
import { attach, detach } from '../../src/api/attach.js';
import type { AttachInput, PairInput } from '../../src/model/input.js';
import { isPipefitterError } from '../../src/errors.js';
import type { Outcome } from '../../src/api/engine.js';
import type { ApplyHooks } from '../../src/exec/apply.js';
import { schedule } from '../../src/render/schedule.js';
import type { Plan, Step } from '../../src/model/step.js';
import type { Ns, NsState } from './read-back.js';
import { readState } from './read-back.js';
import type { Snapshot } from './kernel-state.js';
import { diffSnapshots, expectState, fullSnapshot, nsLabel } from './kernel-state.js';

/** The full state of `spaces` (./kernel-state.ts); compare with expectState. */
export const snapshot = (spaces: readonly Ns[]): Promise<Snapshot> => fullSnapshot(spaces);

export { expectState } from './kernel-state.js';

export interface RoundTrip {
  readonly input: AttachInput | PairInput;
  /** Every namespace the attachment touches, the sandbox ("host") included. */
  readonly spaces: readonly Ns[];
  /** Targets and ifnames to detach afterwards. */
  readonly detach: readonly { target: string; ifname: string }[];
  /** Specific assertions on the applied state (links, addresses, routes per space). */
  readonly check: (after: NsState[]) => void | Promise<void>;
  /** Inject a failure before every step, of the attach and of the detach (slow under the VM's TCG). @default true */
  readonly injectFailures?: boolean;
}

export interface Injection {
  readonly what: string;
  /** The plan (from a dry run): its steps, in the order the executor schedules them. */
  readonly plan: Plan;
  readonly spaces: readonly Ns[];
  /** The state before the operation: what a rolled-back failure must leave. */
  readonly expected: Snapshot;
  readonly run: (hooks: ApplyHooks) => Promise<unknown>;
  /**
   * For plans with a step that cannot be undone (deleting a link, moving a NIC home): a failure
   * after it exits 3 naming it, by design, and says to run the command again. Then `recover`
   * (given the steps scheduled after the last such step that ran, for a caller that wants them;
   * a detach or destroy is simply run again) must bring the state to `completed` (the state
   * after the operation), and `reset` back to `expected` for the next position.
   */
  readonly pastNoReturn?: {
    readonly completed: Snapshot;
    readonly recover: (remaining: readonly Step[]) => Promise<unknown>;
    readonly reset: () => Promise<unknown>;
  };
}

const describeError = (e: unknown): string =>
  isPipefitterError(e)
    ? `${e.code} ${e.message}, rolledBack ${String(e.rolledBack)}${e.leftovers ? `, leftovers: ${e.leftovers.join('; ')}` : ''}`
    : String(e);

/**
 * Runs `run` with a failure injected before the step at schedule position k, for every k, and
 * asserts after each that the full state of `spaces` is `expected`: the rollback undid exactly
 * what ran (rolledBack counts the steps that ran).
 */
export const injectEverywhere = async (o: Injection): Promise<void> => {
  const order = schedule(o.plan.steps);
  let expected = o.expected;
  for (let k = 0; k < order.length; k++) {
    const ran: Step[] = [];
    let offered = false;
    const error = await o
      .run({
        beforeStep: (_s, i) => {
          if (i === k) {
            offered = true;
            throw new Error(`injected failure before step ${k + 1}`);
          }
        },
        afterStep: (s) => void ran.push(s),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const at = `${o.what}: a failure before step ${k + 1} of ${order.length}`;
    assert.ok(offered, `${at}: the step was offered to the hook`);
    const gone = ran.filter((s) => s.undo === 'irreversible');
    if (gone.length === 0) {
      assert.ok(
        isPipefitterError(error) && error.code === 'E_STEP_FAILED' && error.rolledBack === ran.length,
        `${at} is rolled back (E_STEP_FAILED, ${ran.length} steps undone); got ${describeError(error)}`,
      );
      await expectState(o.spaces, expected, `${at}: the state is as before`);
      continue;
    }
    assert.ok(
      isPipefitterError(error) &&
        error.code === 'E_ROLLBACK_FAILED' &&
        error.leftovers?.length === gone.length &&
        gone.every((s) => error.leftovers?.some((l) => l.includes(s.describes))),
      `${at}, after ${gone.map((s) => `"${s.describes}"`).join(', ')} (which cannot be undone), exits 3 naming exactly that; got ${describeError(error)}`,
    );
    if (!o.pastNoReturn)
      assert.fail(
        `${at}: the plan cannot be rolled back past "${gone[0]?.describes ?? ''}": say how to recover`,
      );
    const last = Math.max(...gone.map((g) => order.findIndex((s) => s.id === g.id)));
    await o.pastNoReturn.recover(order.slice(last + 1));
    await expectState(
      o.spaces,
      o.pastNoReturn.completed,
      `${at}: completed after exit 3, the state is as after a success`,
    );
    await o.pastNoReturn.reset();
    // made again, links without a given MAC get new random ones: the rest is as it was; an
    // announcement started by the reset (arping, not waited for) may still be exiting
    const differs = (now: Snapshot): string[] =>
      diffSnapshots(expected, now, o.spaces.map(nsLabel)).filter((d) => !/: link \S+ address: /.test(d));
    let again = await snapshot(o.spaces);
    for (
      let i = 0;
      i < 20 && differs(again).length && differs(again).every((d) => d.includes(': process '));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      again = await snapshot(o.spaces);
    }
    assert.deepEqual(differs(again), [], `${at}: and back where it started`);
    expected = again;
  }
};

const detachAll = async (rt: RoundTrip, hooks?: ApplyHooks): Promise<Outcome[]> => {
  const out: Outcome[] = [];
  for (const d of rt.detach) out.push(await detach(d, hooks ? { hooks } : {}));
  return out;
};

export const roundTrip = async (rt: RoundTrip): Promise<{ steps: number }> => {
  const before = await snapshot(rt.spaces);

  const dry = await attach(rt.input, { dryRun: true });
  assert.equal(dry.applied, false);
  assert.ok(dry.plan.steps.length > 0, 'the dry run plans steps');
  await expectState(rt.spaces, before, 'a dry run changes nothing');
  const n = dry.plan.steps.length;

  if (rt.injectFailures !== false)
    await injectEverywhere({
      what: 'attach',
      plan: dry.plan,
      spaces: rt.spaces,
      expected: before,
      run: (hooks) => attach(rt.input, { hooks }),
    });

  const out = await attach(rt.input);
  assert.equal(out.applied, true);
  assert.equal(out.plan.steps.length, n);
  await rt.check(await Promise.all(rt.spaces.map((s) => readState(s))));

  const again = await attach(rt.input);
  assert.equal(again.applied, false, 'a second attach changes nothing');
  assert.deepEqual(again.plan.steps, []);

  if (rt.injectFailures !== false && rt.detach.length === 1) {
    const attached = await snapshot(rt.spaces);
    const d = rt.detach[0] as { target: string; ifname: string };
    const plan = await detach(d, { dryRun: true });
    await injectEverywhere({
      what: 'detach',
      plan: plan.plan,
      spaces: rt.spaces,
      expected: attached,
      run: (hooks) => detachAll(rt, hooks),
      // past a removal (exit 3) the user is told to run the detach again: that finishes it
      pastNoReturn: { completed: before, recover: () => detachAll(rt), reset: () => attach(rt.input) },
    });
  }

  for (const r of await detachAll(rt)) assert.equal(r.applied, true);
  await expectState(rt.spaces, before, 'detach brings the state back');
  for (const r of await detachAll(rt)) assert.equal(r.applied, false, 'detach twice is fine');
  return { steps: n };
};
