/**
 * What the read-back after a rollback expects of the kernel (exec/read-back.ts), on a real plan:
 * the state before the plan passes, and each kind of leftover — a link the undo missed, a veth's
 * peer, an address, a route not put back, a link not put back down — is named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectationsOf, leftoversIn } from '../../../src/exec/read-back.js';
import { schedule } from '../../../src/render/schedule.js';
import type { NetnsState } from '../../../src/model/observed.js';
import type { Step } from '../../../src/model/step.js';
import { HOST } from '../../../src/model/netns.js';
import {
  adoptedBridgeBefore,
  adoptedBridgePlan,
  netnsTarget,
  nic,
  nsState,
  route,
} from '../../helpers/plan-fixtures.js';

const r1 = netnsTarget('r1');
const { host: hostBefore, r1: r1Before } = adoptedBridgeBefore;
const steps = (): Step[] => schedule(adoptedBridgePlan().steps);

/** The undos of the whole plan, in the order a rollback runs them. */
const undone = (): Step[] => [...steps()].reverse().filter((s) => typeof s.undo !== 'string');

test('the state before the plan is what a complete rollback must leave: nothing listed', () => {
  const e = expectationsOf(undone());
  assert.deepEqual(leftoversIn(e, HOST, hostBefore), []);
  assert.deepEqual(leftoversIn(e, r1.netns, r1Before), []);
});

test('a veth left behind, on either side, is named', () => {
  const all = steps();
  const veth = all.find((s) => s.op.op === 'link.add' && s.op.spec.kind === 'veth');
  assert.ok(veth && veth.op.op === 'link.add' && veth.op.spec.kind === 'veth');
  const e = expectationsOf(undone());
  const host = leftoversIn(e, HOST, { ...hostBefore, links: [...hostBefore.links, nic(veth.op.name)] });
  assert.equal(host.length, 1);
  assert.match(host[0] ?? '', new RegExp(`link ${veth.op.name} is still in the host`));
  const peerNs = veth.op.spec.peer.netns ?? veth.netns;
  const peerState = peerNs.kind === 'host' ? hostBefore : r1Before;
  const peer = leftoversIn(e, peerNs, {
    ...peerState,
    links: [...peerState.links, nic(veth.op.spec.peer.name)],
  });
  assert.equal(peer.length, 1, peer.join('\n'));
  assert.match(peer[0] ?? '', new RegExp(`link ${veth.op.spec.peer.name} is still in`));
});

test("the bridge's address still on it, or the bridge left up: named", () => {
  const e = expectationsOf(undone());
  const withAddr: NetnsState = {
    ...hostBefore,
    links: hostBefore.links.map((l) =>
      l.name === 'br0'
        ? { ...l, up: true, addrs: [{ family: 4, address: '192.0.2.254', prefix: 24, scope: 'global' }] }
        : l,
    ),
  };
  const out = leftoversIn(e, HOST, withAddr);
  assert.equal(out.length, 2, out.join('\n'));
  assert.ok(out.some((l) => /address 192\.0\.2\.254\/24 is still on br0/.test(l)));
  assert.ok(out.some((l) => /link br0 in the host is up/.test(l)));
});

test('a default route not put back is named; the new one is not taken for it', () => {
  const e = expectationsOf(undone());
  const out = leftoversIn(e, r1.netns, {
    ...r1Before,
    routes: [route({ dst: 'default', gateway: '192.0.2.1', dev: 'eth0' })],
  });
  assert.equal(out.length, 1, out.join('\n'));
  assert.match(out[0] ?? '', /route default via 172\.17\.0\.1 dev eth0 is missing from netns:r1/);
});

test('an undo that names another object than its step made: the made one is looked for', () => {
  const made: Step = {
    id: 'link-add:vx',
    netns: HOST,
    op: { op: 'link.add', name: 'vx', spec: { kind: 'veth', peer: { name: 'vy' } } },
    describes: 'create veth vx',
    undo: { netns: HOST, op: { op: 'link.del', name: 'nope' }, describes: 'delete nope' },
  };
  const e = expectationsOf([made]);
  const out = leftoversIn(e, HOST, nsState([nic('vx'), nic('vy')]));
  assert.deepEqual(
    out.map((l) => l.split(':')[0]),
    ['link vx is still in the host', 'link vy is still in the host'],
  );
});

test('a link moved and renamed back is looked for where it went back to, under its old name', () => {
  const moved: Step = {
    id: 'link-netns:eth5',
    netns: HOST,
    op: { op: 'link.set', name: 'eth5', patch: { netns: r1.netns } },
    describes: 'move eth5 into r1',
    undo: {
      netns: r1.netns,
      op: { op: 'link.set', name: 'eth5', patch: { netns: HOST } },
      describes: 'move eth5 home',
    },
  };
  const renamed: Step = {
    id: 'netns:r1/link-name:eth1',
    netns: r1.netns,
    op: { op: 'link.set', name: 'eth5', patch: { name: 'eth1' } },
    describes: 'rename eth5 to eth1',
    undo: {
      netns: r1.netns,
      op: { op: 'link.set', name: 'eth1', patch: { name: 'eth5', up: false } },
      describes: 'rename eth1 back',
    },
  };
  const e = expectationsOf([renamed, moved]);
  assert.deepEqual(leftoversIn(e, HOST, nsState([nic('eth5', { up: false })])), []);
  assert.deepEqual(leftoversIn(e, r1.netns, nsState()), []);
  assert.match(leftoversIn(e, HOST, nsState())[0] ?? '', /link eth5 is missing from the host/);
});

test('an undo that found its object gone put nothing back: nothing is expected of it', () => {
  const down: Step = {
    id: 'netns:r1/link-down:wan0',
    netns: r1.netns,
    op: { op: 'link.set', name: 'wan0', patch: { up: false } },
    describes: 'bring wan0 down',
    undo: {
      netns: r1.netns,
      op: { op: 'link.set', name: 'wan0', patch: { up: true } },
      describes: 'bring wan0 up',
    },
  };
  assert.match(leftoversIn(expectationsOf([down]), r1.netns, nsState())[0] ?? '', /link wan0 is missing/);
  assert.deepEqual(leftoversIn(expectationsOf([down], new Set([down])), r1.netns, nsState()), []);
});
