/**
 * Integration tests run inside the sandbox namespace that scripts/run-tests.mjs makes (no
 * uplink: only lo). This helper checks that, gives each test its own namespaces and
 * "containers" (processes with their own netns), and — after the test — finds what it left.
 *
 * withSandbox takes the full state of the sandbox namespace (./kernel-state.ts: links,
 * addresses, routes, rules, neighbours, sysctls, bridge VLANs, nftables, processes) and of the
 * run (its namespaces, pipefitter's state files, /tmp/pf-<run id>-*) before the test. After it,
 * in this order:
 *
 * 1. the test's own cleanups run, newest first: `sb.defer(fn)`, and `t.after(fn)` called
 *    during the test (withSandbox takes them over, so they run before the check, not after it);
 * 2. what differs from before is recorded as left behind, except what the test made as the
 *    harness's own: `sb.netns`, `sb.container`, `sb.hostNic`, links named with `sb.own`,
 *    Docker containers run during the test (./docker.ts) and their veths; processes in the
 *    test's namespaces other than its containers' own are left behind too (a DHCP client);
 * 3. everything — the harness's own and what was left behind — is removed, and the sandbox is
 *    checked to be as before;
 * 4. the test FAILS, naming each thing it left (when it failed already, that failure stands
 *    and the list is printed with it).
 *
 * Checking before removing matters: a veth whose far end is in a container, or a macvlan on a
 * harness NIC, would vanish with the container or the NIC, and with them the evidence.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import type { GlobalState, NsFull } from './kernel-state.js';
import { diffSnapshots, fullSnapshot, processesIn } from './kernel-state.js';
import { needTools } from './tools.js';

export const sandboxName = process.env.PF_SANDBOX;

/** Why integration tests cannot run here, or undefined when they can. */
export const sandboxSkipReason = async (): Promise<string | undefined> => {
  if (process.getuid?.() !== 0) return 'integration tests need root (uid 0)';
  if (!sandboxName)
    return 'not inside the test sandbox: run them with `npm run test:integration` (PF_SANDBOX is unset)';
  const [mine, sb] = await Promise.all([
    stat('/proc/self/ns/net'),
    stat(`/run/netns/${sandboxName}`).catch(() => undefined),
  ]);
  if (!sb || mine.ino !== sb.ino)
    return `this process is not in the sandbox namespace ${sandboxName}; refusing to touch the machine's own`;
  return undefined;
};

export interface Container {
  readonly pid: number;
  readonly netnsPath: string;
}

/** The run's id (scripts/run-tests.mjs); every namespace a test makes starts with pf-<run id>-. */
export const runId = process.env.PF_RUN_ID ?? 'norun';

/**
 * The ip the harness removes things with: the one on PATH when the test process started, or
 * PF_HARNESS_PATH's. The behaviour-mutant self-test puts an ip that ignores deletions first on
 * PATH for pipefitter; the harness must still clean up for real.
 */
const harnessEnv = (): { env: { PATH: string } } => ({
  env: { PATH: process.env.PF_HARNESS_PATH ?? process.env.PATH ?? '' },
});
const ip = (args: readonly string[]) => execa('ip', args, { ...harnessEnv(), reject: false });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A namespace the test made: what lives in it besides `keep` (and their children) is left behind. */
interface OwnSpace {
  readonly file: string;
  readonly label: string;
  keep?: number;
}

let current: Sandbox | undefined;

/** The sandbox of the test that is running (tests in one file run one at a time), if any. */
export const activeSandbox = (): Sandbox | undefined => current;

export class Sandbox {
  readonly id = randomBytes(3).toString('hex');
  private readonly namespaces: string[] = [];
  private readonly spaces: OwnSpace[] = [];
  private readonly procs: ResultPromise[] = [];
  private readonly ownLinks = new Set<string>();
  private readonly deferred: (() => unknown)[] = [];
  private baseline: { sandbox: NsFull; global: GlobalState; tmp: string[] } | undefined;

  /** A name unique to this test, e.g. pf-1a2b3c-r1 (short enough for an interface name). */
  name(suffix: string): string {
    return `pf-${this.id}-${suffix}`;
  }

  /** A namespace name: pf-<run id>-<test id>-<suffix>. */
  nsName(suffix: string): string {
    return `pf-${runId}-${this.id}-${suffix}`;
  }

  async start(): Promise<this> {
    const [snap, tmp] = await Promise.all([fullSnapshot(['sandbox']), tmpFiles()]);
    this.baseline = { sandbox: snap[0] as NsFull, global: snap.global, tmp };
    return this;
  }

