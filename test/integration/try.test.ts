/**
 * `pipefitter try` (issue 14, point 2), on the CLI as users run it: a change applied, verified,
 * then kept only when confirmed (`try --confirm` from another shell, or Enter at the prompt on a
 * pseudo-terminal made by util-linux `script`); without a confirmation in time — and through a
 * SIGHUP — everything goes back exactly as it was (full kernel snapshot), and a TCP connection
 * that the change cut carries data again, the same connection. A failed verification (no
 * carrier, a gateway that does not answer, a --check that exits non-zero) reverts at once
 * (exit 1). A try killed with SIGKILL is reverted by `try --revert` or by the next changing
 * command. A recipe tried over an applied one goes back to the applied one.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { BIN, cli, onTtyArgs } from '../helpers/cli.js';
import type { Snapshot } from '../helpers/kernel-state.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import type { Container, Sandbox } from '../helpers/sandbox.js';
import { withSandbox } from '../helpers/sandbox.js';
import type { Ns } from '../helpers/read-back.js';
import { link, readState } from '../helpers/read-back.js';
import { recipeFile } from '../helpers/recipe-file.js';
import { listAttachmentRecords } from '../../src/state/attachments.js';

/** The attachment records (what `watch` keeps alive) of a pid target: only a kept change has one. */
const recordsOf = async (pid: number): Promise<string[]> =>
  (await listAttachmentRecords()).filter((r) => r.target.id === `pid:${pid}`).map((r) => r.ifname);

const WAITING = /applied and verified/;

/** `attach pid:PID --bridge BRIDGE --ifname IFNAME --ip IP`: what the tests try. */
const attachFlags = (pid: number, bridge: string, ip: string, ifname = 'eth1'): string[] => [
  'attach',
  `pid:${pid}`,
  '--bridge',
  bridge,
  '--ifname',
  ifname,
  '--ip',
  ip,
];

interface Running {
  readonly proc: ResultPromise<{ reject: false }>;
  /** Settles when the try waits for its confirmation (rejects if it ended before). */
  readonly waiting: Promise<void>;
  /** What it printed so far (on a terminal, stdout and stderr are one stream). */
  readonly printed: () => string;
}

/**
 * `pipefitter try ARGS…` in the background. Its stdin is a pipe that stays open (not a terminal);
 * with `tty`, it runs on a pseudo-terminal made by util-linux's `script`: stdin, stdout and
 * stderr are the terminal, and what is written to `proc.stdin` is typed on it. Still running when
 * the test ends (it failed), it is reverted by `try --revert` (so it leaves nothing), then killed.
 */
const startTry = (t: TestContext, args: string[], o: { tty?: boolean } = {}): Running => {
  const argv = ['node', BIN, 'try', ...args];
  const proc = o.tty
    ? execa('script', onTtyArgs(argv), { reject: false, env: { TERM: 'dumb' } })
    : execa(argv[0]!, argv.slice(1), { reject: false });
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) await cli(['try', '--revert']);
    proc.kill('SIGKILL');
  });
  let printed = '';
  const waiting = new Promise<void>((resolve, reject) => {
    const seen = (d: Buffer) => {
      printed += d.toString();
      if (WAITING.test(printed)) resolve();
    };
    proc.stdout.on('data', seen);
    proc.stderr.on('data', seen);
    void proc.then((r) => reject(new Error(`try ended before waiting: exit ${r.exitCode} ${printed}`)));
  });
  waiting.catch(() => undefined);
  return { proc, waiting, printed: () => printed };
};

