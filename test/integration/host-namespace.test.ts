/**
 * Issue 13, defects 7 and 8: namespaces that would vanish (pipefitter under `ip netns exec`),
 * and the machine's own namespace as a target. Each is refused before anything is touched;
 * no test here ever lets pipefitter change the machine's initial namespace: every run that
 * names it is refused at target resolution, first shown with --dry-run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { BIN, cli } from '../helpers/cli.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { runId, sandboxName, withSandbox } from '../helpers/sandbox.js';

const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

test('apply under `ip netns exec` making a namespace: refused with the fix, nothing made or left', (t) =>
  withSandbox(t, async (sb) => {
    const ns = `pf-${runId}-${sb.id}-gone`;
    const file = `/tmp/pf-${runId}-${sb.id}-exec.yaml`;
    await writeFile(
      file,
      `version: 1\nname: x${sb.id}\nnetworks:\n  n: { bridge: e${sb.id} }\ncontainers:\n  a: { target: 'netns:${ns}', create: true, interfaces: { eth1: { network: n, address: 192.0.2.10/24 } } }\n`,
    );
    t.after(() => rm(file, { force: true }));
    const before = await snapshot(['sandbox']);
    for (const extra of [['--dry-run'], []]) {
      const r = await execa('ip', ['netns', 'exec', sandboxName!, 'node', BIN, 'apply', file, ...extra], {
        reject: false,
        env: NO_DOCKER,
      });
      // a dry run changes nothing and says so in a note; the real run is refused (exit 2)
      assert.equal(r.exitCode, extra.length ? 0 : 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`netns:${ns}: would vanish when pipefitter exits`));
      assert.match(r.stderr, /ip netns exec/);
      if (!extra.length)
        assert.match(r.stderr, /hint: enter the namespace with `nsenter --net=\/run\/netns\/NAME pipefitter/);
      else assert.match(r.stderr, /the real run is refused/);
      assert.equal(existsSync(`/run/netns/${ns}`), false, 'no namespace file, not even an empty one');
      await expectState(['sandbox'], before, 'nothing changed in the sandbox');
    }
    // the same apply entered with nsenter (as this test process is) makes it, and destroy removes it
    const ok = await cli(['apply', file], NO_DOCKER);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(statSync(`/run/netns/${ns}`).size, 0);
    assert.ok((await execa('ip', ['-n', ns, '-j', 'link', 'show', 'eth1'])).stdout.includes('"eth1"'));
    assert.equal((await cli(['destroy', file], NO_DOCKER)).code, 0);
    assert.equal(existsSync(`/run/netns/${ns}`), false);
    await expectState(['sandbox'], before, 'destroy left the sandbox as before');
  }));

/** The identity ("dev:ino") of a namespace file, or the errno code that refused it. */
const nsOf = (path: string): string => {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'error';
  }
};

/** kthreadd, a kernel thread: always in the machine's initial namespaces. */
const isKthreadd = (): boolean => /^2 \(kthreadd\) /.test(readFileSync('/proc/2/stat', 'utf8'));

test("a target in the machine's initial namespace is refused without --allow-host-namespace", (t) =>
  withSandbox(t, async (sb) => {
    assert.ok(isKthreadd(), 'PID 2 is kthreadd (the test runs in the initial PID namespace)');
    const initNs = nsOf('/proc/2/ns/net');
    assert.notEqual(initNs, nsOf('/proc/self/ns/net'), 'the test runs inside the sandbox');
    const before = await snapshot(['sandbox']);
    const attach = ['attach', 'pid:2', '--bridge', sb.name('h'), '--ip', '203.0.113.9/24'];
    // --dry-run first: refused at resolution, before anything is read or planned
    for (const extra of [['--dry-run'], []]) {
      const r = await cli([...attach, ...extra], NO_DOCKER);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^pipefitter: pid:2: is in the machine's initial network namespace/);
      assert.match(r.stderr, /--allow-host-namespace/);
    }
    // the same for another spelling, and in a recipe
    const path = await cli(['attach', '/proc/2/ns/net', '--bridge', sb.name('h'), '--dry-run'], NO_DOCKER);
    assert.equal(path.code, 2, path.stderr);
    assert.match(path.stderr, /initial network namespace/);
    const file = `/tmp/pf-${runId}-${sb.id}-host.yaml`;
    await writeFile(
      file,
      `version: 1\nname: h${sb.id}\nnetworks:\n  n: { bridge: h${sb.id} }\ncontainers:\n  a: { target: 'pid:2', interfaces: { eth1: { network: n } } }\n`,
    );
    t.after(() => rm(file, { force: true }));
    const rec = await cli(['apply', file, '--dry-run'], NO_DOCKER);
    assert.equal(rec.code, 2, rec.stderr);
    assert.match(rec.stderr, /pid:2: is in the machine's initial network namespace/);
    await expectState(['sandbox'], before, 'nothing changed');
    // with the flag, the dry run is planned (and only printed: nothing runs)
    const allowed = await cli([...attach, '--dry-run', '--allow-host-namespace'], NO_DOCKER);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /--net=\/proc\/2\/ns\/net|pid:2/);
    await expectState(['sandbox'], before, 'a dry run changes nothing');
  }));

test('pid:1: permission denied when its namespace file may not be read; else the host refusal', (t) =>
  withSandbox(t, async () => {
    const r = await cli(['attach', 'pid:1', '--bridge', 'pfnone0', '--dry-run'], NO_DOCKER);
    assert.equal(r.code, 2, r.stderr);
    const seen = nsOf('/proc/1/ns/net');
    if (seen === 'EACCES' || seen === 'EPERM') {
      assert.match(r.stderr, /^pipefitter: pid:1: permission denied reading \/proc\/1\/ns\/net/);
      assert.doesNotMatch(r.stderr, /no such process/);
      assert.match(r.stderr, /hint: run pipefitter as root/);
    } else assert.match(r.stderr, /pid:1: is in the machine's initial network namespace/);
  }));
