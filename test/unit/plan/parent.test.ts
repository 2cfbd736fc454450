/**
 * A macvlan/ipvlan/VLAN parent that is down: brought up, counted per attachment, taken down
 * with the last of them unless something else uses it by then; a parent that was up is never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAttach } from '../../../src/plan/attach.js';
import type { ObservedLink, ParentUpRecord } from '../../../src/model/observed.js';
import { dumpPlan } from '../../helpers/plan-dump.js';
import { lines, netnsTarget, nic, nsState, observed } from '../../helpers/plan-fixtures.js';
import { attachment as att, detachPlan, ownMacvlan } from '../../helpers/plan-cases.js';

const r1 = netnsTarget('r1');
const r2 = netnsTarget('r2');
/** The host with eth3 up, brought up by pipefitter for these users. */
const hostUp = (users: string[], eth3: Partial<ObservedLink> = {}, others: ObservedLink[] = []) => ({
  ...nsState([nic('eth3', { ifindex: 3, ...eth3 }), ...others]),
  parentsUp: new Map<string, ParentUpRecord>([['eth3', { ifindex: 3, users }]]),
});
/** r1's macvlan on eth3 detached. */
const detach = (host: ReturnType<typeof hostUp>) => detachPlan(r1, host, nsState([ownMacvlan(r1, 'eth3')]));
/** The record that r1's eth1 no longer uses eth3. */
const removeRecord = {
  kind: 'parent-user',
  parent: 'eth3',
  ifindex: 3,
  user: 'netns:r1/eth1',
  op: 'remove',
};

const del = `
1. netns:r1/link-del:eth1
   netns:r1: ip link del dev eth1
     describes: delete "eth1"
   undo: irreversible
`;

test('a down parent is brought up first, once, with both attachments counted as its users', () => {
  const host = nsState([nic('eth3', { ifindex: 3, up: false, operstate: 'DOWN' })]);
  const p = planAttach(
    [att(r1, { macvlan: 'eth3' }), att(r2, { macvlan: 'eth3' })],
    observed(host, [r1, nsState()], [r2, nsState()]),
  );
  assert.deepEqual(p.notes, [
    'netns:r1: host interface "eth3" was down; it is brought up (and taken down again when its last attachment is detached)',
  ]);
  assert.deepEqual(p.records, [
    { kind: 'parent-user', parent: 'eth3', ifindex: 3, user: 'netns:r1/eth1', op: 'add' },
    { kind: 'parent-user', parent: 'eth3', ifindex: 3, user: 'netns:r2/eth1', op: 'add' },
  ]);
  assert.equal(
    dumpPlan({ ...p, notes: [], records: [] }).split('\n2.')[0],
    `
1. link-up:eth3
   host: ip link set dev eth3 up
     describes: bring "eth3" up
   undo:
     host: ip link set dev eth3 down
       describes: bring "eth3" down
`,
  );
  assert.equal(lines(p).filter((l) => l.includes('eth3 up')).length, 1);
});

test('a parent that was up is not touched and not recorded; one pipefitter brought up gains the new user', () => {
  const plain = planAttach([att(r2, { macvlan: 'eth3' })], observed(nsState([nic('eth3')]), [r2, nsState()]));
  assert.equal(plain.records, undefined);
  assert.deepEqual(plain.notes, []);
  assert.ok(!lines(plain).some((l) => l.startsWith('host: ip link set dev eth3')));
  const ours = planAttach(
    [att(r2, { macvlan: 'eth3' })],
    observed(hostUp(['netns:r1/eth1']), [r2, nsState()]),
  );
  assert.deepEqual(ours.records, [
    { kind: 'parent-user', parent: 'eth3', ifindex: 3, user: 'netns:r2/eth1', op: 'add' },
  ]);
  assert.deepEqual(ours.notes, []);
  assert.ok(!lines(ours).some((l) => l.startsWith('host: ip link set dev eth3')));
  // a record for an earlier eth3 (another ifindex) is stale: this eth3 is simply up
  const stale = planAttach(
    [att(r2, { macvlan: 'eth3' })],
    observed({ ...hostUp(['netns:r1/eth1']), parentsUp: new Map([['eth3', { ifindex: 9, users: ['x'] }]]) }, [
      r2,
      nsState(),
    ]),
  );
  assert.equal(stale.records, undefined);
});

