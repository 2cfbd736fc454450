/** watch's decisions (plan/watch.ts), its duration parser and its systemd unit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetNow, WatchUnit } from '../../../src/plan/watch.js';
import {
  appliedOf,
  attachmentUnit,
  batchOf,
  bridgeOf,
  decide,
  eventTime,
  firewallChanged,
  firewallReusable,
  parseDuration,
  pollWants,
  recipeUnit,
  specsOf,
  systemdUnit,
  takeDirty,
  timingOf,
  unitsOf,
} from '../../../src/plan/watch.js';
import type { FirewallState } from '../../../src/model/observed.js';

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
    'Nice=-10',
    'WantedBy=multi-user.target',
  ])
    assert.ok(u.split('\n').includes(line), line);
});

const rec = {
  target: { spec: 'web', id: 'docker:abc', nsIdentity: '4:100@1' },
  ifname: 'eth1',
};
const linkRec = {
  target: { spec: 'netns:a', id: 'netns:a' },
  ifname: 'x0',
  peer: { spec: 'db', id: 'docker:def', nsIdentity: '4:200@1', ifname: 'x1' },
};
const lab = {
  name: 'lab',
  targets: [
    { id: 'docker:abc', spec: 'docker:web' },
    { id: 'netns:r1', spec: 'netns:r1' },
  ],
};

test('units from records and recipe states: keys, targets, labels; how each target is found again', () => {
  const a = attachmentUnit(rec);
  assert.equal(a.key, 'attachment:docker:abc/eth1');
  assert.deepEqual(a.targets, ['docker:abc']);
  assert.equal(a.label, 'web eth1');
  const l = attachmentUnit(linkRec);
  assert.deepEqual(l.targets, ['netns:a', 'docker:def']);
  assert.equal(l.label, 'netns:a x0 <-> db x1');
  const r = recipeUnit(lab);
  assert.deepEqual([r.key, r.kind, r.label], ['recipe:lab', 'recipe', 'recipe lab']);
  assert.deepEqual(r.targets, ['docker:abc', 'netns:r1']);
  // the attachment record's spelling wins over the recipe's, whatever the order
  assert.deepEqual([...specsOf([r, a, l]).entries()].sort(), [
    ['docker:abc', 'web'],
    ['docker:def', 'db'],
    ['netns:a', 'netns:a'],
    ['netns:r1', 'netns:r1'],
  ]);
  assert.deepEqual(
    [...appliedOf([rec, linkRec]).entries()],
    [
      ['docker:abc', '4:100@1'],
      ['docker:def', '4:200@1'],
    ],
    'only targets with a namespace on record',
  );
});

test('batchOf: the attachments of restarted targets in one plan, two or more, never when only reporting', () => {
  const re = { kind: 'reapply', why: 'x' } as const;
  const one = { u: att, a: re };
  const two = { u: pair, a: re };
  const rcp = { u: recipe, a: re };
  const chk = { u: att, a: { kind: 'check' } as const };
  assert.deepEqual(batchOf([one, two, rcp, chk], false), [one, two]);
  assert.deepEqual(batchOf([one, rcp, chk], false), [], 'one alone is acted on alone');
  assert.deepEqual(batchOf([one, two], true), []);
});

test('timingOf: since the start event of the first target that had one; eventTime from nanoseconds', () => {
  assert.deepEqual(timingOf(['a', 'b'], 1000, 1300, m(['b', 900])), { ms: 300, sinceEventMs: 400 });
  assert.deepEqual(timingOf(['a'], 1000, 1300, m(['b', 900])), { ms: 300 });
  assert.deepEqual(timingOf(['a'], 1000, 1000, undefined), { ms: 0 });
  assert.equal(eventTime(1_700_000_000_123_456_000, 5), 1_700_000_000_123);
  assert.equal(eventTime(undefined, 5), 5);
});

test('pollWants: a new namespace, or a pid gone; not a stopped netns, not one never applied', () => {
  assert.equal(pollWants('netns:a', running('n2'), 'n1'), true);
  assert.equal(pollWants('netns:a', running('n1'), 'n1'), false);
  assert.equal(pollWants('netns:a', running('n1'), undefined), false);
  assert.equal(pollWants('pid:9', { state: 'gone' }, 'n1'), true);
  assert.equal(pollWants('netns:a', { state: 'gone' }, 'n1'), false);
  assert.equal(pollWants('netns:a', { state: 'stopped' }, 'n1'), false);
  assert.equal(pollWants('netns:a', undefined, 'n1'), false);
});

test('takeDirty: all dirty targets, with their event times; both sets emptied of them', () => {
  const dirty = new Set(['a', 'b']);
  const eventAt = m(['a', 10], ['c', 30]);
  const { only, at } = takeDirty(dirty, eventAt);
  assert.deepEqual([...only], ['a', 'b']);
  assert.deepEqual([...at], [['a', 10]]);
  assert.equal(dirty.size, 0);
  assert.deepEqual([...eventAt], [['c', 30]], 'an event of a target not taken stays');
});

test("bridgeOf: a bridge's name, pipework's host interface; none for OVS and other kinds", () => {
  assert.equal(bridgeOf({ kind: 'bridge', bridge: 'br0' } as never), 'br0');
  assert.equal(bridgeOf({ kind: 'bridge', bridge: 'br0', ovs: true } as never), undefined);
  assert.equal(bridgeOf({ kind: 'auto', host: { name: 'br1' } } as never), 'br1');
  assert.equal(bridgeOf({ kind: 'auto', host: { mac: '02:00:00:00:00:01' } } as never), undefined);
  assert.equal(bridgeOf({ kind: 'macvlan', parent: 'eth0' } as never), undefined);
});

const fw = (over: Partial<FirewallState> = {}): FirewallState => ({
  brNetfilter: { 4: true, 6: true },
  forwardDrop: { 4: true, 6: false },
  dockerUser: { 4: true, 6: false },
  bridgeRules: [{ family: 4, chain: 'DOCKER-USER', bridge: 'br0' }],
  ...over,
});

test('firewallReusable: a clean reading with br_netfilter as it is now', () => {
  assert.equal(firewallReusable(fw(), { 4: true, 6: true }), true);
  assert.equal(firewallReusable(fw(), { 4: false, 6: true }), false, 'br_netfilter changed');
  assert.equal(firewallReusable(fw({ unknown: { 6: 'not installed' } }), { 4: true, 6: true }), false);
});

test('firewallChanged: the bridges two readings would plan differently for', () => {
  assert.deepEqual(firewallChanged(fw(), fw(), ['br0', 'br1']), []);
  assert.deepEqual(firewallChanged(fw(), fw({ bridgeRules: [] }), ['br0', 'br1', 'br0']), ['br0']);
  assert.deepEqual(
    firewallChanged(fw(), fw({ forwardDrop: { 4: false, 6: false } }), ['br0', 'br1']),
    ['br0', 'br1'],
    'a policy concerns every bridge',
  );
  assert.deepEqual(
    firewallChanged(fw(), fw({ bridgeRules: [{ family: 4, chain: 'DOCKER-USER', bridge: 'br9' }] }), ['br1']),
    [],
    "another bridge's rule is not this one's business",
  );
});