  /** A named namespace (ip netns add) with lo up. */
  async netns(suffix: string): Promise<string> {
    const name = this.nsName(suffix);
    await execa('ip', ['netns', 'add', name], harnessEnv());
    this.namespaces.push(name);
    this.spaces.push({ file: `/run/netns/${name}`, label: `netns:${name}` });
    await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up'], harnessEnv());
    return name;
  }

  /** A "container": a process in its own network namespace (unshare --net), lo up. */
  async container(): Promise<Container> {
    const p = execa('unshare', ['--net', '--', 'sleep', '3600'], { reject: false });
    this.procs.push(p);
    const pid = p.pid;
    if (pid === undefined) throw new Error('unshare did not start');
    // Wait until the child is in its own namespace.
    const own = (await stat('/proc/self/ns/net')).ino;
    for (let i = 0; i < 200; i++) {
      const s = await stat(`/proc/${pid}/ns/net`).catch(() => undefined);
      const comm = await execa('cat', [`/proc/${pid}/comm`], { reject: false });
      if (s && s.ino !== own && comm.stdout.trim() === 'sleep') break;
      await sleep(5);
    }
    await execa(
      'nsenter',
      [`--net=/proc/${pid}/ns/net`, '--', 'ip', 'link', 'set', 'lo', 'up'],
      harnessEnv(),
    );
    this.ownSpace(`/proc/${pid}/ns/net`, `pid:${pid}`, pid);
    return { pid, netnsPath: `/proc/${pid}/ns/net` };
  }

