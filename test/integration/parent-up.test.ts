/**
 * pipework parity: a macvlan (or ipvlan, or VLAN) on a host interface that is down gets no
 * carrier; pipework brought the parent up, and so does pipefitter — and it takes it down again
 * on rollback and with the last detach, only when it brought it up and nothing else uses it.
 * Every attach reports interfaces without carrier, and why. Read back from the kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { execa } from 'execa';
import { attach, detach } from '../../src/api/attach.js';
import { isPipefitterError } from '../../src/errors.js';
import { cli } from '../helpers/cli.js';
import { linkFlags, ping } from '../helpers/read-back.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { withSandbox } from '../helpers/sandbox.js';
import { expectState, snapshot } from '../helpers/round-trip.js';

const stateDir = process.env.PIPEFITTER_STATE_DIR ?? '';
const records = async (): Promise<string[]> => readdir(`${stateDir}/parents`).catch(() => []);

/** A host NIC stand-in whose far end sits in its own namespace with 198.51.100.1/24. */
const nicWithFarEnd = async (sb: Sandbox, suffix: string): Promise<{ nic: string; far: string }> => {
  const far = await sb.netns(`far${suffix}`);
  const nic = `pn${sb.id}${suffix}`;
  sb.own(nic);
  await execa('ip', ['link', 'add', 'name', nic, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', far]);
  await execa('ip', ['-n', far, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0']);
  await execa('ip', ['-n', far, 'link', 'set', 'dev', 'eth0', 'up']);
  return { nic, far };
};

test('a down parent is brought up (carrier, ping), kept up while used, taken down with the last detach', (t) =>
  withSandbox(t, async (sb) => {
    const { nic } = await nicWithFarEnd(sb, 'a');
    assert.deepEqual(await linkFlags('sandbox', nic), { up: false, carrier: false }, 'starts down');
    const n1 = await sb.netns('n1');
    const n2 = await sb.netns('n2');
    const before = await snapshot(['sandbox']);

    // a failure before any step, and one after the parent came up: rolled back, parent down again
    for (let k = 0; k < 3; k++) {
      await assert.rejects(
        attach(
          { target: `netns:${n1}`, macvlan: nic, ip: '198.51.100.7/24' },
          {
            hooks: { beforeStep: (_s, i) => void (i === k && assert.fail(`injected before step ${k + 1}`)) },
          },
        ),
        (e: unknown) => isPipefitterError(e) && e.code === 'E_STEP_FAILED',
      );
      await expectState(['sandbox'], before, `rolled back after a failure before step ${k + 1}`);
      assert.deepEqual(await records(), [], 'nothing recorded by a rolled-back attach');
    }

    const first = await cli(['attach', `netns:${n1}`, '--macvlan', nic, '--ip', '198.51.100.7/24', '--json']);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout) as {
      notes: string[];
      interfaces: { ifname: string; carrier: boolean }[];
    };
    assert.deepEqual(
      report.interfaces.map((i) => [i.ifname, i.carrier]),
      [['eth1', true]],
    );
    assert.ok(
      report.notes.some((n) => n.includes(`"${nic}" was down; it is brought up`)),
      report.notes.join('\n'),
    );
    assert.deepEqual(await linkFlags('sandbox', nic), { up: true, carrier: true });
    assert.equal((await linkFlags({ netns: n1 }, 'eth1')).carrier, true, 'the macvlan has carrier');
    assert.ok(await ping({ netns: n1 }, '198.51.100.1'), 'the far end answers through the parent');

    // a second attachment on the parent pipefitter brought up counts as a user too
    await attach({ target: `netns:${n2}`, macvlan: nic, ip: '198.51.100.8/24' });
    await detach({ target: `netns:${n1}` });
    assert.equal((await linkFlags('sandbox', nic)).up, true, 'still used by n2: stays up');
    assert.ok(await ping({ netns: n2 }, '198.51.100.1'));
    const last = await detach({ target: `netns:${n2}` });
    assert.ok(
      last.plan.notes.some((n) => n.includes('it goes down')),
      last.plan.notes.join('\n'),
    );
    await expectState(['sandbox'], before, 'the parent is down again, as it was');
    assert.deepEqual(await records(), []);
    assert.equal((await detach({ target: `netns:${n2}` })).applied, false, 'detach twice is fine');
  }));

test('a parent that was up stays up; one pipefitter brought up but someone else uses now stays up', (t) =>
  withSandbox(t, async (sb) => {
    const { nic } = await nicWithFarEnd(sb, 'b');
    const n1 = await sb.netns('n1');
    await execa('ip', ['link', 'set', 'dev', nic, 'up']);
    await attach({ target: `netns:${n1}`, macvlan: nic, ip: '198.51.100.7/24' });
    assert.deepEqual(await records(), [], 'nothing to remember: it was up');
    await detach({ target: `netns:${n1}` });
    assert.equal(
      (await linkFlags('sandbox', nic)).up,
      true,
      'never taken down: pipefitter did not bring it up',
    );

    await execa('ip', ['link', 'set', 'dev', nic, 'down']);
    await attach({ target: `netns:${n1}`, macvlan: nic, ip: '198.51.100.7/24' });
    // the operator starts using the interface on the host meanwhile
    await execa('ip', ['addr', 'add', '198.51.100.2/24', 'dev', nic]);
    const d = await detach({ target: `netns:${n1}` });
    assert.ok(
      d.plan.notes.some((n) => n.includes('stays up') && n.includes('198.51.100.2/24')),
      d.plan.notes.join('\n'),
    );
    assert.equal((await linkFlags('sandbox', nic)).up, true);
    assert.deepEqual(await records(), [], 'the record goes with the last attachment');
  }));

test('no carrier is reported, with the reason, and --json carries it; a lone bridge port is named', (t) =>
  withSandbox(t, async (sb) => {
    const { nic, far } = await nicWithFarEnd(sb, 'c');
    await execa('ip', ['-n', far, 'link', 'set', 'dev', 'eth0', 'down']); // nothing at the far end
    const n1 = await sb.netns('n1');
    const r = await cli(['attach', `netns:${n1}`, '--macvlan', nic, '--ip', '198.51.100.7/24']);
    assert.equal(r.code, 0, 'the attach itself worked');
    assert.match(
      r.stderr,
      new RegExp(`warning: netns:${n1} eth1 has no carrier: its parent "${nic}" has no carrier`),
    );
    assert.equal((await linkFlags({ netns: n1 }, 'eth1')).carrier, false);
    const again = await cli(['detach', `netns:${n1}`]);
    assert.equal(again.code, 0, again.stderr);

    const j = await cli(['attach', `netns:${n1}`, '--macvlan', nic, '--ip', '198.51.100.7/24', '--json']);
    const rep = JSON.parse(j.stdout) as { interfaces: { carrier: boolean; why?: string }[] };
    assert.equal(rep.interfaces[0]?.carrier, false);
    assert.match(rep.interfaces[0]?.why ?? '', /has no carrier/);
    assert.equal((await cli(['detach', `netns:${n1}`])).code, 0);

    // a bridge with no other port: carrier, and a note saying it reaches only the bridge
    const c = await sb.container();
    const br = sb.name('lb');
    const b = await cli(['attach', `pid:${c.pid}`, '--bridge', br, '--ip', '192.0.2.10/24', '--json']);
    const brRep = JSON.parse(b.stdout) as { notes: string[]; interfaces: { carrier: boolean }[] };
    assert.equal(brRep.interfaces[0]?.carrier, true);
    assert.ok(
      brRep.notes.some((n) => n.includes(`bridge "${br}" has no other port`)),
      brRep.notes.join('\n'),
    );
    assert.equal((await cli(['detach', `pid:${c.pid}`])).code, 0);
  }));

test('a recipe on a down parent: brought up, carrier reported; destroy takes it down again', (t) =>
  withSandbox(t, async (sb) => {
    const { nic, far } = await nicWithFarEnd(sb, 'd');
    const set = ['--set', `ns=pf-${process.env.PF_RUN_ID ?? 'norun'}-${sb.id}`, '--set', `nic=${nic}`];
    const before = await snapshot(['sandbox']);
    const a = await cli(['apply', 'recipes/macvlan.yaml', ...set, '--json']);
    assert.equal(a.code, 0, a.stderr);
    const rep = JSON.parse(a.stdout) as { interfaces: { target: string; carrier: boolean }[] };
    assert.deepEqual(
      rep.interfaces.map((i) => i.carrier),
      [true, true],
    );
    assert.equal((await linkFlags('sandbox', nic)).up, true);
    // the far end goes away: nothing for apply to change; destroy still restores the parent
    await execa('ip', ['-n', far, 'link', 'set', 'dev', 'eth0', 'down']);
    const again = await cli(['apply', 'recipes/macvlan.yaml', ...set]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /no changes/);
    const d = await cli(['destroy', 'recipes/macvlan.yaml', ...set]);
    assert.equal(d.code, 0, d.stderr);
    await expectState(['sandbox'], before, 'the parent is down again');
    assert.deepEqual(await records(), []);
  }));

test('a parent whose veth peer is on the host too: the peer is not a user, the parent goes down again', (t) =>
  withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('e'); // both ends in the sandbox, like a NIC and its neighbour
    await execa('ip', ['link', 'set', 'dev', nic, 'down']);
    const n1 = await sb.netns('n1');
    const before = await snapshot(['sandbox']);
    await attach({ target: `netns:${n1}`, macvlan: nic, ip: '198.51.100.7/24' });
    assert.equal((await linkFlags('sandbox', nic)).up, true);
    await detach({ target: `netns:${n1}` });
    await expectState(['sandbox'], before, 'the parent is down again, the peer untouched');
  }));
