/**
 * Keeps a private dockerd and N busybox containers alive for the Docker scenario. The driver
 * starts it as `nsenter --net=/run/netns/SANDBOX -- node --import tsx bench/docker-keeper.ts OUT N`
 * (nsenter, not `ip netns exec`, whose /sys remount breaks dockerd), with PF_SANDBOX set. It
 * reuses the test harness (test/helpers/docker.ts): everything lives in /tmp/pf-docker-*, and
 * stop() removes containers, daemon, cgroups and the links and rules dockerd made in the sandbox.
 * It writes {dockerHost, dir, containers} (or {skip}) to OUT, then waits until its stdin closes
 * or it gets SIGTERM/SIGINT, and tears everything down.
 */
import { writeFile } from 'node:fs/promises';
import { dockerSkipReason, dockerToolsMissing, startDocker } from '../test/helpers/docker.js';
import type { DockerHarness } from '../test/helpers/docker.js';
import { pool } from './lib/proc.js';
import type { DockerInfo } from './lib/types.js';

const [out = '', count = '100'] = process.argv.slice(2);
const say = (s: string) => process.stderr.write(`bench docker: ${s}\n`);

let docker: DockerHarness | undefined;
let stopping: Promise<void> | undefined;
const stop = (code: number) => {
  stopping ??= (async () => {
    await docker?.stop().catch((e: unknown) => {
      say(`teardown failed: ${e instanceof Error ? e.message : String(e)}`);
      code ||= 1;
    });
    process.exit(code);
  })();
  return stopping;
};
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(130));

const reason = (await dockerSkipReason()) ?? ((await dockerToolsMissing()).join('; ') || undefined);
if (reason) {
  await writeFile(out, JSON.stringify({ skip: reason }));
  process.exit(0);
}
try {
  const t0 = performance.now();
  // --bip in a documentation range; containers get --network none (only lo), like the plain
  // namespaces, so eth1 is the only interface the tools add (pipework's users often run so).
  docker = await startDocker({ bip: '192.0.2.1/24' });
  const names = Array.from({ length: Number(count) }, (_, i) => `c${i}`);
  const containers = await pool(names, 4, async (name) => {
    const c = await docker!.run(name, { network: 'none' });
    return { name: c.name, pid: c.pid };
  });
  const info: DockerInfo = { dockerHost: docker.dockerHost, dir: docker.dir, containers };
  await writeFile(out, JSON.stringify(info));
  say(`dockerd and ${containers.length} containers up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  await writeFile(
    out,
    JSON.stringify({ skip: `docker did not start: ${e instanceof Error ? e.message : String(e)}` }),
  );
  await stop(1);
}
process.stdin.on('end', () => void stop(0));
process.stdin.resume();