  /**
   * A container as Docker makes one: eth0 (a veth whose peer stays inside) with 203.0.113.5/24
   * and a default route through 203.0.113.1 — the route a --gateway replaces and a detach puts back.
   */
  async dockerLike(): Promise<Container> {
    const c = await this.container();
    const sh = (...argv: string[]) => execa('nsenter', [`--net=${c.netnsPath}`, '--', ...argv], harnessEnv());
    await sh('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    await sh('ip', 'addr', 'add', '203.0.113.5/24', 'dev', 'eth0');
    await sh('ip', 'link', 'set', 'dev', 'eth0', 'up');
    await sh('ip', 'route', 'add', 'default', 'via', '203.0.113.1', 'dev', 'eth0', 'onlink');
    return c;
  }

  /** A veth pair on the host (the sandbox) to stand in for a physical NIC; both ends up. */
  async hostNic(suffix: string): Promise<string> {
    const name = `pn${this.id}${suffix}`.slice(0, 15);
    const peer = `pp${this.id}${suffix}`.slice(0, 15);
    this.own(name, peer);
    await execa('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer], harnessEnv());
    await execa('ip', ['link', 'set', name, 'up'], harnessEnv());
    await execa('ip', ['link', 'set', peer, 'up'], harnessEnv());
    return name;
  }

  /**
   * A host NIC as a host has one: an alias, MTU 1450, an address of each family and a route
   * through it (what a --phys move takes along and must bring home).
   */
  async dressedHostNic(suffix: string): Promise<string> {
    const nic = await this.hostNic(suffix);
    await execa('ip', ['link', 'set', 'dev', nic, 'alias', 'rack 3 uplink', 'mtu', '1450'], harnessEnv());
    await execa('ip', ['addr', 'add', '198.51.100.5/24', 'brd', '198.51.100.255', 'dev', nic], harnessEnv());
    await execa('ip', ['addr', 'add', '2001:db8:5::5/64', 'dev', nic, 'nodad'], harnessEnv());
    await execa('ip', ['route', 'add', '203.0.113.128/25', 'via', '198.51.100.1', 'dev', nic], harnessEnv());
    return nic;
  }

  /**
   * Links in the sandbox that the test makes itself (a bridge for a DHCP server, an uplink): the
   * harness's own, removed after the test and never reported. Name them before or right after
   * making them. What pipefitter makes on them (a macvlan, a port) is not theirs.
   */
  own(...links: string[]): void {
    for (const l of links) this.ownLinks.add(l);
  }

  /**
   * A namespace the test did not make with netns()/container() but owns (a Docker container's):
   * its processes other than `keep` and its descendants are left behind when the test ends.
   */
  ownSpace(file: string, label: string, keep?: number): void {
    this.spaces.push({ file, label, ...(keep === undefined ? {} : { keep }) });
  }

  /** Run `fn` after the test, before its leftovers are looked for; the last deferred runs first. */
  defer(fn: () => unknown): void {
    this.deferred.push(fn);
  }

  /**
   * Runs the deferred cleanups, records what the test left, removes it all (and the harness's
   * own), and returns the list; [] when nothing was left.
   */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    for (const fn of this.deferred.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        problems.push(`a cleanup of the test failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const left = await this.leftovers();
    await this.remove(left);
    const notRemoved = await this.stillDifferent();
    return [...problems, ...left.lines, ...notRemoved.map((d) => `(and could not be removed: ${d})`)];
  }

  private async leftovers(): Promise<Leftovers> {
    const lines: string[] = [];
    const out: Leftovers = {
      lines,
      links: [],
      processes: [],
      namespaces: [],
      tmp: [],
      nft: [],
      added: [],
      sysctls: {},
    };
    const base = this.baseline;
    if (!base) return out;
    // processes in the test's namespaces, and new ones in the sandbox; a process on its way
    // out (a client told to stop) gets 2 s
    for (let i = 0; ; i++) {
      const found = await this.strayProcesses(base.sandbox);
      if (found.length === 0 || i >= 20) {
        out.processes = found;
        break;
      }
      await sleep(100);
    }
    for (const p of out.processes) lines.push(`process ${p.pid} in ${p.where}: ${p.text}`);

    const snap = await fullSnapshot(['sandbox']);
    const now = snap[0] as NsFull;
    const ownNow = this.harnessLinks(now);
    const diff = diffSnapshots(
      Object.assign([withoutLinks(base.sandbox, ownNow)], { global: base.global }),
      Object.assign([withoutLinks(now, ownNow)], { global: snap.global }),
      ['sandbox'],
    ).filter((d) => !d.includes(': process ') && !d.startsWith('this run: namespace'));
    lines.push(...diff);
    const before = new Set(base.sandbox.links.map((l) => l.name));
    out.links = now.links.map((l) => l.name).filter((n) => !before.has(n) && !ownNow.has(n));
    out.nft = diff.filter((d) => d.includes(': nftables added: '));
    out.added = diff.filter((d) => /: (route|rule|neighbour) added: /.test(d));
    for (const [k, v] of Object.entries(base.sandbox.sysctls))
      if (now.sysctls[k] !== undefined && now.sysctls[k] !== v) out.sysctls[k] = v;

    const ours = new Set(this.namespaces);
    out.namespaces = snap.global.namespaces.filter(
      (n) => !base.global.namespaces.includes(n) && !ours.has(n),
    );
    for (const n of out.namespaces) lines.push(`network namespace ${n}`);
    for (const n of [...ours, ...out.namespaces]) {
      const files = await readdir(`/etc/netns/${n}`).catch(() => undefined);
      if (files) lines.push(`/etc/netns/${n}: ${files.join(' ') || '(empty directory)'}`);
    }
    out.tmp = (await tmpFiles()).filter((f) => !base.tmp.includes(f));
    for (const f of out.tmp) lines.push(`temporary file /tmp/${f}`);
    return out;
  }

  /** Links that are the harness's: named with own(), and the veths of Docker containers. */
  private harnessLinks(s: NsFull): Set<string> {
    const own = new Set(this.ownLinks);
    for (const l of s.links) if (l.master === 'docker0' && /^veth[0-9a-f]{7}$/.test(l.name)) own.add(l.name);
    return own;
  }

  private async strayProcesses(base: NsFull): Promise<Stray[]> {
    const files = ['/proc/self/ns/net'];
    const labels = ['the sandbox'];
    for (const s of this.spaces) {
      if (!(await stat(s.file).catch(() => undefined))) continue;
      files.push(s.file);
      labels.push(s.label);
    }
    const found = await processesIn(files);
    const children = await childrenOf();
    const out: Stray[] = [];
    const known = new Set(base.processes);
    found.forEach((list, i) => {
      const space = i === 0 ? undefined : this.spaces.find((s) => s.label === labels[i]);
      const keep = new Set<number>();
      if (space?.keep !== undefined) {
        const walk = (pid: number) => {
          keep.add(pid);
          for (const c of children.get(pid) ?? []) walk(c);
        };
        walk(space.keep);
      }
      for (const p of list) {
        if (keep.has(p.pid) || (i === 0 && known.has(p.text))) continue;
        out.push({ pid: p.pid, text: p.text, where: labels[i] ?? '?' });
      }
    });
    return out;
  }

  private async remove(left: Leftovers): Promise<void> {
    for (const p of [...this.procs]) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.catch(() => undefined)));
    for (const p of left.processes) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    // its own, any a recipe under test made with this test's prefix, and any other left
    const { stdout } = await ip(['netns', 'list']);
    const prefixed = stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`pf-${runId}-${this.id}-`));
    for (const n of new Set([...this.namespaces, ...prefixed, ...left.namespaces])) {
      await ip(['netns', 'del', n]);
      await rm(`/etc/netns/${n}`, { recursive: true, force: true });
    }
    // links: one at a time and re-listed, because deleting a veth end removes its peer too
    const base = this.baseline;
    if (base) {
      const keep = new Set(base.sandbox.links.map((l) => l.name));
      for (let i = 0; i < 256; i++) {
        const { stdout: j } = await ip(['-j', 'link', 'show']);
        const extra = (JSON.parse(j || '[]') as { ifname: string }[])
          .map((l) => l.ifname)
          .find((n) => !keep.has(n) && !/^veth[0-9a-f]{7}$/.test(n));
        if (extra === undefined) break;
        await ip(['link', 'del', 'dev', extra]);
      }
      for (const [k, v] of Object.entries(left.sysctls))
        await writeFile(join('/proc/sys/net', k), v).catch(() => undefined);
    }
    await removeNftAdditions(left.nft);
    for (const d of left.added) await removeKernelObject(d);
    for (const f of left.tmp) await rm(`/tmp/${f}`, { recursive: true, force: true });
    // pipefitter's state files: new ones removed, changed ones written back
    if (base) {
      const now = (await fullSnapshot([])).global.stateFiles;
      for (const f of Object.keys(now))
        if (!(f in base.global.stateFiles)) await rm(f, { recursive: true, force: true });
      for (const [f, text] of Object.entries(base.global.stateFiles))
        if (now[f] !== text && text !== '(present)')
          await mkdir(dirname(f), { recursive: true }).then(() => writeFile(f, text));
    }
  }

  /** What still differs from the baseline after removal (the harness's own links are gone now). */
  private async stillDifferent(): Promise<string[]> {
    const base = this.baseline;
    if (!base) return [];
    const snap = await fullSnapshot(['sandbox']);
    const now = snap[0] as NsFull;
    const own = this.harnessLinks(now);
    return diffSnapshots(
      Object.assign([withoutLinks(base.sandbox, own)], { global: base.global }),
      Object.assign([withoutLinks(now, own)], { global: snap.global }),
      ['sandbox'],
    ).filter((d) => !d.includes(': process '));
  }
}

interface Stray {
  readonly pid: number;
  readonly text: string;
  readonly where: string;
}

interface Leftovers {
  readonly lines: string[];
  links: string[];
  processes: Stray[];
  namespaces: string[];
  tmp: string[];
  nft: string[];
  /** Diff lines of routes, rules and neighbours added on links that stay. */
  added: string[];
  sysctls: Record<string, string>;
}

/** Removes a route, rule or neighbour from its diff line (the JSON ip printed). */
const removeKernelObject = async (line: string): Promise<void> => {
  const m = /: (route|rule|neighbour) added: (.*)$/.exec(line);
  if (!m) return;
  const o = JSON.parse(m[2] as string) as Record<string, unknown>;
  const txt = (v: unknown): string =>
    typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v);
  const v6 = txt(o.dst ?? o.src ?? '').includes(':') || o.family === 6;
  const fam = v6 ? ['-6'] : ['-4'];
  const opt = (key: string, word: string): string[] => (o[key] === undefined ? [] : [word, txt(o[key])]);
  switch (m[1] as 'route' | 'rule' | 'neighbour') {
    case 'route':
      await ip([
        ...fam,
        'route',
        'del',
        ...(o.type && o.type !== 'unicast' ? [txt(o.type)] : []),
        txt(o.dst),
        ...opt('table', 'table'),
        ...opt('dev', 'dev'),
        ...opt('gateway', 'via'),
        ...opt('metric', 'metric'),
        ...opt('protocol', 'proto'),
      ]);
      break;
    case 'rule':
      await ip([...fam, 'rule', 'del', ...opt('priority', 'priority')]);
      break;
    case 'neighbour':
      await ip([
        ...fam,
        'neigh',
        'del',
        ...('proxy' in o ? ['proxy'] : []),
        txt(o.dst),
        ...opt('dev', 'dev'),
      ]);
      break;
  }
};

/** A state without the given links and whatever names them (routes, neighbours, sysctls, VLANs). */
const withoutLinks = (s: NsFull, names: ReadonlySet<string>): NsFull => {
  const onIt = (text: string): boolean => {
    const dev = /"dev":"([^"]+)"/.exec(text)?.[1];
    return dev !== undefined && names.has(dev);
  };
  return {
    ...s,
    links: s.links.filter((l) => !names.has(l.name)),
    routes: s.routes.filter((r) => !onIt(r)),
    neighbours: s.neighbours.filter((n) => !onIt(n)),
    vlans: s.vlans.filter((v) => !names.has(v.split(' ')[0] ?? '')),
    sysctls: Object.fromEntries(
      Object.entries(s.sysctls).filter(([k]) => !k.split('/').some((part) => names.has(part))),
    ),
  };
};

/** Children of every process, from /proc. */
const childrenOf = async (): Promise<Map<number, number[]>> => {
  const out = new Map<number, number[]>();
  for (const e of await readdir('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
    out.set(ppid, [...(out.get(ppid) ?? []), pid]);
  }
  return out;
};

/** The run's temporary files (/tmp/pf-<run id>-*), but its state directories. */
const tmpFiles = async (): Promise<string[]> =>
  (await readdir('/tmp').catch(() => [] as string[]))
    .filter((f) => f.startsWith(`pf-${runId}-`) && f !== `pf-${runId}-state` && f !== `pf-${runId}-run`)
    .sort();

/** Deletes tables, chains and rules that the diff lines name as added (nftables JSON). */
const removeNftAdditions = async (added: readonly string[]): Promise<void> => {
  const objs = added.map(
    (d) =>
      JSON.parse(d.slice(d.indexOf(': nftables added: ') + 18)) as Record<string, Record<string, unknown>>,
  );
  const tables = objs.flatMap((o) => (o.table ? [o.table] : []));
  for (const t of tables)
    await execa('nft', ['delete', 'table', String(t.family), String(t.name)], { reject: false });
  const rules = objs.flatMap((o) => (o.rule ? [o.rule] : []));
  if (rules.length === 0) return;
  // a rule is found again by its content, and deleted by the handle it has now
  const r = await execa('nft', ['-j', 'list', 'ruleset'], { reject: false });
  const now = (
    JSON.parse(r.stdout || '{"nftables":[]}') as { nftables: Record<string, Record<string, unknown>>[] }
  ).nftables;
  for (const rule of rules) {
    const want = JSON.stringify(rule);
    const hit = now.find((o) => {
      if (!o.rule) return false;
      const { handle: _h, ...rest } = o.rule;
      return JSON.stringify(scrubCounters(rest)) === want;
    })?.rule;
    if (hit)
      await execa(
        'nft',
        [
          'delete',
          'rule',
          String(hit.family),
          String(hit.table),
          String(hit.chain),
          'handle',
          String(hit.handle),
        ],
        { reject: false },
      );
  }
};

const scrubCounters = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(scrubCounters)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => !['handle', 'packets', 'bytes', 'expires'].includes(k))
            .map(([k, x]) => [k, scrubCounters(x)]),
        )
      : v;

/**
 * Run `fn` with a fresh sandbox; skip the test (saying why) when not in the test sandbox. After
 * `fn`, the test's cleanups run, and the test fails if it left anything behind (see above).
 */
export const withSandbox = async (t: TestContext, fn: (sb: Sandbox) => Promise<void>): Promise<void> => {
  const reason = await sandboxSkipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  await needTools('ip', 'nsenter', 'unshare');
  const sb = await new Sandbox().start();
  // t.after hooks run after this function returns, i.e. after the leak check, and in the order
  // they were added: the test's own cleanups are taken over and run (newest first) before it.
  const ctx = t as unknown as { after: TestContext['after'] };
  Object.defineProperty(ctx, 'after', {
    configurable: true,
    writable: true,
    value: (hook: () => unknown) => sb.defer(hook),
  });
  current = sb;
  let failure: { readonly error: unknown } | undefined;
  try {
    await fn(sb);
  } catch (error) {
    failure = { error };
  }
  delete (ctx as { after?: unknown }).after;
  current = undefined;
  let left: string[];
  try {
    left = await sb.cleanup();
  } catch (e) {
    if (failure) throw failure.error;
    throw e;
  }
  const text = `this test left behind (removed now):\n  ${left.join('\n  ')}`;
  if (failure) {
    if (left.length) console.error(`# ${text.replaceAll('\n', '\n# ')}`);
    throw failure.error;
  }
  if (left.length) throw new Error(text);
};
