/**
 * fast-check settings for the property tests (test/unit/property/): a fixed seed, so a run is
 * repeatable, and a moderate number of runs. PF_FC_SEED and PF_FC_RUNS change them (a failure
 * prints its seed and path; fc.assert replays them).
 */
import type fc from 'fast-check';
import assert from 'node:assert/strict';
import { isPipefitterError } from '../../src/errors.js';
import type { PipefitterError } from '../../src/errors.js';

export const FC: fc.Parameters<unknown> = {
  seed: Number(process.env.PF_FC_SEED ?? 20261301),
  numRuns: Number(process.env.PF_FC_RUNS ?? 300),
};

/** Run fn: it returns, or throws a PipefitterError (which is returned); anything else fails the property. */
export const onlyPipefitterErrors = (fn: () => unknown): PipefitterError | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    assert.ok(e.message.length > 0 && e.message.length < 2000, 'a short message');
    return e;
  }
};
