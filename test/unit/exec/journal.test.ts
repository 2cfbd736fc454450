/**
 * The journal's schedule reaches the disk (fsync) only when a step's effect can outlive the
 * machine — a command run, e.g. ovs-vsctl writing Open vSwitch's database; a schedule of kernel
 * changes alone is written whole but not fsynced (exec/journal.ts outlivesPowerLoss). Either
 * way it is read back the same by the next run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { HOST } from '../../../src/model/netns.js';
import type { Step } from '../../../src/model/step.js';
import { interruptedRuns, openJournal, outlivesPowerLoss } from '../../../src/exec/journal.js';
import { tempStateDir } from '../../helpers/state-dir.js';

const step = (id: string, op: Step['op']): Step => ({ id, netns: HOST, op, describes: id, undo: 'covered' });
const kernel = step('link-up:br0', { op: 'link.set', name: 'br0', patch: { up: true } });
const vsctl = step('ovs-port', { op: 'exec', argv: ['ovs-vsctl', 'add-port', 'ovs0', 'p1'] });

test('outlivesPowerLoss: a command run may write to disk; kernel changes go with the machine', () => {
  assert.equal(outlivesPowerLoss(vsctl), true);
  assert.equal(outlivesPowerLoss(kernel), false);
});

test('openJournal fsyncs the schedule only when a step outlives a power loss; the next run reads both back', async (t) => {
  await tempStateDir(t, 'journal');
  const real = fs.fsyncSync;
  let syncs = 0;
  fs.fsyncSync = (fd) => {
    syncs++;
    real(fd);
  };
  syncBuiltinESMExports();
  t.after(() => {
    fs.fsyncSync = real;
    syncBuiltinESMExports();
  });
  const a = openJournal('kernel only', [kernel]);
  a.started(0);
  assert.equal(syncs, 0, 'no fsync for kernel changes alone');
  const b = openJournal('with ovs-vsctl', [kernel, vsctl]);
  b.started(1);
  assert.equal(syncs, 1, 'the schedule fsynced');
  // as a run killed now leaves them (its process is this one: not taken for a live other)
  const runs = interruptedRuns();
  a.close();
  b.close();
  assert.deepEqual(runs.map((r) => [r.title, r.started.map((s) => s.id)]).sort(), [
    ['kernel only', ['link-up:br0']],
    ['with ovs-vsctl', ['ovs-port']],
  ]);
});