test('detach: the parent stays up while another attachment needs it, and goes down with the last', () => {
  const shared = detach(hostUp(['netns:r1/eth1', 'netns:r2/eth1']));
  assert.equal(dumpPlan(shared), `record: ${JSON.stringify(removeRecord)}\n${del}`);
  const last = detach(hostUp(['netns:r1/eth1']));
  assert.equal(
    dumpPlan(last),
    `note: host interface "eth3" was brought up by pipefitter and is no longer used; it goes down
record: ${JSON.stringify(removeRecord)}
${del}
2. link-down:eth3
   host: ip link set dev eth3 down
     describes: bring "eth3" down
   undo:
     host: ip link set dev eth3 up
       describes: bring "eth3" back up
`,
  );
  // already down again (by hand): nothing to take down, the record still goes
  assert.equal(
    dumpPlan(detach(hostUp(['netns:r1/eth1'], { up: false }))),
    `record: ${JSON.stringify(removeRecord)}\n${del}`,
  );
  // a stale record (another ifindex): not ours to take down, and nothing to record
  assert.equal(
    dumpPlan(
      detach({
        ...hostUp(['netns:r1/eth1']),
        parentsUp: new Map([['eth3', { ifindex: 4, users: ['netns:r1/eth1'] }]]),
      }),
    ),
    del,
  );
});

test('detach of a macvlan gone already: the parent brought up for it goes down all the same, its record with it', () => {
  // a detach stopped right after deleting it (exit 3, or killed) and run again; or a container
  // whose namespace went with it
  const gone = (host: ReturnType<typeof hostUp>) => detachPlan(r1, host, nsState());
  assert.equal(
    dumpPlan(gone(hostUp(['netns:r1/eth1']))),
    `note: host interface "eth3" was brought up by pipefitter and is no longer used; it goes down
record: ${JSON.stringify(removeRecord)}

1. link-down:eth3
   host: ip link set dev eth3 down
     describes: bring "eth3" down
   undo:
     host: ip link set dev eth3 up
       describes: bring "eth3" back up
`,
  );
  // the parent of another attachment: not touched; nothing to do, said as a no-op
  const other = gone(hostUp(['netns:r2/eth1']));
  assert.deepEqual(
    [other.steps, other.records, other.noops],
    [[], undefined, ['netns:r1: no interface "eth1"; nothing to remove']],
  );
});

test('the last user gone, a parent still in other use stays up, and the note says what uses it', () => {
  const stays = (eth3: Partial<ObservedLink>, others: ObservedLink[] = []) => {
    const p = detach(hostUp(['netns:r1/eth1'], eth3, others));
    assert.ok(!lines(p).some((l) => l.includes('eth3 down')));
    assert.equal(p.records?.length, 1);
    return p.notes;
  };
  const note = (why: string) => [`host interface "eth3" stays up although pipefitter brought it up: ${why}`];
  assert.deepEqual(
    stays({}, [nic('eth3.7', { kind: 'vlan', parent: 'eth3' })]),
    note('"eth3.7" is stacked on it'),
  );
  assert.deepEqual(stays({ master: 'br0' }), note('it is a port of "br0"'));
  assert.deepEqual(
    stays({ addrs: [{ family: 4, address: '192.0.2.3', prefix: 24, scope: 'global' }] }),
    note('it has the address 192.0.2.3/24'),
  );
  // a link-local address is not a use
  const p = detach(
    hostUp(['netns:r1/eth1'], { addrs: [{ family: 6, address: 'fe80::3', prefix: 64, scope: 'link' }] }),
  );
  assert.ok(lines(p).includes('host: ip link set dev eth3 down'));
});
