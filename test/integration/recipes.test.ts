/**
 * Every example recipe, the whole cycle, on real namespaces: apply; apply again (no changes);
 * status (in sync); break it by hand; status (the drift named); apply (repaired); destroy
 * (nothing left) — all read back from the kernel. The VLAN trunk lab runs in the VM lane.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { broadcasts, ping, readState } from '../helpers/read-back.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { needTools } from '../helpers/tools.js';

const stateDir = process.env.PIPEFITTER_STATE_DIR ?? '';

const netnsList = async (): Promise<string[]> =>
  (await execa('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`pf-${runId}-`))
    .sort();
/**
 * The NAT table as nft -a lists it: its handle (a table made anew gets a new one) and its rules
 * as (chain, rule with its comment, handle).
 */
const natTableNow = async (): Promise<{
  handle: number;
  rules: { chain: string; rule: string; handle: number }[];
}> => {
  const text = (await execa('nft', ['-a', 'list', 'table', 'ip', 'pf_natlab'])).stdout;
  const table = /^table ip pf_natlab \{ # handle (\d+)$/m.exec(text);
  assert.ok(table, text);
  const rules: { chain: string; rule: string; handle: number }[] = [];
  let chain = '';
  for (const line of text.split('\n').map((l) => l.trim())) {
    const c = /^chain (\S+) \{/.exec(line);
    if (c) chain = c[1]!;
    const r = /^(.*\S) # handle (\d+)$/.exec(line);
    if (r && !c && !line.startsWith('table ')) rules.push({ chain, rule: r[1]!, handle: Number(r[2]) });
  }
  assert.ok(rules.length > 0, `rules in pf_natlab: ${text}`);
  return { handle: Number(table[1]), rules };
};

/** Wait until the process `pid` listens on TCP `port`, over IPv4 or IPv6 (its namespace's /proc/PID/net/tcp*). */
const listening = async (pid: number, port: number): Promise<void> => {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const tables = await Promise.all(
      ['tcp', 'tcp6'].map((f) => readFile(`/proc/${pid}/net/${f}`, 'utf8').catch(() => '')),
    );
    // columns: sl, local_address (ADDR:PORT), rem_address, st (0A: LISTEN)
    const rows = tables.flatMap((t) => t.split('\n').map((l) => l.trim().split(/\s+/)));
    if (rows.some((c) => c[1]?.endsWith(hex) && c[3] === '0A')) return;
    if (Date.now() > deadline)
      throw new Error(`process ${pid} did not listen on TCP port ${port} within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Cycle {
  readonly file: string;
  readonly set: Record<string, string>;
  /** What apply must have made. */
  readonly check: () => Promise<void>;
  /** Damage by hand, and what status must then name. */
  readonly breakIt: () => Promise<void>;
  readonly drift: RegExp;
  /** After the repair: that only the damage was repaired. */
  readonly repaired?: () => Promise<void>;
}

const setArgs = (set: Record<string, string>): string[] =>
  Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);

const cycle = async (c: Cycle): Promise<void> => {
  const args = [c.file, ...setArgs(c.set)];
  // the sandbox in full (nftables, ip_forward and every other sysctl included), the namespaces
  // of the run and pipefitter's state files
  const before = await snapshot(['sandbox']);

  const plan = await cli(['plan', ...args, '--json']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.ok((JSON.parse(plan.stdout) as { steps: unknown[] }).steps.length > 0);
  await expectState(['sandbox'], before, 'plan touches nothing');

  const first = await cli(['apply', ...args]);
  assert.equal(first.code, 0, first.stderr);
  await c.check();
  // the parsed text is kept with the state, named by its SHA-256: the next run skips YAML
  const sha = createHash('sha256').update(readFileSync(c.file)).digest('hex');
  const kept = `${stateDir}/recipes/parsed/${sha}.json`;
  assert.ok(existsSync(kept), 'the parsed recipe is kept');

  const again = await cli(['apply', ...args]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /no changes/);

  const sync = JSON.parse((await cli(['status', ...args, '--json'])).stdout) as {
    inSync: boolean;
    drift: { what: string }[];
  };
  assert.equal(sync.inSync, true, JSON.stringify(sync.drift));

  await c.breakIt();
  const drifted = JSON.parse((await cli(['status', ...args, '--json'])).stdout) as {
    inSync: boolean;
    drift: { where: string; what: string }[];
  };
  assert.equal(drifted.inSync, false);
  assert.ok(
    drifted.drift.some((d) => c.drift.test(`${d.where}: ${d.what}`)),
    `drift named: ${JSON.stringify(drifted.drift)}`,
  );

  const repair = await cli(['apply', ...args]);
  assert.equal(repair.code, 0, repair.stderr);
  await c.repaired?.();
  assert.equal(
    (JSON.parse((await cli(['status', ...args, '--json'])).stdout) as { inSync: boolean }).inSync,
    true,
  );
  await c.check();

  const gone = await cli(['destroy', ...args]);
  assert.equal(gone.code, 0, gone.stderr);
  await expectState(
    ['sandbox'],
    before,
    'destroy leaves the host as before, and the namespaces it made are gone',
  );
  const name = (await execa('sh', ['-c', `sed -n 's/^name: //p' ${c.file}`])).stdout.trim();
  assert.equal(existsSync(`${stateDir}/recipes/${name}.json`), false, 'its state is gone');
  assert.equal(existsSync(kept), false, 'and its parsed text');
  const twice = await cli(['destroy', ...args]);
  assert.equal(twice.code, 0, 'destroy twice is fine');
};

const vars = (sb: Sandbox): Record<string, string> => ({ ns: `pf-${runId}-${sb.id}`, p: `t${sb.id}` });

test('recipe: a router between two bridges', (t) =>
  withSandbox(t, async (sb) => {
    const v = vars(sb);
    await cycle({
      file: 'recipes/router.yaml',
      set: v,
      check: async () => {
        assert.ok(
          await ping({ netns: `${v.ns}-alice` }, '198.51.100.10'),
          'alice reaches bob through the router',
        );
      },
      breakIt: () =>
        execa('ip', ['-n', `${v.ns}-alice`, 'addr', 'flush', 'dev', 'eth1']).then(() => undefined),
      drift: /alice: add 192\.0\.2\.10\/24 to "eth1"/,
    });
  }));

test('recipe: a shared bridge with a gateway, NAT, a published port and pool addresses', (t) =>
  withSandbox(t, async (sb) => {
    await needTools('nft', 'busybox');
    const v = vars(sb);
    // "the outside": a namespace behind an uplink of the sandbox, with no route back to the lab
    const out = await sb.netns('out');
    const up = `u${sb.id}`;
    sb.own(up);
    await execa('ip', ['link', 'add', 'name', up, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', out]);
    await execa('ip', ['addr', 'add', '203.0.113.1/24', 'dev', up]);
    await execa('ip', ['link', 'set', 'dev', up, 'up']);
    await execa('ip', ['-n', out, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0']);
    await execa('ip', ['-n', out, 'link', 'set', 'dev', 'eth0', 'up']);
    let httpd: ReturnType<typeof execa> | undefined;
    let natBefore: Awaited<ReturnType<typeof natTableNow>> = { handle: 0, rules: [] };
    t.after(() => {
      httpd?.kill('SIGKILL');
    });
    await cycle({
      file: 'recipes/shared-bridge-nat.yaml',
      set: v,
      check: async () => {
        const addrs = await Promise.all(
          ['app1', 'app2', 'app3'].map(
            async (a) =>
              (await readState({ netns: `${v.ns}-${a}` })).links.find((l) => l.name === 'eth1')?.addrs[0],
          ),
        );
        assert.equal(new Set(addrs).size, 3, `three different pool addresses: ${addrs.join(' ')}`);
        for (const a of addrs) assert.match(a ?? '', /^192\.0\.2\.1\d\d\/24$/);
        // pool addresses and the bridge's own carry their broadcast, as pipework's do
        assert.deepEqual(Object.values(await broadcasts({ netns: `${v.ns}-app1` }, 'eth1')), ['192.0.2.255']);
        assert.deepEqual(await broadcasts('sandbox', `${v.p}-br0`), { '192.0.2.1/24': '192.0.2.255' });
        assert.ok(
          await ping({ netns: `${v.ns}-app1` }, '203.0.113.2'),
          'out through the masquerade (the outside has no route back)',
        );
        // the published port: outside → host:8080 → web:80
        // the previous check's httpd gone first: while it still holds port 80, `listening` sees
        // its socket and the new one cannot bind (a full run got "connection refused" so)
        if (httpd) {
          httpd.kill('SIGKILL');
          await httpd;
        }
        httpd = execa(
          'nsenter',
          [`--net=/run/netns/${v.ns}-web`, '--', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'],
          { reject: false },
        );
        await listening(httpd.pid!, 80);
        // (busybox nc: a static busybox's wget crashes resolving even a literal address)
        const got = await execa(
          'nsenter',
          [`--net=/run/netns/${out}`, '--', 'busybox', 'nc', '-w', '3', '203.0.113.1', '8080'],
          { input: 'GET /hostname HTTP/1.0\r\n\r\n', reject: false },
        );
        assert.match(String(got.stdout), /^HTTP\/1\.[01] 200/, `published port: ${String(got.stderr)}`);
      },
      // one rule deleted by hand (the table and the DNAT rules stay): status names that rule,
      // and apply puts back that rule alone
      breakIt: async () => {
        natBefore = await natTableNow();
        const masq = natBefore.rules.find((r) => r.chain === 'postrouting' && /masquerade/.test(r.rule));
        assert.ok(masq, JSON.stringify(natBefore));
        await execa('nft', [
          'delete',
          'rule',
          'ip',
          'pf_natlab',
          'postrouting',
          'handle',
          String(masq.handle),
        ]);
      },
      drift:
        /^host: add the NAT rule "ip saddr 192\.0\.2\.0\/24 ip daddr != 192\.0\.2\.0\/24 masquerade" to chain postrouting of recipe "natlab"/,
      repaired: async () => {
        const after = await natTableNow();
        const key = (r: { chain: string; rule: string }) => `${r.chain}: ${r.rule}`;
        assert.deepEqual(
          after.rules.map(key).sort(),
          natBefore.rules.map(key).sort(),
          'the same rules as before',
        );
        // only the deleted rule was added: the table is the same one (not made anew), and the
        // rules that were not deleted keep their handles
        assert.equal(after.handle, natBefore.handle, 'the same table');
        for (const r of natBefore.rules.filter((x) => !/masquerade/.test(x.rule)))
          assert.equal(after.rules.find((a) => key(a) === key(r))?.handle, r.handle, key(r));
      },
    });
  }));

test('recipe: macvlan on a host NIC', (t) =>
  withSandbox(t, async (sb) => {
    const v: Record<string, string> = { ...vars(sb), nic: await sb.hostNic('mv') };
    await cycle({
      file: 'recipes/macvlan.yaml',
      set: v,
      check: async () => {
        assert.ok(await ping({ netns: `${v.ns}-cam1` }, '198.51.100.22'));
        const l = (await readState({ netns: `${v.ns}-cam2` })).links.find((x) => x.name === 'eth1');
        assert.equal(l?.kind, 'macvlan');
        assert.equal(l?.mac, '02:00:00:00:01:22');
      },
      breakIt: () => execa('ip', ['-n', `${v.ns}-cam2`, 'link', 'del', 'dev', 'eth1']).then(() => undefined),
      drift: /host: create macvlan "eth1" on \S+ inside netns:\S+-cam2/,
    });
  }));

test('recipe: a chain of containers joined by point-to-point links', (t) =>
  withSandbox(t, async (sb) => {
    const v = vars(sb);
    await cycle({
      file: 'recipes/chain.yaml',
      set: v,
      check: async () => {
        assert.ok(await ping({ netns: `${v.ns}-c1` }, '192.0.2.10'), 'c1 reaches c4 across c2 and c3');
        assert.deepEqual(await broadcasts({ netns: `${v.ns}-c2` }, 'eth2'), { '192.0.2.5/30': '192.0.2.7' });
        assert.equal(
          (await readState('sandbox')).links.filter((l) => l.kind === 'veth').length,
          0,
          'no bridge, nothing on the host',
        );
      },
      breakIt: () => execa('ip', ['-n', `${v.ns}-c2`, 'route', 'del', '192.0.2.8/30']).then(() => undefined),
      drift: /c2: add route 192\.0\.2\.8\/30 via 192\.0\.2\.6 dev eth2/,
    });
  }));

test('apply is all or nothing, and refuses (touching nothing) when a container is not running', (t) =>
  withSandbox(t, async (sb) => {
    const v = vars(sb);
    const before = await snapshot(['sandbox']);
    // a recipe naming a container that is not there: refused before anything happens
    const text = `version: 1\nnetworks:\n  n: { bridge: t${sb.id}-x }\ncontainers:\n  a: { target: 'netns:${v.ns}-a', create: true, interfaces: { eth1: { network: n } } }\n  b: { target: 'netns:${v.ns}-nope', interfaces: { eth1: { network: n } } }\n`;
    const file = `/tmp/pf-${runId}-${sb.id}.yaml`;
    await execa('sh', ['-c', `cat > ${file}`], { input: text });
    t.after(() => execa('rm', ['-f', file]).then(() => undefined));
    const r = await cli(['apply', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not running: b \(netns:\S+-nope\)/);
    assert.match(r.stderr, /--skip-missing/);
    await expectState(['sandbox'], before, 'the state is as before');
    const plan = await cli(['plan', file]);
    assert.match(plan.stderr, /not running: b/);
    // with --skip-missing the rest is applied; destroy removes it
    assert.equal((await cli(['apply', file, '--skip-missing'])).code, 0);
    assert.ok((await netnsList()).includes(`${v.ns}-a`));
    assert.equal((await cli(['destroy', file])).code, 0);
    await expectState(['sandbox'], before, 'the state is as before');
    // an invalid recipe: exit 2, located, nothing touched
    await execa('sh', ['-c', `cat > ${file}`], {
      input: 'version: 1\ncontainers:\n  a: { target: netns:x, interfaces: { eth1: { network: nope } } }\n',
    });
    const bad = await cli(['apply', file]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      new RegExp(
        `${file.replaceAll('/', '\\/')}:3:\\d+: containers\\.a\\.interfaces\\.eth1\\.network: no network "nope"`,
      ),
    );
    await expectState(['sandbox'], before, 'the state is as before');
  }));

test('destroy removes what the recipe made even after the file changed; graph and validate', (t) =>
  withSandbox(t, async (sb) => {
    const v = vars(sb);
    const before = await snapshot(['sandbox']);
    assert.equal((await cli(['apply', 'recipes/router.yaml', ...setArgs(v)])).code, 0);
    // the file changes: bob is dropped from it
    const file = `/tmp/pf-${runId}-${sb.id}-router.yaml`;
    const text = (await execa('cat', ['recipes/router.yaml'])).stdout.replace(/\n {2}bob:[\s\S]*$/, '\n');
    await execa('sh', ['-c', `cat > ${file}`], { input: text });
    t.after(() => execa('rm', ['-f', file]).then(() => undefined));
    const status = JSON.parse((await cli(['status', file, ...setArgs(v), '--json'])).stdout) as {
      drift: { what: string }[];
    };
    assert.ok(
      status.drift.some((d) => /remove network namespace "\S+-bob"/.test(d.what)),
      JSON.stringify(status.drift),
    );
    assert.equal((await cli(['destroy', file, ...setArgs(v)])).code, 0);
    await expectState(['sandbox'], before, 'the state is as before');
    const g = await cli(['graph', 'recipes/router.yaml']);
    assert.match(g.stdout, /^graph LR\n/);
    assert.match(g.stdout, /c_alice -{3}\|"eth1 192\.0\.2\.10\/24"\| br_rtr_a/);
    assert.match(
      (await cli(['graph', 'recipes/chain.yaml', '--format', 'dot'])).stdout,
      /c_c1 -- c_c2 \[label="eth1 192\.0\.2\.1\/30 — eth1 192\.0\.2\.2\/30"\]/,
    );
  }));
