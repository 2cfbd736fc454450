/** watch's decisions (plan/watch.ts), its duration parser and its systemd unit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetNow, WatchUnit } from '../../../src/plan/watch.js';
import { decide, parseDuration, systemdUnit, unitsOf } from '../../../src/plan/watch.js';

const att: WatchUnit = { key: 'a', kind: 'attachment', targets: ['docker:1'] };
const pair: WatchUnit = { key: 'p', kind: 'attachment', targets: ['docker:1', 'netns:b'] };
const recipe: WatchUnit = { key: 'r', kind: 'recipe', targets: ['docker:1', 'docker:2'] };
const running = (ns: string): TargetNow => ({ state: 'running', nsIdentity: ns });
const m = <V>(...e: [string, V][]): Map<string, V> => new Map(e);

test('a target in a new namespace is re-applied; in the same one, checked only when due', () => {
  const applied = m(['docker:1', 'ns1'], ['docker:2', 'ns2'], ['netns:b', 'nsb']);
  assert.deepEqual(decide({ unit: att, now: m(['docker:1', running('ns9')]), applied, checkDue: false }), {
    kind: 'reapply',
    why: 'docker:1 has a new network namespace',
  });
  assert.equal(
    decide({ unit: att, now: m(['docker:1', running('ns1')]), applied, checkDue: false }),
    undefined,
  );
  assert.deepEqual(decide({ unit: att, now: m(['docker:1', running('ns1')]), applied, checkDue: true }), {
    kind: 'check',
  });
  // a link: either end restarted
  assert.equal(
    decide({
      unit: pair,
      now: m(['docker:1', running('ns1')], ['netns:b', running('nsB2')]),
      applied,
      checkDue: false,
    })?.kind,
    'reapply',
  );
  // never applied here (adopted without a namespace on record): checked at once
  assert.deepEqual(decide({ unit: att, now: m(['docker:1', running('x')]), applied: m(), checkDue: false }), {
    kind: 'check',
  });
});

test('stopped waits, gone forgets an attachment and releases its part of a recipe, unknown waits', () => {
  const applied = m(['docker:1', 'ns1'], ['docker:2', 'ns2']);
  assert.equal(
    decide({ unit: att, now: m(['docker:1', { state: 'stopped' }]), applied, checkDue: true })?.kind,
    'wait',
  );
  assert.equal(
    decide({ unit: att, now: m(['docker:1', { state: 'gone' }]), applied, checkDue: false })?.kind,
    'forget',
  );
  assert.equal(
    decide({
      unit: pair,
      now: m(['docker:1', running('ns1')], ['netns:b', { state: 'gone' }]),
      applied,
      checkDue: false,
    })?.kind,
    'forget',
  );
  assert.equal(
    decide({
      unit: recipe,
      now: m(['docker:1', running('ns1')], ['docker:2', { state: 'gone' }]),
      applied,
      checkDue: false,
    })?.kind,
    'release',
  );
  assert.deepEqual(
    decide({
      unit: att,
      now: m(['docker:1', { state: 'unknown', why: 'Docker cannot be reached' }]),
      applied,
      checkDue: true,
    }),
    {
      kind: 'wait',
      why: 'docker:1: Docker cannot be reached',
    },
  );
  assert.equal(decide({ unit: att, now: m(), applied, checkDue: true })?.kind, 'wait', 'not asked: unknown');
  // a recipe goes on for the targets that run: one stopped, the other restarted
  assert.equal(
    decide({
      unit: recipe,
      now: m(['docker:1', { state: 'stopped' }], ['docker:2', running('new')]),
      applied,
      checkDue: false,
    })?.kind,
    'reapply',
  );
  assert.equal(
    decide({
      unit: recipe,
      now: m(['docker:1', { state: 'stopped' }], ['docker:2', { state: 'stopped' }]),
      applied,
      checkDue: true,
    })?.kind,
    'wait',
  );
});

test('a recipe releases exactly its targets gone for good, whatever the others do; stopped ones keep theirs', () => {
  const applied = m(['docker:1', 'ns1'], ['docker:2', 'ns2'], ['pid:7', 'ns7']);
  const three: WatchUnit = { key: 'r3', kind: 'recipe', targets: ['docker:1', 'docker:2', 'pid:7'] };
  const states: [TargetNow, TargetNow, TargetNow][] = [
    [running('ns1'), { state: 'gone' }, running('ns7')],
    [{ state: 'stopped' }, { state: 'gone' }, { state: 'gone' }],
    [running('new'), { state: 'gone' }, { state: 'unknown', why: 'Docker cannot be reached' }],
    [{ state: 'gone' }, { state: 'gone' }, { state: 'gone' }],
  ];
  for (const [a, b, c] of states)
    for (const checkDue of [false, true]) {
      const got = decide({
        unit: three,
        now: m(['docker:1', a], ['docker:2', b], ['pid:7', c]),
        applied,
        checkDue,
      });
      const gone = three.targets.filter((_, i) => [a, b, c][i]!.state === 'gone');
      assert.deepEqual(got, {
        kind: 'release',
        targets: gone,
        why: `${gone.join(', ')} is gone (removed, or its process exited)`,
      });
    }
  // stopped, or not known: nothing is released (a restart gets the same lease back)
  for (const s of [{ state: 'stopped' }, { state: 'unknown', why: 'x' }] as TargetNow[])
    assert.notEqual(
      decide({ unit: recipe, now: m(['docker:1', s], ['docker:2', s]), applied, checkDue: true })?.kind,
      'release',
    );
  // after the release the unit goes on without it: the target left is checked as usual
  assert.deepEqual(
    decide({
      unit: { ...recipe, targets: ['docker:1'] },
      now: m(['docker:1', running('ns1')]),
      applied,
      checkDue: true,
    }),
    { kind: 'check' },
  );
});

test('unitsOf picks the units a target change concerns', () => {
  assert.deepEqual(unitsOf([att, pair, recipe], new Set(['netns:b'])), [pair]);
  assert.deepEqual(unitsOf([att, pair, recipe], new Set(['docker:2'])), [recipe]);
});

test('parseDuration', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('5'), 5000);
  for (const bad of ['', 'x', '10ms', '-1s', '1d', 's']) assert.equal(parseDuration(bad), undefined, bad);
});

test('the systemd unit', () => {
  const u = systemdUnit('/opt/pipefitter/pipefitter.js');
  for (const line of [
    'Type=simple',
    'ExecStart=/opt/pipefitter/pipefitter.js watch --json',
    'Restart=on-failure',
    'RestartSec=2',
    'WantedBy=multi-user.target',
  ])
    assert.ok(u.split('\n').includes(line), line);
});