/** Settles with the try's result, or rejects when it has not ended within ms (stdin still open). */
const endsWithin = async (tr: Running, ms: number) => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${tr.printed()}`)), ms);
  });
  try {
    return await Promise.race([tr.proc, late]);
  } finally {
    clearTimeout(timer);
  }
};

/** A try killed outright (SIGKILL) once it waits for its confirmation: its change left pending. */
const killWaiting = async (tr: Running): Promise<void> => {
  await tr.waiting;
  tr.proc.kill('SIGKILL');
  await tr.proc;
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A container, and the state (sandbox and container) before anything is tried: `spaces`, `before`. */
const oneContainer = async (sb: Sandbox) => {
  const c = await sb.container();
  const spaces: Ns[] = ['sandbox', { pid: c.pid }];
  return { c, spaces, before: await snapshot(spaces) };
};

/**
 * Two containers on a bridge, attached for real (not tried; detached after the test): the base
 * of the tests that try something on B beside a connection to A.
 */
const twoOnABridge = async (t: TestContext, sb: Sandbox) => {
  const [a, b] = [await sb.container(), await sb.container()];
  t.after(async () => {
    for (const c of [a, b]) await cli(['detach', `pid:${c.pid}`, '--ifname', 'eth1']);
  });
  for (const [c, ip] of [
    [a, '192.0.2.10/24'],
    [b, '192.0.2.20/24'],
  ] as const) {
    const r = await cli(['attach', `pid:${c.pid}`, '--bridge', sb.name('tb'), '--ip', ip]);
    assert.equal(r.code, 0, r.stderr);
  }
  const spaces: Ns[] = ['sandbox', { pid: a.pid }, { pid: b.pid }];
  return { a, b, spaces };
};

/**
 * The tried attach `flags` (eth2 of B, 198.51.100.20/24) was kept: read back from the kernel,
 * recorded for watch, no try pending; tried again, nothing to try; and detached, the state is
 * `before` with no revert on the way (its journal is gone).
 */
const expectKept = async (flags: string[], b: Container, spaces: Ns[], before: Snapshot) => {
  const st = await readState({ pid: b.pid });
  assert.deepEqual(
    link(st, 'eth2')?.addrs.filter((x) => !x.startsWith('fe80')),
    ['198.51.100.20/24'],
    'kept: eth2 in the container, with its address',
  );
  assert.equal(link(st, 'eth2')?.up, true);
  assert.deepEqual((await recordsOf(b.pid)).sort(), ['eth1', 'eth2'], 'confirmed: recorded for watch');
  const again = await cli(['try', '--confirm']);
  assert.equal(again.code, 2, 'nothing pending');
  assert.match(again.stderr, /--confirm: no try is pending/);
  const same = await cli(['try', ...flags]);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /nothing to try/);
  const d = await cli(['detach', `pid:${b.pid}`, '--ifname', 'eth2']);
  assert.equal(d.code, 0, d.stderr);
  assert.doesNotMatch(d.stderr, /reverted|undid/);
  await expectState(spaces, before, 'detached after the confirmed try');
};

test('try attach, confirmed from another shell with try --confirm: the change stays; --json is one document', async (t) => {
  await withSandbox(t, async (sb) => {
    const { b, spaces } = await twoOnABridge(t, sb);
    const before = await snapshot(spaces);
    const flags = attachFlags(b.pid, sb.name('t2'), '198.51.100.20/24', 'eth2');
    const tr = startTry(t, [...flags, '--check', 'true', '--json']);
    await tr.waiting;
    const c = await cli(['try', '--confirm']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^confirmed: /);
    const r = await tr.proc;
    assert.equal(r.exitCode, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      outcome: string;
      verification: { carrier: { carrier: boolean }[]; checks: { ok: boolean }[] };
    };
    assert.equal(doc.ok, true);
    assert.equal(doc.outcome, 'confirmed');
    assert.deepEqual(
      doc.verification.carrier.map((x) => x.carrier),
      [true],
    );
    assert.deepEqual(
      doc.verification.checks.map((x) => x.ok),
      [true],
    );
    await expectKept(flags, b, spaces, before);
  });
});

test('try attach on a terminal, confirmed with Enter: the change stays (read back), recorded for watch, nothing pending', async (t) => {
  await withSandbox(t, async (sb) => {
    const { b, spaces } = await twoOnABridge(t, sb);
    const before = await snapshot(spaces);
    const flags = attachFlags(b.pid, sb.name('t9'), '198.51.100.20/24', 'eth2');
    const tr = startTry(t, flags, { tty: true });
    await tr.waiting;
    assert.match(
      tr.printed(),
      /press Enter, or run `pipefitter try --confirm`/,
      'on a terminal: Enter offered',
    );
    await sleep(500);
    assert.equal(tr.proc.exitCode, null, 'it waits for the Enter');
    tr.proc.stdin.write('\r');
    // it ends on the Enter, with the terminal still open (not on its end)
    const r = await endsWithin(tr, 20_000);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /confirmed: pipefitter try attach pid:\d+ --ifname eth2 \(\d+ steps kept\)/);
    await expectKept(flags, b, spaces, before);
  });
});

test('no Enter: reverted at the timeout — on a terminal, an Enter typed before the prompt does not count; stdin that is not a terminal is not read', async (t) => {
  await withSandbox(t, async (sb) => {
    const { c, spaces, before } = await oneContainer(sb);
    const flags = attachFlags(c.pid, sb.name('ta'), '198.51.100.60/24');
    for (const [how, tty, prompt] of [
      ['on a terminal', true, /press Enter, or run/],
      ['stdin a pipe', false, /press Enter \(on a terminal\), or run/],
    ] as const) {
      const tr = startTry(t, [...flags, '--timeout', '3'], { tty });
      // typed at once, before the change is even applied: not a confirmation of what comes after
      if (tty) tr.proc.stdin.write('\r');
      await tr.waiting;
      assert.match(tr.printed(), prompt, how);
      // a pipe: a line on it is not an Enter on a terminal
      if (!tty) tr.proc.stdin.write('\n');
      // it ends at the timeout, with its stdin still open
      const r = await endsWithin(tr, 20_000);
      assert.equal(r.exitCode, 1, `${how}: reverted, exit 1\n${tr.printed()}`);
      assert.match(tr.printed(), /reverted: not confirmed within 3 s/, how);
      await expectState(spaces, before, `${how}: reverted exactly`);
      assert.deepEqual(await recordsOf(c.pid), [], `${how}: no record for watch`);
      assert.equal((await cli(['try', '--revert'])).code, 2, `${how}: nothing pending`);
    }
  });
});

/**
 * The client's side of a long-lived TCP connection: a node process in container B connected to
 * an echo server in container A; each line written to its stdin goes over the one connection,
 * each echo comes back on its stdout.
 */
const SERVER = `require('net').createServer((s) => s.pipe(s)).listen(7000, '192.0.2.10', () => console.log('listening'))`;
const CLIENT = `const s = require('net').connect(7000, '192.0.2.10', () => console.log('connected'));
s.on('data', (d) => process.stdout.write(d));
s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });
process.stdin.on('data', (d) => s.write(d));`;

const lineWaiter = (p: ResultPromise<{ reject: false }>) => {
  let text = '';
  p.stdout.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return async (want: string, ms: number): Promise<boolean> => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (text.includes(want)) return true;
    return false;
  };
};

test('not confirmed in time (a SIGHUP on the way): reverted exactly, and the TCP connection the change cut carries data again', async (t) => {
  await withSandbox(t, async (sb) => {
    const { a, b, spaces } = await twoOnABridge(t, sb);
    const server = execa('nsenter', [`--net=/proc/${a.pid}/ns/net`, '--', 'node', '-e', SERVER], {
      reject: false,
    });
    t.after(() => server.kill('SIGKILL'));
    assert.ok(await lineWaiter(server)('listening', 10_000), 'server listening');
    const client = execa('nsenter', [`--net=/proc/${b.pid}/ns/net`, '--', 'node', '-e', CLIENT], {
      reject: false,
    });
    t.after(() => client.kill('SIGKILL'));
    const seen = lineWaiter(client);
    assert.ok(await seen('connected', 10_000), 'client connected');
    client.stdin.write('one\n');
    assert.ok(await seen('one\n', 5000), 'the connection carries data before');
    const before = await snapshot(spaces);
    // the change: the server's address now routed out of a new interface, to a gateway nobody has
    const tr = startTry(t, [
      ...attachFlags(b.pid, sb.name('t3'), '198.51.100.20/24', 'eth2'),
      '--route',
      '192.0.2.10/32:198.51.100.1',
      '--timeout',
      '4',
    ]);
    await tr.waiting;
    client.stdin.write('two\n');
    assert.equal(await seen('two\n', 1500), false, 'the change cut the connection');
    // the ssh session that ran the try drops: SIGHUP; the revert still comes
    tr.proc.kill('SIGHUP');
    const r = await tr.proc;
    assert.equal(r.exitCode, 1, `reverted: exit 1\n${r.stderr}`);
    assert.match(r.stderr, /not confirmed within 4 s/);
    assert.match(r.stderr, /rolled back: \d+ step\(s\) undone/);
    await expectState(spaces, before, 'reverted after the timeout: exactly as before');
    // TCP retransmits with a growing backoff (0.2 s doubled, a few seconds by now)
    assert.ok(await seen('two\n', 30_000), 'the same connection carries the data again');
    client.stdin.write('three\n');
    assert.ok(await seen('three\n', 5000), 'and new data');
    client.kill('SIGKILL');
    server.kill('SIGKILL');
    await Promise.all([client, server]);
    const none = await cli(['try', '--revert']);
    assert.equal(none.code, 2, 'nothing pending');
  });
});

test('a failed verification reverts at once (exit 1): no carrier, a gateway that does not answer, a --check that fails', async (t) => {
  await withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('nc');
    // the veth's far end down: the NIC moved in has no carrier
    await execa('ip', ['link', 'set', `pp${sb.id}nc`.slice(0, 15), 'down']);
    // a parent that is down: the macvlan brings it up and records so (parents/), both undone
    const down = await sb.hostNic('dn');
    await execa('ip', ['link', 'set', down, 'down']);
    const { c, spaces, before } = await oneContainer(sb);
    const cases: [string, string[], RegExp][] = [
      ['no carrier', ['--phys', nic, '--ifname', 'wan0', '--ip', '203.0.113.2/30'], /wan0 has no carrier/],
      [
        'gateway silent',
        [
          '--bridge',
          sb.name('t4'),
          '--ip',
          '198.51.100.30/24',
          '--gateway',
          '198.51.100.1',
          '--ping-gateway',
        ],
        /gateway 198\.51\.100\.1 does not answer/,
      ],
      [
        'check fails, after a macvlan brought its parent up',
        ['--macvlan', down, '--ifname', 'mv0', '--ip', '203.0.113.6/24', '--check', 'false'],
        /--check "false" exited 1/,
      ],
      [
        'check fails',
        ['--bridge', sb.name('t4'), '--ip', '198.51.100.30/24', '--check', 'echo nope >&2; exit 3'],
        /--check "echo nope >&2; exit 3" exited 3: nope/,
      ],
    ];
    for (const [what, flags, why] of cases) {
      const r = await cli(['try', 'attach', `pid:${c.pid}`, ...flags, '--timeout', '60']);
      assert.equal(r.code, 1, `${what}: exit 1\n${r.stderr}`);
      assert.match(r.stderr, /reverted: verification failed/, what);
      assert.match(r.stderr, why, what);
      assert.doesNotMatch(r.stderr, WAITING, `${what}: no wait`);
      await expectState(spaces, before, `${what}: as before`);
    }
    const j = await cli(['try', 'attach', `pid:${c.pid}`, ...cases[3]![1], '--json']);
    assert.equal(j.code, 1);
    const doc = JSON.parse(j.stdout) as { ok: boolean; outcome: string; error: { code: string } };
    assert.deepEqual([doc.ok, doc.outcome, doc.error.code], [false, 'reverted', 'E_VERIFY_FAILED']);
  });
});

test('a try killed with SIGKILL: try --revert reverts it; so does the next changing command', async (t) => {
  await withSandbox(t, async (sb) => {
    const { c, spaces, before } = await oneContainer(sb);
    const flags = attachFlags(c.pid, sb.name('t5'), '198.51.100.40/24');
    // 1: try --revert
    await killWaiting(startTry(t, flags));
    const r = await cli(['try', '--revert']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /reverted: .*whose process was gone/);
    assert.match(r.stderr, /reverted the pending try/);
    await expectState(spaces, before, 'killed, then try --revert: as before');
    assert.deepEqual(await recordsOf(c.pid), [], 'reverted: no record for watch to re-apply');
    // 2: the next changing command (an attach of something else) reverts it first
    await killWaiting(startTry(t, flags));
    const other = await cli(attachFlags(c.pid, sb.name('t6'), '203.0.113.9/24', 'eth3'));
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stderr, /reverted the pending try/);
    assert.equal((await cli(['detach', `pid:${c.pid}`, '--ifname', 'eth3'])).code, 0);
    await expectState(spaces, before, 'killed, then another attach and its detach: as before');
    assert.equal((await cli(['try', '--revert'])).code, 2, 'nothing pending any more');
    // 3: try --revert while the try runs: it reverts at once
    const t3 = startTry(t, [...flags, '--timeout', '600']);
    await t3.waiting;
    const rv = await cli(['try', '--revert']);
    assert.equal(rv.code, 0, rv.stderr);
    const r3 = await t3.proc;
    assert.equal(r3.exitCode, 1);
    assert.match(r3.stderr, /reverted by pipefitter try --revert/);
    await expectState(spaces, before, 'try --revert: as before');
    assert.deepEqual(await recordsOf(c.pid), [], 'reverted: no record for watch to re-apply');
  });
});

test('a recipe tried over an applied one and not confirmed: back to the applied one; a new recipe: back to none', async (t) => {
  await withSandbox(t, async (sb) => {
    const [c1, c2] = [await sb.container(), await sb.container()];
    const name = `try${sb.id}`;
    const lan = `  lan: { bridge: ${sb.name('tr')}, subnet: 198.51.100.0/24, gateway: 198.51.100.1 }`;
    const v1 = await recipeFile(
      t,
      name,
      [lan],
      [`  c1: { target: 'pid:${c1.pid}', interfaces: { eth1: { network: lan, address: 198.51.100.11 } } }`],
    );
    const v2 = await recipeFile(
      t,
      name,
      [lan],
      [
        `  c1: { target: 'pid:${c1.pid}', interfaces: { eth1: { network: lan, address: 198.51.100.12 } } }`,
        `  c2: { target: 'pid:${c2.pid}', interfaces: { eth1: { network: lan, address: 198.51.100.13 } } }`,
      ],
    );
    t.after(async () => {
      await cli(['destroy', v2]);
    });
    const spaces = ['sandbox' as const, { pid: c1.pid }, { pid: c2.pid }];
    const none = await snapshot(spaces);
    // never applied: a try that times out leaves nothing, no state either
    const r0 = await cli(['try', 'apply', v2, '--timeout', '1']);
    assert.equal(r0.code, 1, r0.stderr);
    await expectState(spaces, none, 'a new recipe tried, not confirmed: nothing');
    const st = process.env.PIPEFITTER_STATE_DIR ?? '/var/lib/pipefitter';
    await assert.rejects(readFile(`${st}/recipes/${name}.json`), 'no recipe state');
    // applied v1, then v2 tried and not confirmed: v1 as it was, state file included
    assert.equal((await cli(['apply', v1])).code, 0);
    const applied = await snapshot(spaces);
    const stateBefore = await readFile(`${st}/recipes/${name}.json`, 'utf8');
    const r1 = await cli(['try', 'apply', v2, '--timeout', '1', '--json']);
    assert.equal(r1.code, 1, r1.stderr);
    assert.equal((JSON.parse(r1.stdout) as { outcome: string }).outcome, 'reverted');
    await expectState(spaces, applied, 'v2 tried over v1, not confirmed: v1 as before');
    assert.equal(
      await readFile(`${st}/recipes/${name}.json`, 'utf8'),
      stateBefore,
      'the recipe state as before',
    );
    const s = await cli(['status', v1, '--json']);
    assert.equal((JSON.parse(s.stdout) as { inSync: boolean }).inSync, true, 'v1 in sync');
    // confirmed: v2 stays, in sync
    const tr = startTry(t, ['apply', v2]);
    await tr.waiting;
    assert.equal((await cli(['try', '--confirm'])).code, 0);
    assert.equal((await tr.proc).exitCode, 0);
    const s2 = await cli(['status', v2, '--json']);
    assert.equal((JSON.parse(s2.stdout) as { inSync: boolean }).inSync, true, 'v2 in sync');
    assert.equal((await cli(['destroy', v2])).code, 0);
    await expectState(spaces, none, 'destroyed');
  });
});

test('bad input exits 2 naming the field, nothing touched', async (t) => {
  await withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('rp');
    const { c, spaces, before } = await oneContainer(sb);
    const flags = attachFlags(c.pid, sb.name('t7'), '198.51.100.50/24');
    for (const [bad, re] of [
      [['--timeout', 'soon'], /--timeout "soon": not a whole number of seconds/],
      [['--timeout', '0'], /--timeout "0": not a whole number of seconds from 1 to 86400/],
      [['--check', ' '], /--check " ": empty command/],
    ] as const) {
      const r = await cli(['try', ...flags, ...bad]);
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    for (const w of ['--confirm', '--revert']) {
      const r = await cli(['try', w, '--json']);
      assert.equal(r.code, 2, r.stdout);
      assert.equal((JSON.parse(r.stdout) as { error: { field: string } }).error.field, w);
    }
    // a change a revert could not put back (--replace of the bridge's veth by a macvlan deletes
    // the veth): refused
    assert.equal((await cli(flags)).code, 0);
    const attached = await snapshot(spaces);
    const rep = await cli([
      'try',
      'attach',
      `pid:${c.pid}`,
      '--macvlan',
      nic,
      '--ip',
      '198.51.100.51/24',
      '--replace',
    ]);
    assert.equal(rep.code, 2, rep.stderr);
    assert.match(rep.stderr, /cannot be tried, it cannot be put back by a revert; nothing was changed/);
    await expectState(spaces, attached, '--replace refused: nothing touched');
    assert.equal((await cli(['detach', `pid:${c.pid}`, '--ifname', 'eth1'])).code, 0);
    const both = await cli(['try']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /needs attach, apply, --confirm or --revert/);
    await expectState(spaces, before, 'nothing touched');
  });
});

test('two tries started at the same instant: exactly one proceeds, the other is refused (exit 2) naming it; reverted, nothing is left', async (t) => {
  await withSandbox(t, async (sb) => {
    const { c, spaces, before } = await oneContainer(sb);
    const flags = (n: string, ip: string) => [
      ...attachFlags(c.pid, sb.name(`t${n}`), ip, `eth${n}`),
      '--timeout',
      '600',
    ];
    const tries = [startTry(t, flags('7', '198.51.100.71/24')), startTry(t, flags('8', '203.0.113.81/24'))];
    // the refused one ends at once; the other waits for its confirmation
    const first = await Promise.race(tries.map((x, i) => x.proc.then(() => i)));
    const refused = tries[first]!;
    const going = tries[1 - first]!;
    const r = await refused.proc;
    assert.equal(r.exitCode, 2, `refused: exit 2\n${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(`a try is pending \\(pid ${going.proc.pid}: .*eth${first === 0 ? 8 : 7}`),
    );
    await going.waiting;
    const pending = await cli(['show', `pid:${c.pid}`, '--json']);
    assert.equal(pending.code, 0, pending.stderr);
    assert.doesNotMatch(
      pending.stdout,
      new RegExp(`"eth${first === 0 ? 7 : 8}"`),
      'the refused one changed nothing',
    );

    const rv = await cli(['try', '--revert']);
    assert.equal(rv.code, 0, rv.stderr);
    const g = await going.proc;
    assert.equal(g.exitCode, 1, `the try is reverted\n${g.stderr}`);
    assert.equal((await cli(['try', '--revert'])).code, 2, 'nothing pending any more');
    await expectState(spaces, before, 'reverted: as before');
  });
});
