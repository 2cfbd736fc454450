/**
 * Podman's events for `watch`: lines of `podman events --format json` (as podman 4.3 writes them
 * here) parsed, the runner's streaming API (Runner.follow) handing over lines and telling how the
 * command ended, and watch's follower starting only when wanted, again with backoff after an
 * exit (everything checked again then), and giving up when podman is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { followPodman } from '../../../src/api/watch-podman.js';
import type { Following, FollowOptions, Runner, RunResult } from '../../../src/exec/runner.js';
import { createRunner } from '../../../src/exec/runner.js';
import { HOST } from '../../../src/model/netns.js';
import { PODMAN_EVENTS, parsePodmanEvent } from '../../../src/targets/podman.js';

const ID = '248258fcbc086e2165e46d15160b1c277961454cdb780b67c5f593a9b0a60b32';
/** Copied from `podman events --format json --filter type=container` of podman 4.3.1. */
const line = (status: string, time = '2026-12-02T04:30:52.392393257Z'): string =>
  `{"ID":"${ID}","Name":"c2","Status":"${status}","Time":"${time}","Type":"container","Attributes":{}}`;

test("parsePodmanEvent: podman 4.3's JSON lines; anything else is no event", () => {
  assert.deepEqual(parsePodmanEvent(line('start')), {
    action: 'start',
    id: ID,
    name: 'c2',
    timeMs: Date.parse('2026-12-02T04:30:52.392Z'),
  });
  for (const s of ['died', 'remove', 'restart', 'init', 'cleanup'])
    assert.equal(parsePodmanEvent(line(s))?.action, s);
  assert.equal(parsePodmanEvent(line('start', 'soon'))?.timeMs, undefined, 'a time that does not parse');
  for (const bad of [
    '',
    'not json',
    '[]',
    'null',
    '{"Status":"start"}',
    `{"ID":"${ID}"}`,
    `{"ID":"${ID}","Status":"pull","Type":"image"}`,
  ])
    assert.equal(parsePodmanEvent(bad), undefined, bad);
  assert.deepEqual(PODMAN_EVENTS, ['podman', 'events', '--format', 'json', '--filter', 'type=container']);
});

test('Runner.follow: each line as it comes, how the command ended, stop ends it', async () => {
  const r = createRunner();
  const got: string[] = [];
  const f = r.follow!(['sh', '-c', 'echo one; printf "two\\nthree"; echo oops >&2; exit 3'], {
    netns: HOST,
    onLine: (l) => got.push(l),
  });
  const end = await f.done;
  assert.deepEqual(got, ['one', 'two', 'three']);
  assert.deepEqual([end.failed, end.exitCode], [true, 3]);
  assert.match(end.stderr, /oops/);

  const lines: string[] = [];
  const long = r.follow!(['sh', '-c', 'echo ready; exec sleep 60'], {
    netns: HOST,
    onLine: (l) => lines.push(l),
  });
  for (const until = Date.now() + 5000; lines.length === 0 && Date.now() < until;)
    await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(lines, ['ready']);
  const t0 = Date.now();
  long.stop();
  const stopped = await long.done;
  assert.ok(Date.now() - t0 < 2000, 'stop ends it at once');
  assert.equal(stopped.failed, true);

  const missing = await r.follow!(['pipefitter-no-such-tool'], { netns: HOST, onLine: () => undefined }).done;
  assert.equal(missing.reason, 'tool-missing');
  assert.deepEqual(missing.missing, ['pipefitter-no-such-tool']);
});

/** A runner whose follow() plays one script per start: lines, then an exit (or runs until stopped). */
const scripted = (
  runs: readonly { lines: readonly string[]; exit?: Partial<RunResult> | 'never' }[],
): Runner & { starts: number } => {
  const self = {
    starts: 0,
    spawned: 0,
    run: () => Promise.reject(new Error('not used')),
    follow(argv: readonly string[], o: FollowOptions): Following {
      assert.deepEqual(argv, PODMAN_EVENTS);
      const s = runs[Math.min(self.starts++, runs.length - 1)]!;
      let end: (r: RunResult) => void = () => undefined;
      const base: RunResult = {
        command: argv.join(' '),
        exitCode: 125,
        stdout: '',
        stderr: 'Error: boom',
        failed: true,
        reason: 'other',
      };
      const done = new Promise<RunResult>((res) => (end = res));
      setImmediate(() => {
        for (const l of s.lines) o.onLine(l);
        if (s.exit !== 'never') end({ ...base, ...s.exit });
      });
      return { done, stop: () => end({ ...base, exitCode: undefined }) };
    },
  };
  return self;
};

test('watch follows podman events only while wanted, again with backoff after an exit, not without podman', async () => {
  const r = scripted([{ lines: [line('start')] }, { lines: ['junk', line('remove')], exit: 'never' }]);
  let wanted = false;
  const events: string[] = [];
  const logs: string[] = [];
  let restarts = 0;
  const f = followPodman({
    runner: r,
    wanted: () => wanted,
    onEvent: (id, e) => events.push(`${id} ${e.action}`),
    onRestart: () => restarts++,
    log: (m) => logs.push(m),
  });
  await new Promise((res) => setTimeout(res, 50));
  assert.equal(r.starts, 0, 'no podman: target: not started');
  wanted = true;
  f.check();
  for (const until = Date.now() + 5000; events.length < 2 && Date.now() < until;)
    await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(events, [`podman:${ID} start`, `podman:${ID} remove`]);
  assert.equal(r.starts, 2, 'started again after it ended');
  assert.equal(restarts, 1, 'after a restart everything is checked again');
  assert.match(logs[0] ?? '', /^podman events ended \(exit 125: Error: boom\); following again in 250 ms$/);
  f.check();
  assert.equal(r.starts, 2, 'check() while it runs starts nothing');
  await f.stop();

  const none = scripted([
    { lines: [], exit: { reason: 'tool-missing', missing: ['podman'], exitCode: undefined } },
  ]);
  const noLogs: string[] = [];
  const g = followPodman({
    runner: none,
    wanted: () => true,
    onEvent: () => undefined,
    onRestart: () => undefined,
    log: (m) => noLogs.push(m),
  });
  await new Promise((res) => setTimeout(res, 400));
  assert.equal(none.starts, 1, 'not started again');
  assert.deepEqual(noLogs, [
    'podman is not installed: podman: targets are checked on the drift interval only',
  ]);
  await g.stop();
});
