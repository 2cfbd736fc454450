/**
 * Read kernel state straight from `ip -j` (not through pipefitter's observe/, which would only
 * be checking itself) and normalise it for comparison.
 */
import { execa } from 'execa';
import { needTools } from './tools.js';

export type Ns = { netns?: string; pid?: number } | 'sandbox';

const prefix = (ns: Ns): string[] =>
  ns === 'sandbox'
    ? []
    : ns.netns !== undefined
      ? ['nsenter', `--net=/run/netns/${ns.netns}`, '--']
      : ['nsenter', `--net=/proc/${ns.pid}/ns/net`, '--'];

export const ipJson = async (ns: Ns, args: string[]): Promise<unknown[]> => {
  const argv = [...prefix(ns), 'ip', '-j', ...args];
  const { stdout } = await execa(argv[0] as string, argv.slice(1));
  return stdout.trim() ? (JSON.parse(stdout) as unknown[]) : [];
};

export interface LinkState {
  name: string;
  kind?: string;
  up: boolean;
  mtu: number;
  mac: string;
  master?: string;
  alias?: string;
  addrs: string[];
}

export interface NsState {
  links: LinkState[];
  routes: string[];
}

type RawLink = {
  ifname: string;
  flags?: string[];
  mtu: number;
  address?: string;
  master?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
};
type RawRoute = Record<string, unknown> & { dst: string; table?: string };

/** Links with addresses, and main-table routes, sorted: equal snapshots mean equal state. */
export const readState = async (ns: Ns): Promise<NsState> => {
  const links = (await ipJson(ns, ['-d', 'addr', 'show'])) as RawLink[];
  const routes = (await ipJson(ns, ['-d', 'route', 'show', 'table', 'all'])) as RawRoute[];
  return {
    links: links
      .map((l) => ({
        name: l.ifname,
        ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
        up: (l.flags ?? []).includes('UP'),
        mtu: l.mtu,
        mac: l.address ?? '',
        ...(l.master ? { master: l.master } : {}),
        ...(l.ifalias ? { alias: l.ifalias } : {}),
        addrs: (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort(),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    routes: routes
      .filter((r) => r.table === undefined || r.table === 'main')
      .map((r) =>
        JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)))),
      )
      .sort(),
  };
};

/** Each IPv4 address of `dev` with the broadcast address it carries ('' when none), e.g. {'192.0.2.10/24': '192.0.2.255'}. */
export const broadcasts = async (ns: Ns, dev: string): Promise<Record<string, string>> => {
  const [l] = (await ipJson(ns, ['addr', 'show', 'dev', dev])) as RawLink[];
  return Object.fromEntries(
    (l?.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => [`${a.local}/${a.prefixlen}`, (a as { broadcast?: string }).broadcast ?? '']),
  );
};

/** The kernel's flags of a link: up, and carrier (LOWER_UP). */
export const linkFlags = async (ns: Ns, dev: string): Promise<{ up: boolean; carrier: boolean }> => {
  const [l] = (await ipJson(ns, ['link', 'show', 'dev', dev])) as RawLink[];
  const flags = l?.flags ?? [];
  return { up: flags.includes('UP'), carrier: flags.includes('LOWER_UP') };
};

export const link = (s: NsState, name: string): LinkState | undefined => s.links.find((l) => l.name === name);

/** Main-table routes parsed back, for assertions. */
export const routes = (s: NsState): RawRoute[] => s.routes.map((r) => JSON.parse(r) as RawRoute);

/** Does a process in ns see `addr` answer? (busybox ping: one packet, 2 s at most, up to three tries) */
export const ping = async (ns: Ns, addr: string): Promise<boolean> => {
  await needTools('busybox');
  const argv = [...prefix(ns), 'busybox', 'ping', '-c', '1', '-W', '2', addr];
  // up to three tries: on a loaded machine one echo (and the neighbour lookups before it, over
  // two hops) can take longer than its wait; a path that is not there fails all three
  for (let i = 0; i < 3; i++)
    if ((await execa(argv[0] as string, argv.slice(1), { reject: false })).exitCode === 0) return true;
  return false;
};
