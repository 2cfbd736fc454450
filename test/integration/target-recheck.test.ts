/**
 * The target is checked again right before the first change: a named namespace deleted and
 * made anew between observation and apply (what a restart does to a container's) is refused
 * with exactly E_TARGET_CHANGED, and nothing is changed, in the old namespace or the new one.
 * Read back from the kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { attach } from '../../src/api/attach.js';
import { EXIT, exitCodeFor, isPipefitterError } from '../../src/errors.js';
import { createRunner } from '../../src/exec/runner.js';
import type { Runner } from '../../src/exec/runner.js';
import { readState } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';

/** The namespace file's inode number and ctime (the kernel reuses a freed namespace's number). */
const inode = async (path: string): Promise<string> => {
  const s = await stat(path, { bigint: true });
  return `ino ${s.ino} ctime ${s.ctimeNs}`;
};

/** What only reads (the observation of the host's firewall and NAT table runs after the namespace's). */
const READS = /^(ip -d -j |ip6?tables -w -S$|nft -a list )/;

/**
 * The real runner, which re-creates named namespace `ns` (ip netns del + add) right after the
 * first command that ran in it (the observation), and records every command that ran after.
 */
const recreatingRunner = (ns: string) => {
  const real = createRunner();
  const after: string[] = [];
  let recreated: { before: string; now: string } | undefined;
  const runner: Runner = {
    get spawned() {
      return real.spawned;
    },
    async run(argv, o) {
      const text = argv.map((a) => (typeof a === 'string' ? a : '<netns>')).join(' ');
      if (recreated && !READS.test(text))
        after.push(`${o.netns.kind === 'name' ? o.netns.name : o.netns.kind}: ${text}`);
      const r = await real.run(argv, o);
      if (!recreated && o.netns.kind === 'name' && o.netns.name === ns) {
        const before = await inode(`/run/netns/${ns}`);
        await execa('ip', ['netns', 'del', ns]);
        await execa('ip', ['netns', 'add', ns]);
        recreated = { before, now: await inode(`/run/netns/${ns}`) };
      }
      return r;
    },
  };
  return { runner, after, recreated: () => recreated };
};

/** Exactly E_TARGET_CHANGED (exit 2), naming the target; nothing ran after the observation. */
const assertChanged = async (
  p: Promise<unknown>,
  label: string,
  spy: ReturnType<typeof recreatingRunner>,
): Promise<void> => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPipefitterError(e), String(e));
    assert.equal(e.code, 'E_TARGET_CHANGED', `${e.message} ${JSON.stringify(spy.after)}`);
    assert.equal(exitCodeFor(e), EXIT.usage);
    assert.equal(e.message, `${label}: now has another network namespace (restarted?); nothing was changed`);
    return true;
  });
  const r = spy.recreated();
  assert.ok(r, 'the namespace was re-created between observation and apply');
  assert.notEqual(r.now, r.before, 'a new namespace');
  assert.deepEqual(spy.after, [], 'nothing ran after the observation');
};

test('attach: a named namespace re-created between observation and apply is E_TARGET_CHANGED; nothing is made', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('rc');
    const br = sb.name('rc').slice(0, 15);
    const host = await readState('sandbox');
    const spy = recreatingRunner(n);
    await assertChanged(
      attach({ target: `netns:${n}`, bridge: br, ip: '192.0.2.10/24' }, { runner: spy.runner }),
      `netns:${n}`,
      spy,
    );
    assert.deepEqual(await readState('sandbox'), host, 'no bridge, no host end');
    assert.deepEqual(
      (await readState({ netns: n })).links.map((l) => l.name),
      ['lo'],
      'the new namespace is untouched',
    );
  }));
