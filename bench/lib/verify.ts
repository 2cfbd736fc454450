/**
 * Reading the state back after every run, outside the timed part: each container has eth1 up
 * with exactly its address and a default route via the gateway on eth1, and the bridge has one
 * port per container, all up. After a teardown the bridge has no ports left.
 */
import { exec, must, pool } from './proc.js';
import type { Net, Target } from './types.js';

interface Addr {
  family: string;
  local: string;
  prefixlen: number;
}
interface Link {
  ifname: string;
  flags: string[];
  addr_info?: Addr[];
}
interface Route {
  dst: string;
  gateway?: string;
  dev: string;
}

export const bridgePorts = async (bridge: string): Promise<Link[]> =>
  JSON.parse(
    (await must({ file: 'ip', args: ['-j', 'link', 'show', 'master', bridge] })).stdout || '[]',
  ) as Link[];

const checkOne = async (t: Target, net: Net): Promise<string | undefined> => {
  const r = await exec({
    file: 'nsenter',
    args: [`--net=${t.netns}`, '--', 'ip', '-j', '-batch', '-'],
    input: 'addr show dev eth1\nroute show default\n',
  });
  if (r.exitCode !== 0) return `${t.name}: no eth1 (${r.stderr.trim()})`;
  const [links = '[]', routes = '[]'] = r.stdout.trim().split('\n');
  const link = (JSON.parse(links) as Link[])[0];
  const v4 = (link?.addr_info ?? []).filter((a) => a.family === 'inet');
  if (!link?.flags.includes('UP')) return `${t.name}: eth1 is down`;
  if (v4.length !== 1 || v4[0]?.local !== t.address || v4[0].prefixlen !== net.prefix)
    return `${t.name}: eth1 has ${v4.map((a) => `${a.local}/${a.prefixlen}`).join(',') || 'no IPv4'}, want ${t.address}/${net.prefix}`;
  const defs = JSON.parse(routes) as Route[];
  if (defs.length !== 1 || defs[0]?.gateway !== net.gateway || defs[0].dev !== 'eth1')
    return `${t.name}: default routes ${JSON.stringify(defs)}, want one via ${net.gateway} dev eth1`;
  return undefined;
};

/** Throws listing the first problems found. */
export const verifyAttached = async (targets: readonly Target[], net: Net): Promise<void> => {
  const ports = await bridgePorts(net.bridge);
  const problems: string[] = [];
  if (ports.length !== targets.length)
    problems.push(`bridge ${net.bridge} has ${ports.length} ports, want ${targets.length}`);
  const down = ports.filter((p) => !p.flags.includes('UP'));
  if (down.length) problems.push(`ports down: ${down.map((p) => p.ifname).join(' ')}`);
  const each = await pool(targets, 4, (t) => checkOne(t, net));
  problems.push(...each.filter((p): p is string => p !== undefined));
  if (problems.length) throw new Error(`wrong state after the run:\n  ${problems.slice(0, 8).join('\n  ')}`);
};

export const verifyClean = async (net: Net): Promise<void> => {
  const ports = await bridgePorts(net.bridge);
  if (ports.length) throw new Error(`teardown left ${ports.length} ports on ${net.bridge}`);
};

/** Deletes every port of the bridge in one `ip -batch` (a veth's peer in the container goes too). */
export const deletePortsCmd = (ports: readonly string[]) => ({
  file: 'ip',
  args: ['-batch', '-'],
  input: ports.map((p) => `link del dev ${p}`).join('\n') + '\n',
});
