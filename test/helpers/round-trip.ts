/**
 * One round trip per link kind (netlink's testLinkAddDel idea), asserting on state read back
 * from the kernel: a dry run changes nothing; a failure injected before every step leaves the
 * full state as before; apply makes the expected state; a second apply plans nothing; detach
 * brings back the before-state, twice without error.
 */
import assert from 'node:assert/strict';
import { attach, detach } from '../../src/api/attach.js';
import type { AttachInput, PairInput } from '../../src/model/input.js';
import { isPipefitterError } from '../../src/errors.js';
import type { Ns, NsState } from './read-back.js';
import { readState } from './read-back.js';

export const snapshot = async (spaces: readonly Ns[]): Promise<NsState[]> =>
  Promise.all(spaces.map((s) => readState(s)));

export interface RoundTrip {
  readonly input: AttachInput | PairInput;
  /** Every namespace the attachment touches, the sandbox ("host") included. */
  readonly spaces: readonly Ns[];
  /** Targets and ifnames to detach afterwards. */
  readonly detach: readonly { target: string; ifname: string }[];
  readonly check: (after: NsState[]) => void | Promise<void>;
  /** Inject a failure before every step and compare (the slow part under the VM's TCG). @default true */
  readonly injectFailures?: boolean;
}

export const roundTrip = async (rt: RoundTrip): Promise<{ steps: number }> => {
  const before = await snapshot(rt.spaces);

  const dry = await attach(rt.input, { dryRun: true });
  assert.equal(dry.applied, false);
  assert.ok(dry.plan.steps.length > 0, 'the dry run plans steps');
  assert.deepEqual(await snapshot(rt.spaces), before, 'a dry run changes nothing');
  const n = dry.plan.steps.length;

  for (let k = 0; k < (rt.injectFailures === false ? 0 : n); k++) {
    // On the schedule real runs take: the wave's other groups run on, as on a kernel failure.
    let ran = 0;
    await assert.rejects(
      attach(rt.input, {
        hooks: {
          beforeStep: (_s, i) => {
            if (i === k) throw new Error(`injected failure before step ${k + 1}`);
          },
          afterStep: () => void ran++,
        },
      }),
      (e: unknown) => isPipefitterError(e) && e.code === 'E_STEP_FAILED' && e.rolledBack === ran,
    );
    assert.deepEqual(
      await snapshot(rt.spaces),
      before,
      `state after a failure before step ${k + 1} of ${n} equals the state before`,
    );
  }

  const out = await attach(rt.input);
  assert.equal(out.applied, true);
  assert.equal(out.plan.steps.length, n);
  await rt.check(await snapshot(rt.spaces));

  const again = await attach(rt.input);
  assert.equal(again.applied, false, 'a second attach changes nothing');
  assert.deepEqual(again.plan.steps, []);

  for (const d of rt.detach) {
    const r = await detach(d);
    assert.equal(r.applied, true);
  }
  assert.deepEqual(await snapshot(rt.spaces), before, 'detach brings the state back');
  for (const d of rt.detach) assert.equal((await detach(d)).applied, false, 'detach twice is fine');
  return { steps: n };
};
