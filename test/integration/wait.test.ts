/**
 * `pipefitter wait`: returns once the interface is there, up with carrier and tagged — however
 * late it comes — and gives up at its timeout. Under the netlink backend it listens to the
 * namespace's link events and starts no process; under the ip backend it reads the link with
 * `ip` until it is ready. Run under both (PIPEFITTER_BACKEND=ip for the second).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { waitForInterface } from '../../src/api/wait.js';
import { isPipefitterError } from '../../src/errors.js';
import { createRunner } from '../../src/exec/runner.js';
import { encodeTag } from '../../src/model/owner.js';
import { withSandbox } from '../helpers/sandbox.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The promise's outcome so far, without waiting for it. */
const settled = <T>(p: Promise<T>): (() => boolean) => {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
};

test('wait: an interface that appears, comes up and is tagged after the wait started', (t) =>
  withSandbox(t, async (sb) => {
    const ns = await sb.netns('wt');
    const runner = createRunner();
    const started = performance.now();
    // Node's event loop keeps turning while it waits (a receive never blocks it for long)
    let ticks = 0;
    const timer = setInterval(() => void ticks++, 10);
    t.after(() => clearInterval(timer));
    const waiting = waitForInterface({ target: `netns:${ns}`, ifname: 'eth1', timeoutMs: 30_000, runner });
    const done = settled(waiting);
    await sleep(400);
    assert.equal(done(), false, 'returned before there was an eth1');
    const ip = (...args: string[]) => execa('ip', ['-n', ns, ...args]);
    await ip('link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'pfpeer');
    await sleep(300);
    assert.equal(done(), false, 'returned while eth1 was down');
    await ip('link', 'set', 'dev', 'pfpeer', 'up');
    await ip('link', 'set', 'dev', 'eth1', 'up');
    await ip('addr', 'add', '192.0.2.10/24', 'dev', 'eth1');
    await sleep(300);
    assert.equal(done(), false, 'returned while eth1 was up but not tagged by pipefitter');
    const tagged = performance.now();
    await ip(
      'link',
      'set',
      'dev',
      'eth1',
      'alias',
      encodeTag({ kind: 'veth', target: `netns:${ns}`, ifname: 'eth1' }),
    );
    const { waitedMs } = await waiting;
    const late = performance.now() - tagged;
    t.diagnostic(`returned ${late.toFixed(0)} ms after the tag, having waited ${waitedMs.toFixed(0)} ms`);
    assert.ok(waitedMs >= tagged - started - 5, 'it waited for the tag');
    assert.ok(late < 1500, `it returned soon after the tag (${late.toFixed(0)} ms)`);
    const elapsed = performance.now() - started;
    assert.ok(
      ticks >= elapsed / 10 / 3,
      `the event loop ran (${ticks} ticks of 10 ms in ${elapsed.toFixed(0)} ms)`,
    );
    if (runner.netlink) assert.equal(runner.spawned, 0, 'by link events: no process started');
    else assert.ok(runner.spawned > 2, 'by reading the link again and again with ip');
    await ip('link', 'del', 'dev', 'eth1');
  }));

test('wait: an interface that is already ready returns at once; --any takes one pipefitter did not make', (t) =>
  withSandbox(t, async (sb) => {
    const ns = await sb.netns('wr');
    const ip = (...args: string[]) => execa('ip', ['-n', ns, ...args]);
    await ip('link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'pfpeer');
    await ip('link', 'set', 'dev', 'pfpeer', 'up');
    await ip('link', 'set', 'dev', 'eth1', 'up');
    const { waitedMs } = await waitForInterface({
      target: `netns:${ns}`,
      ifname: 'eth1',
      any: true,
      timeoutMs: 10_000,
    });
    // found at once, not after the 10 s timeout (how fast is the bench's business)
    assert.ok(waitedMs < 5000, `${waitedMs.toFixed(0)} ms`);
    await ip('link', 'del', 'dev', 'eth1');
  }));

test('wait: the timeout is honoured, with the interface named', (t) =>
  withSandbox(t, async (sb) => {
    const ns = await sb.netns('wo');
    const started = performance.now();
    await assert.rejects(
      waitForInterface({ target: `netns:${ns}`, ifname: 'eth9', timeoutMs: 700 }),
      (e: unknown) =>
        isPipefitterError(e) &&
        e.code === 'E_TARGET_NOT_FOUND' &&
        /interface "eth9".*not ready/.test(e.message),
    );
    const took = performance.now() - started;
    assert.ok(took >= 700 && took < 2500, `gave up after ${took.toFixed(0)} ms`);
    // the same from the command line: non-zero, the interface named
    const r = await execa(
      'node',
      ['bin/pipefitter.js', 'wait', `netns:${ns}`, '-i', 'eth9', '--timeout', '1'],
      {
        reject: false,
      },
    );
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /interface "eth9": not ready after 1 s/);
    // a timeout that is no number is bad input (it used to wait for ever)
    const bad = await execa('node', ['bin/pipefitter.js', 'wait', `netns:${ns}`, '--timeout', 'abc'], {
      reject: false,
      timeout: 20_000,
    });
    assert.equal(bad.exitCode, 2, bad.stderr);
    assert.match(bad.stderr, /--timeout "abc"/);
  }));
