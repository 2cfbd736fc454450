/**
 * After the run: anything the bench made that is still there. Every lookup is keyed by the run's
 * id (namespace names, the PF_BENCH_RUN environment marker, the temp dir) or by what the run
 * recorded before it started (the machine's links, /run/netns), so nothing else is ever matched.
 */
import { access, readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { cgroupDirs, harnessProcesses } from '../../test/helpers/daemon-leftovers.js';
import { exec, sleep } from './proc.js';

export const hostLinks = async (): Promise<string[]> =>
  (JSON.parse((await exec({ file: 'ip', args: ['-j', 'link', 'show'] })).stdout) as { ifname: string }[])
    .map((l) => l.ifname)
    .sort();

export const netnsNames = async (): Promise<string[]> =>
  (await readdir('/run/netns').catch(() => [] as string[])).sort();

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** PIDs other than this one whose environment carries PF_BENCH_RUN=id. */
export const markedProcesses = async (id: string): Promise<number[]> => {
  const mark = `\0PF_BENCH_RUN=${id}\0`;
  const pids: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const env = await readFile(`/proc/${e}/environ`, 'latin1').catch(() => '');
    if (`\0${env}`.includes(mark)) pids.push(Number(e));
  }
  return pids;
};

export interface Before {
  readonly links: readonly string[];
  readonly netns: readonly string[];
}

export const leftovers = async (o: {
  id: string;
  tmp: string;
  dockerDir?: string;
  before: Before;
}): Promise<string[]> => {
  const left: string[] = [];
  // namespaces die asynchronously with their last process: give the kernel a moment
  let links: string[] = [];
  for (let i = 0; i < 50; i++) {
    links = (await hostLinks()).filter((l) => !o.before.links.includes(l));
    if (!links.length) break;
    await sleep(100);
  }
  if (links.length) left.push(`links in the machine's namespace: ${links.join(' ')}`);
  // this run's namespaces, and PID-named entries (pipework links /run/netns/PID while it works);
  // other new names belong to other users of the machine
  const ns = (await netnsNames()).filter(
    (n) => !o.before.netns.includes(n) && (n.includes(`-${o.id}-`) || /^\d+$/.test(n)),
  );
  if (ns.length) left.push(`/run/netns entries: ${ns.join(' ')}`);
  const procs = await markedProcesses(o.id);
  if (procs.length) left.push(`processes: ${procs.join(' ')}`);
  if (await exists(o.tmp)) left.push(`temp dir ${o.tmp}`);
  if (o.dockerDir) {
    if (await exists(o.dockerDir)) left.push(`docker harness dir ${o.dockerDir}`);
    const dp = await harnessProcesses(o.dockerDir);
    if (dp.length) left.push(`docker harness processes: ${dp.join(' ')}`);
    for (const d of await cgroupDirs(basename(o.dockerDir))) if (await exists(d)) left.push(`cgroup ${d}`);
  }
  return left;
};
