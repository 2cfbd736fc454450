/**
 * `pipefitter watch` with named namespaces (no Docker): a namespace deleted and made again under
 * its name gets its attachment back (found by the namespace poll); --once is one pass;
 * --report-only changes nothing; drift (an address removed by hand) is repaired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { ping, readState } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';
import { tempStateDir } from '../helpers/state-dir.js';
import { startWatch } from '../helpers/watch.js';

const addrs = async (ns: string): Promise<string[]> =>
  ((await readState({ netns: ns })).links.find((l) => l.name === 'eth1')?.addrs ?? [])
    .filter((a) => !a.startsWith('fe80'))
    .sort();

interface Line {
  event: string;
  message: string;
}
/** `watch --once --json`: one document, its events in order. */
const lines = (stdout: string): Line[] => (JSON.parse(stdout) as { ok: boolean; events: Line[] }).events;

test(
  'watch: --once repairs drift, --report-only only reports; a named namespace made again gets its interface back',
  { timeout: 120_000 },
  (t) =>
    withSandbox(t, async (sb) => {
      const stateDir = await tempStateDir(t, 'watchns');
      const env = {
        PIPEFITTER_STATE_DIR: stateDir,
        PIPEFITTER_RUN_DIR: `${stateDir}/run`,
        PATH: process.env.PATH ?? '',
      };
      const r1 = await sb.netns('r1');
      const r2 = await sb.netns('r2');
      const br = sb.name('br').slice(0, 15);
      for (const [ns, ip] of [
        [r1, '198.51.100.1/24'],
        [r2, '198.51.100.2/24'],
      ] as const) {
        const r = await cli(
          [
            'attach',
            `netns:${ns}`,
            '--bridge',
            br,
            '--ip',
            ip,
            '--mac',
            ns === r1 ? '02:00:c6:33:64:01' : '02:00:c6:33:64:02',
          ],
          env,
        );
        assert.equal(r.code, 0, r.stderr);
      }

      // drift: an address removed by hand
      await execa('ip', ['-n', r1, 'addr', 'del', '198.51.100.1/24', 'dev', 'eth1']);
      const report = await cli(['watch', '--once', '--report-only', '--json'], env);
      assert.equal(report.code, 0, report.stderr);
      assert.ok(
        lines(report.stdout).some((l) => l.event === 'drift' && l.message.includes(r1)),
        report.stdout,
      );
      assert.deepEqual(await addrs(r1), [], 'report only: nothing changed');
      const once = await cli(['watch', '--once', '--json'], env);
      assert.equal(once.code, 0, once.stderr);
      assert.ok(
        lines(once.stdout).some((l) => l.event === 'repaired' && l.message.includes(r1)),
        once.stdout,
      );
      assert.deepEqual(await addrs(r1), ['198.51.100.1/24']);

      // the namespace deleted and made again, while watch runs
      const w = startWatch(t, env, ['--interval', '5m']);
      for (const ns of [r1, r2]) await w.find((l) => l.event === 'in-sync' && l.message.includes(ns));
      await execa('ip', ['netns', 'del', r1]);
      await execa('ip', ['netns', 'add', r1]);
      await execa('ip', ['-n', r1, 'link', 'set', 'lo', 'up']);
      await w.find((l) => l.event === 'reapplied' && l.message.includes(r1));
      const s = await readState({ netns: r1 });
      assert.equal(s.links.filter((l) => l.name === 'eth1').length, 1);
      assert.equal(s.links.find((l) => l.name === 'eth1')?.mac, '02:00:c6:33:64:01');
      assert.deepEqual(await addrs(r1), ['198.51.100.1/24']);
      assert.ok(await ping({ netns: r1 }, '198.51.100.2'), 'ping across the bridge');
      assert.equal((await readState('sandbox')).links.filter((l) => l.master === br).length, 2, 'two ports');
      // idle, watch holds no host lock: another command runs at once; SIGHUP reads the new record
      const t0 = Date.now();
      const more = await cli(
        ['attach', `netns:${r2}`, '--ifname', 'eth2', '--bridge', br, '--ip', '198.51.100.12/24'],
        env,
      );
      assert.equal(more.code, 0, more.stderr);
      assert.ok(Date.now() - t0 < 10_000, 'no wait for a lock');
      w.child.kill('SIGHUP');
      await w.next((l) => l.event === 'reloaded');
      await w.next((l) => l.event === 'in-sync' && l.message.includes(`${r2} eth2`));
      await w.stop();
      for (const ns of [r1, r2]) assert.equal((await cli(['detach', `netns:${ns}`], env)).code, 0);
      assert.equal((await cli(['detach', `netns:${r2}`, '--ifname', 'eth2'], env)).code, 0);
    }),
);
