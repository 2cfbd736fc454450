/**
 * The target is checked again right before the first change: a named namespace deleted and
 * made anew between observation and apply (what a restart does to a container's) is refused
 * with exactly E_TARGET_CHANGED — by attach, by a recipe's apply and by its destroy — and
 * nothing is changed, in the old namespace or the new one. Read back from the kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { attach } from '../../src/api/attach.js';
import { apply, destroy } from '../../src/api/recipe.js';
import { EXIT, exitCodeFor, isPipefitterError } from '../../src/errors.js';
import { createRunner } from '../../src/exec/runner.js';
import type { Runner } from '../../src/exec/runner.js';
import { link, readState } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';
import { NetlinkSession } from '../../src/netlink/session.js';
import type { Libc } from '../../src/netlink/socket.js';
import { loadLibc, threadNetns } from '../../src/netlink/socket.js';
import { TargetChanged, pathIdentity } from '../../src/netlink/ns-identity.js';

const ownNetns = threadNetns();
const libc = (): Libc => {
  const l = loadLibc();
  if ('error' in l) throw new Error(`koffi does not load here: ${l.error}`);
  return l;
};

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

test('recipe: apply and destroy re-check their targets; a namespace re-created in between is left alone', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('rr');
    const br = sb.name('rr').slice(0, 15);
    const recipe = {
      version: 1 as const,
      name: `rc${sb.id}`,
      networks: { lan: { bridge: br, subnet: '192.0.2.0/24' } },
      containers: {
        a: { target: `netns:${n}`, interfaces: { eth1: { network: 'lan', address: '192.0.2.10' } } },
      },
    };
    const file = `/tmp/${sb.nsName('recheck')}.yaml`;
    await execa('sh', ['-c', `cat > ${file}`], { input: JSON.stringify(recipe) });
    t.after(() => execa('rm', ['-f', file]).then(() => undefined));
    const stateFile = `${process.env.PIPEFITTER_STATE_DIR ?? '/var/lib/pipefitter'}/recipes/${recipe.name}.json`;

    // apply: refused, nothing made
    const before = await readState('sandbox');
    let spy = recreatingRunner(n);
    await assertChanged(apply(file, { runner: spy.runner }), `netns:${n}`, spy);
    assert.deepEqual(await readState('sandbox'), before);
    assert.equal(existsSync(stateFile), false, 'no recipe state');

    // applied for real; then destroy meets a namespace re-created under it
    assert.equal((await apply(file)).applied, true);
    assert.ok(link(await readState({ netns: n }), 'eth1'));
    spy = recreatingRunner(n);
    // the links and addresses (the bridge's carrier and its routes' linkdown flag follow later)
    const snapshot = async () => ({
      host: (await readState('sandbox')).links,
      ns: await readState({ netns: n }),
    });
    let seen: Awaited<ReturnType<typeof snapshot>> | undefined;
    const watching: Runner = {
      get spawned() {
        return spy.runner.spawned;
      },
      async run(argv, o) {
        const r = await spy.runner.run(argv, o);
        if (spy.recreated() && !seen) {
          // the old namespace goes, and its veth with it (the kernel does that a moment later)
          const deadline = Date.now() + 10_000;
          while ((await readState('sandbox')).links.some((l) => l.master === br)) {
            if (Date.now() > deadline) throw new Error(`the old namespace's port is still in ${br}`);
            await new Promise((res) => setTimeout(res, 20));
          }
          // what the world is after the re-creation: destroy must leave exactly this
          seen = await snapshot();
        }
        return r;
      },
    };
    await assertChanged(destroy(file, { runner: watching }), `netns:${n}`, spy);
    assert.ok(seen);
    assert.deepEqual(await snapshot(), seen, 'nothing removed: not the bridge, not the new namespace');
    assert.ok(
      seen.host.some((l) => l.name === br),
      'the bridge the recipe made is still there',
    );
    assert.equal(existsSync(stateFile), true, 'the recipe state is kept, so destroy can run again');

    // run again, destroy removes what the recipe made
    assert.equal((await destroy(file)).applied, true);
    assert.equal(link(await readState('sandbox'), br), undefined);
    assert.equal(existsSync(stateFile), false);
  }));

/**
 * Past the re-check: every step carries its namespace's identity, and the backend in use
 * (PIPEFITTER_BACKEND=ip|netlink) checks it as it enters the namespace. A namespace re-created
 * after the re-check, right before the first step, is refused there with reason
 * `target-changed`; what ran before it is rolled back, so nothing changes anywhere.
 */
test('a namespace re-created after the re-check is refused by the step itself (target-changed); nothing changes', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('rs');
    const br = sb.name('rs').slice(0, 15);
    const host = await readState('sandbox');
    let recreated = false;
    const steps: string[] = [];
    await assert.rejects(
      attach(
        { target: `netns:${n}`, bridge: br, ip: '192.0.2.10/24' },
        {
          hooks: {
            beforeStep: async (s) => {
              steps.push(s.id);
              if (recreated) return;
              assert.ok(s.netns.kind === 'host' || s.netns.identity, `${s.id}: the step knows its namespace`);
              await execa('ip', ['netns', 'del', n]);
              await execa('ip', ['netns', 'add', n]);
              recreated = true;
            },
          },
        },
      ),
      (e: unknown) => {
        assert.ok(isPipefitterError(e), String(e));
        assert.equal(e.code, 'E_STEP_FAILED', e.message);
        assert.equal(e.failure?.reason, 'target-changed', e.message);
        assert.match(
          e.failure?.stderr ?? '',
          new RegExp(`/run/netns/${n} now names another network namespace`),
        );
        assert.match(e.hint ?? '', /run the command again/);
        return true;
      },
    );
    assert.ok(recreated && steps.length > 0);
    assert.deepEqual(await readState('sandbox'), host, 'no bridge, no host end: rolled back');
    assert.deepEqual(
      (await readState({ netns: n })).links.map((l) => l.name),
      ['lo'],
      'the new namespace is untouched',
    );
  }));

test('netlink sessions check a namespace on the descriptor they enter it by, and at every later use', (t) =>
  withSandbox(t, async (sb) => {
    const n = await sb.netns('rn');
    const path = `/run/netns/${n}`;
    const id = pathIdentity(path);
    assert.ok(id);
    const session = new NetlinkSession(libc());
    t.after(() => session.close());
    session.socket(path, id);
    session.nsFd(path, id);
    assert.throws(() => new NetlinkSession(libc()).socket(path, `${id}x`), TargetChanged);
    await execa('ip', ['netns', 'del', n]);
    await execa('ip', ['netns', 'add', n]);
    assert.notEqual(pathIdentity(path), id, 'a new namespace under the same name');
    assert.throws(() => session.socket(path, id), TargetChanged);
    assert.throws(() => session.nsFd(path, id), TargetChanged);
    const fresh = new NetlinkSession(libc());
    t.after(() => fresh.close());
    assert.throws(() => fresh.socket(path, id), TargetChanged);
    assert.throws(() => fresh.nsFd(path, id), TargetChanged);
    assert.equal(threadNetns(), ownNetns, 'back in its own namespace after every refusal');
    // no expectation, no check (the host, or a namespace a recipe makes in the same run)
    fresh.socket(path);
  }));
