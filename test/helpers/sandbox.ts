/**
 * Integration tests run inside the sandbox namespace that scripts/run-tests.mjs makes (no
 * uplink: only lo). This helper checks that, then gives each test its own namespaces and
 * "containers" (processes with their own netns), and removes everything the test made,
 * including host-side links that appeared in the sandbox during the test.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
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

const hostLinks = async (): Promise<Set<string>> => {
  const { stdout } = await execa('ip', ['-j', 'link', 'show']);
  return new Set((JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname));
};

export interface Container {
  readonly pid: number;
  readonly netnsPath: string;
}

/** The run's id (scripts/run-tests.mjs); every namespace a test makes starts with pf-<run id>-. */
export const runId = process.env.PF_RUN_ID ?? 'norun';

export class Sandbox {
  readonly id = randomBytes(3).toString('hex');
  private readonly namespaces: string[] = [];
  private readonly procs: ResultPromise[] = [];
  private baseline: Set<string> | undefined;

  /** A name unique to this test, e.g. pf-1a2b3c-r1 (short enough for an interface name). */
  name(suffix: string): string {
    return `pf-${this.id}-${suffix}`;
  }

  /** A namespace name: pf-<run id>-<test id>-<suffix>. */
  nsName(suffix: string): string {
    return `pf-${runId}-${this.id}-${suffix}`;
  }

  async start(): Promise<this> {
    this.baseline = await hostLinks();
    return this;
  }

  /** A named namespace (ip netns add) with lo up. */
  async netns(suffix: string): Promise<string> {
    const name = this.nsName(suffix);
    await execa('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
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
      await new Promise((r) => setTimeout(r, 5));
    }
    await execa('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'ip', 'link', 'set', 'lo', 'up']);
    return { pid, netnsPath: `/proc/${pid}/ns/net` };
  }

  /** A veth pair on the host (the sandbox) to stand in for a physical NIC; both ends up. */
  async hostNic(suffix: string): Promise<string> {
    const name = `pn${this.id}${suffix}`.slice(0, 15);
    const peer = `pp${this.id}${suffix}`.slice(0, 15);
    await execa('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer]);
    await execa('ip', ['link', 'set', name, 'up']);
    await execa('ip', ['link', 'set', peer, 'up']);
    return name;
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.catch(() => undefined)));
    // its own, and any a recipe under test made with this test's prefix
    const { stdout } = await execa('ip', ['netns', 'list'], { reject: false });
    const named = stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`pf-${runId}-${this.id}-`));
    for (const n of new Set([...this.namespaces, ...named]))
      await execa('ip', ['netns', 'del', n], { reject: false });
    if (this.baseline) {
      for (const l of await hostLinks())
        if (!this.baseline.has(l)) await execa('ip', ['link', 'del', l], { reject: false });
    }
  }
}

/** Run `fn` with a fresh sandbox; skip the test (saying why) when not in the test sandbox. */
export const withSandbox = async (t: TestContext, fn: (sb: Sandbox) => Promise<void>): Promise<void> => {
  const reason = await sandboxSkipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  await needTools('ip', 'nsenter', 'unshare');
  const sb = await new Sandbox().start();
  try {
    await fn(sb);
  } finally {
    await sb.cleanup();
  }
};
