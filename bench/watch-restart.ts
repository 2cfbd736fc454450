/**
 * The `watch` scenario: how long after Docker's `start` event a restarted container has its
 * interface back, as `pipefitter watch --json` logs it (`sinceEventMs`, from the event's timeNano
 * to the end of the re-applying attach), beside the time `docker restart` itself takes (the
 * peer: watch's time comes on top of it). Two cases, each under both backends:
 *   watch-seq  one attached container restarted ROUNDS times, one after the other
 *   watch-20   20 attached containers restarted at once (`docker restart` ×20 in parallel)
 * After each case eth1 of every container is read back (one eth1, its address); then watch is
 * stopped (SIGTERM, exit 0) and the containers detached. watch runs at the priority its systemd
 * unit gives it (`nice -n -10`; PF_BENCH_WATCH_NICE=0 runs it at the runtime's). PF_BENCH_WATCH_LOG=FILE keeps watch's
 * JSON log lines in FILE.BACKEND.
 */
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { WATCH_NICE } from '../src/plan/watch.js';
import { PF_BIN } from './peers/pipefitter.js';
import type { Backend } from './peers/pipefitter.js';
import type { Recorder } from './lib/scenario.js';
import { makeBridge, removeBridge, say } from './lib/scenario.js';
import type { Env, Net, Target } from './lib/types.js';

interface Line {
  event: string;
  message: string;
  sinceEventMs?: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const startWatch = (env: Record<string, string>) => {
  // as the unit runs it (Nice=, plan/watch.ts WATCH_NICE); PF_BENCH_WATCH_NICE=0: the runtime's priority
  const nice = process.env.PF_BENCH_WATCH_NICE ?? String(WATCH_NICE);
  const argv = [process.execPath, PF_BIN, 'watch', '--json', '--interval', '10m'];
  const [file, ...args] = nice !== '0' ? ['nice', '-n', nice, ...argv] : argv;
  const child: ResultPromise = execa(file!, args, {
    env,
    reject: false,
    buffer: false,
  });
  const lines: Line[] = [];
  const taken = new Set<Line>();
  createInterface({ input: child.stdout! }).on('line', (t) => lines.push(JSON.parse(t) as Line));
  const next = async (match: (l: Line) => boolean, timeoutMs = 120_000): Promise<Line> => {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
      const l = lines.find((x) => !taken.has(x) && match(x));
      if (l) {
        taken.add(l);
        return l;
      }
    }
    throw new Error(`watch: nothing matching in ${timeoutMs} ms; last: ${JSON.stringify(lines.slice(-5))}`);
  };
  return { child, lines, next };
};

const eth1Of = async (pid: number): Promise<string[]> => {
  const r = await execa('nsenter', [
    '-t',
    String(pid),
    '-n',
    'ip',
    '-j',
    '-4',
    'addr',
    'show',
    'dev',
    'eth1',
  ]);
  return (JSON.parse(r.stdout) as { addr_info: { local: string }[] }[]).flatMap((l) =>
    l.addr_info.map((a) => a.local),
  );
};

export const watchRestarts = async (
  rec: Recorder,
  env: Env,
  all: readonly Target[],
  net: Net,
  seqRounds: number,
  parallelRounds: number,
): Promise<void> => {
  const targets = all.slice(0, 20);
  const dockerEnv = { DOCKER_HOST: env.dockerHost ?? '', PATH: process.env.PATH ?? '' };
  const restart = async (names: readonly string[]): Promise<number> => {
    const t0 = performance.now();
    await Promise.all(names.map((n) => execa('docker', ['restart', '-t', '1', n], { env: dockerEnv })));
    return performance.now() - t0;
  };
  const pidOf = async (name: string): Promise<number> =>
    Number((await execa('docker', ['inspect', '-f', '{{.State.Pid}}', name], { env: dockerEnv })).stdout);

  const backends = (process.env.PF_BENCH_WATCH_BACKENDS ?? 'netlink,ip').split(',') as Backend[];
  for (const backend of backends) {
    const tool = backend === 'ip' ? 'pipefitter watch (ip backend)' : 'pipefitter watch';
    const pfEnv = {
      ...dockerEnv,
      PIPEFITTER_STATE_DIR: `${env.stateDir}-watch-${backend}`,
      PIPEFITTER_BACKEND: backend,
    };
    await makeBridge(net);
    let w: ReturnType<typeof startWatch> | undefined;
    try {
      for (const t of targets)
        await execa(
          process.execPath,
          [PF_BIN, 'attach', t.name, '--bridge', net.bridge, '--ip', `${t.address}/${net.prefix}`],
          { env: pfEnv },
        );
      w = startWatch(pfEnv);
      const watch = w;
      for (const t of targets)
        await watch.next((l) => l.event === 'in-sync' && l.message.startsWith(`${t.name} `));
      const reapplied = (name: string) =>
        watch.next((l) => l.event === 'reapplied' && l.message.startsWith(`${name} `));

      const one = targets[0]!;
      const seq: number[] = [];
      for (let r = 0; r < seqRounds; r++) {
        const dockerMs = await restart([one.name]);
        const l = await reapplied(one.name);
        if (l.sinceEventMs === undefined) throw new Error(`no sinceEventMs: ${JSON.stringify(l)}`);
        seq.push(l.sinceEventMs);
        rec.time('watch-seq', 1, tool, l.sinceEventMs);
        rec.time('watch-seq', 1, 'docker restart', dockerMs);
      }
      rec.time('watch-seq', 1, `${tool}, worst`, Math.max(...seq));
      say(
        `watch-seq ${backend}: ${seqRounds} restarts, median ${median(seq)} ms, worst ${Math.max(...seq)} ms`,
      );

      for (let r = 0; r < parallelRounds; r++) {
        const dockerMs = await restart(targets.map((t) => t.name));
        const since = await Promise.all(
          targets.map(async (t) => (await reapplied(t.name)).sinceEventMs ?? NaN),
        );
        if (since.some((x) => Number.isNaN(x))) throw new Error('a re-apply without sinceEventMs');
        rec.time('watch-20', targets.length, tool, median(since));
        rec.time('watch-20', targets.length, `${tool}, worst`, Math.max(...since));
        rec.time('watch-20', targets.length, 'docker restart', dockerMs);
        say(
          `watch-20 ${backend} round ${r + 1}/${parallelRounds}: docker restart ×${targets.length} took ${dockerMs.toFixed(0)} ms; start event to ready median ${median(since)} ms, worst ${Math.max(...since)} ms`,
        );
      }
      for (const t of targets) {
        const got = await eth1Of(await pidOf(t.name));
        if (got.length !== 1 || got[0] !== t.address)
          throw new Error(`${t.name}: eth1 has ${JSON.stringify(got)}, expected ${t.address}`);
      }
      if (watch.lines.some((l) => l.event === 'failed'))
        throw new Error(`watch failed: ${JSON.stringify(watch.lines.filter((l) => l.event === 'failed'))}`);
    } finally {
      if (w) {
        // PF_BENCH_WATCH_LOG=FILE: watch's own log lines, for a look at where the time went
        if (process.env.PF_BENCH_WATCH_LOG)
          await writeFile(
            `${process.env.PF_BENCH_WATCH_LOG}.${backend}`,
            w.lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
          );
        w.child.kill('SIGTERM');
        const end = await w.child;
        if (end.exitCode !== 0) say(`watch exited ${end.exitCode}`);
      }
      for (const t of targets)
        await execa(process.execPath, [PF_BIN, 'detach', t.name], { env: pfEnv, reject: false });
      await removeBridge(net);
    }
  }
};
