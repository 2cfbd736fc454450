/**
 * Plain "containers": one `unshare --net -- sleep infinity` process each, so the namespace is held
 * by a process (pipework needs a PID; CNI gets /proc/PID/ns/net; pipefitter pid:PID). Every one
 * carries PF_BENCH_RUN in its environment, so the driver can find any that outlive the run.
 */
import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { plus } from './addr.js';
import { must, pool, sleep } from './proc.js';
import type { Net, Target } from './types.js';

export interface Holder {
  readonly targets: Target[];
  kill(): Promise<void>;
}

const ownNetns = async () => (await stat('/proc/self/ns/net')).ino;

const spawnOne = async (own: number): Promise<{ pid: number; proc: ResultPromise }> => {
  const proc = execa('unshare', ['--net', '--', 'sleep', 'infinity'], { reject: false, stdin: 'ignore' });
  const pid = proc.pid;
  if (pid === undefined) throw new Error('unshare did not start');
  for (let i = 0; i < 400; i++) {
    const ns = await stat(`/proc/${pid}/ns/net`).catch(() => undefined);
    if (ns && ns.ino !== own) return { pid, proc };
    await sleep(5);
  }
  throw new Error(`unshare ${pid} never entered its own netns`);
};

/** `n` process-held namespaces, container i getting net.first + i. */
export const plainContainers = async (n: number, net: Net): Promise<Holder> => {
  const own = await ownNetns();
  const procs: ResultPromise[] = [];
  const made = await pool(
    Array.from({ length: n }, (_, i) => i),
    8,
    async () => {
      const p = await spawnOne(own);
      procs.push(p.proc);
      return p.pid;
    },
  );
  return {
    targets: made.map((pid, i) => ({
      index: i,
      name: `c${i}`,
      pid,
      netns: `/proc/${pid}/ns/net`,
      ref: `pid:${pid}`,
      address: plus(net.first, i),
    })),
    async kill() {
      for (const p of procs) p.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.catch(() => undefined)));
    },
  };
};

/** Docker containers the keeper started: same shape, pipefitter names them docker:NAME. */
export const dockerTargets = (
  containers: readonly { readonly name: string; readonly pid: number }[],
  net: Net,
): Target[] =>
  containers.map((c, i) => ({
    index: i,
    name: c.name,
    pid: c.pid,
    netns: `/proc/${c.pid}/ns/net`,
    ref: `docker:${c.name}`,
    address: plus(net.first, i),
  }));

/**
 * `n` fresh named namespaces `pf-bench-ID-TAGi` (/run/netns/…, as a runtime makes them for a pod),
 * made and removed with one `ip -batch` each. Nothing holds them but the bind mount.
 */
export const namedNamespaces = async (id: string, tag: string, n: number, net: Net): Promise<Holder> => {
  const names = Array.from({ length: n }, (_, i) => `pf-bench-${id}-${tag}${i}`);
  const batch = (verb: string) => ({
    file: 'ip',
    args: ['-batch', '-'],
    input: names.map((x) => `netns ${verb} ${x}`).join('\n') + '\n',
  });
  await must(batch('add'));
  return {
    targets: names.map((name, i) => ({
      index: i,
      name: `${tag}${i}`,
      pid: 0,
      netns: `/run/netns/${name}`,
      ref: `netns:${name}`,
      address: plus(net.first, i),
    })),
    async kill() {
      await must(batch('del'));
    },
  };
};
