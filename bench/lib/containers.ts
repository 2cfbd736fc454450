/**
 * Plain "containers": one `unshare --net -- sleep infinity` process each, so the namespace is held
 * by a process (pipework needs a PID; CNI gets /proc/PID/ns/net; pipefitter pid:PID). Every one
 * carries PF_BENCH_RUN in its environment, so the driver can find any that outlive the run.
 */
import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { plus } from './addr.js';
import { pool, sleep } from './proc.js';
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
    ref: `docker:${c.name}`,
    address: plus(net.first, i),
  }));
