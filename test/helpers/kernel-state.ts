/**
 * The full state of network namespaces, as the kernel reports it to its own tools — never
 * through pipefitter's observe/, which would only be checking itself. Everything pipefitter may
 * touch is read, per namespace:
 *
 * - links with their addresses (`ip -d -j addr show`: kind and its details, master, MTU, MAC,
 *   alias, flags, port settings, every address with its broadcast, scope, label and flags);
 * - routes of every table, IPv4 and IPv6 (`ip -4|-6 -d -j route show table all`);
 * - policy rules, IPv4 and IPv6 (`ip -4|-6 -j rule show`);
 * - permanent and proxy neighbours (`ip -j neigh show nud permanent`, `… show proxy`);
 * - bridge VLAN tables (`bridge -j vlan show`);
 * - the nftables ruleset (`nft -j list ruleset`, every table: pipefitter's `pf_*`, iptables-nft's);
 * - `iptables-save` and `ip6tables-save`;
 * - every writable sysctl under /proc/sys/net, read from inside the namespace (forwarding,
 *   ip_forward, disable_ipv6, ndisc_notify, accept_ra, arp_*, … global, all, default, per link);
 * - the processes living in it (DHCP clients, announcements);
 * - /etc/netns/NAME/* of a named namespace, and a container's own /etc/resolv.conf.
 *
 * plus, once per snapshot, the namespaces of this run and the files in pipefitter's state
 * directories ($PIPEFITTER_STATE_DIR, $PIPEFITTER_RUN_DIR).
 *
 * What changes without pipefitter is normalised, each for a reason; nothing pipefitter decides:
 * - carrier and its timing: operstate, the LOWER_UP/NO-CARRIER/M-DOWN/DORMANT flags, a route's
 *   `linkdown` flag, a bridge port's STP `state`, DAD's `tentative`/`optimistic`/`dadfailed`;
 * - counters and timers: address lifetimes (only "forever" or not is kept), bridge and port
 *   timers, nftables packet/byte counters, iptables counters, route `expires`;
 * - a down link's qdisc: none (noop) until it was first up, then its default (noqueue), which
 *   stays when it goes down again — bringing a parent up and down again leaves that;
 * - numbers the kernel picks: ifindex, nftables handles, bridge port numbers, and a veth peer
 *   in another namespace, which `ip` names by its ifindex ("if12"): kept as "another namespace";
 * - IPv6 link-local addresses the kernel derives from the MAC (EUI-64, fe80::/64), and the
 *   kernel routes that come with IPv6 on a link (fe80::/64, ff00::/8, local/anycast fe80::):
 *   they appear when the link gets carrier. The MAC itself is compared;
 * - a bridge's MAC (and bridge_id, root_id, designated_* which carry it) and its offload limits
 *   (gso/gro/tso max sizes and segments): the kernel gives a bridge the lowest MAC of its ports
 *   unless one was set, and the smallest limits of its ports; pipefitter sets neither;
 * - neighbours in any state but permanent (and proxy entries): reachable, stale, delay, probe,
 *   failed, incomplete and noarp entries come and go with traffic, not with configuration;
 * - sysctls are compared where both sides have them: one that appears or goes is either a
 *   link's (compared as the link) or a module's that was loaded meanwhile (not namespace state);
 * - processes: by command line, without PIDs; this process, its ancestors and tsx's esbuild
 *   service of this process are not listed. A process that is still exiting (an announcement) is waited for by expectState;
 * - an IPAM file with no allocations equals no file; the times in state files (a recipe's
 *   appliedAt, an allocation's created) are not compared; lock files are not state.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Ns } from './read-back.js';
import { needTools } from './tools.js';

export type { Ns } from './read-back.js';

export interface LinkFull {
  readonly name: string;
  readonly [field: string]: unknown;
}

export interface NsFull {
  readonly links: readonly LinkFull[];
  /** One JSON object per route (both families, every table), sorted. */
  readonly routes: readonly string[];
  readonly rules: readonly string[];
  readonly neighbours: readonly string[];
  readonly vlans: readonly string[];
  readonly nft: readonly string[];
  /** `iptables-save` / `ip6tables-save`, per table, counters and comments dropped. */
  readonly iptables: Readonly<Record<string, string>>;
  /** Writable sysctls under /proc/sys/net, by path relative to it. */
  readonly sysctls: Readonly<Record<string, string>>;
  readonly processes: readonly string[];
  readonly files: Readonly<Record<string, string>>;
}

export interface GlobalState {
  /** Named namespaces of this run (the sandbox itself is not listed). */
  readonly namespaces: readonly string[];
  /** Files in pipefitter's state directories, with their contents (or a marker). */
  readonly stateFiles: Readonly<Record<string, string>>;
}

/** Per namespace in the order asked, and `global`: compare whole snapshots with expectState. */
export type Snapshot = readonly NsFull[] & { readonly global: GlobalState };

const runId = process.env.PF_RUN_ID ?? 'norun';
const SYS = '/proc/sys/net';

const enterPrefix = (ns: Ns): string[] =>
  ns === 'sandbox'
    ? []
    : [
        'nsenter',
        ns.netns !== undefined ? `--net=/run/netns/${ns.netns}` : `--net=/proc/${ns.pid}/ns/net`,
        '--',
      ];

export const nsFile = (ns: Ns): string =>
  ns === 'sandbox'
    ? '/proc/self/ns/net'
    : ns.netns !== undefined
      ? `/run/netns/${ns.netns}`
      : `/proc/${ns.pid}/ns/net`;

export const nsLabel = (ns: Ns): string =>
  ns === 'sandbox' ? 'sandbox' : ns.netns !== undefined ? `netns:${ns.netns}` : `pid:${ns.pid}`;

// One shell per namespace runs every reader, and `ip` reads links, routes, rules and neighbours
// in one process: a process start from node costs ~10-20 ms (more on a loaded machine), a fork
// from this shell a fraction. A reader that fails is named, and the snapshot fails.
const IP_BATCH = [
  'addr show',
  'route show table all',
  'rule show',
  'neigh show nud permanent',
  'neigh show proxy',
];
const reader = (name: string, cmd: string): string =>
  `printf '\\n@@%s\\n' ${name}; ${cmd} || printf '\\n@@failed %s %s\\n' ${name} $?`;
const script = (o: { readonly sysctls: boolean; readonly iptables: boolean }): string =>
  [
    `out=$(printf '%s\\n' ${IP_BATCH.map((c) => `'${c}'`).join(' ')} | ip -d -j -batch -) || { printf '\\n@@failed ip %s\\n@@end\\n' $?; exit 0; }`,
    `printf '\\n@@ip\\n%s\\n' "$out"`,
    reader('rules6', 'ip -6 -j rule show'),
    // VLAN tables only where there is a bridge (a builtin test on what ip printed: no process)
    `case $out in *'"info_kind":"bridge"'*|*'"info_slave_kind":"bridge"'*) ${reader('vlans', 'bridge -j vlan show')};; esac`,
    reader('nft', 'nft -j list ruleset'),
    ...(o.iptables ? [reader('ipt4', 'iptables-save'), reader('ipt6', 'ip6tables-save')] : []),
    // grep exits 2 for the write-only and refused entries it skips (-s): not a failure
    ...(o.sysctls ? [`printf '\\n@@sysctl\\n'; grep -rsH '' ${SYS}`] : []),
    `printf '\\n@@end\\n'`,
  ].join('\n');

// With the nf_tables backend (Debian's default), iptables' rules are tables of the nftables
// ruleset and already read there; iptables-save is read only for the legacy backend.
let legacy: Promise<boolean> | undefined;
const legacyIptables = (): Promise<boolean> =>
  (legacy ??= execa('iptables', ['-V'], { reject: false }).then(
    (r) => !String(r.stdout).includes('nf_tables'),
  ));

const TOOLS = ['nsenter', 'sh', 'ip', 'bridge', 'nft', 'iptables', 'iptables-save', 'ip6tables-save', 'grep'];

const sections = (out: string, where: string): Map<string, string> => {
  const m = new Map<string, string>();
  let name = '';
  let lines: string[] = [];
  const failed: string[] = [];
  for (const line of out.split('\n')) {
    const h = /^@@(\S+)(?: (\S+) (\d+))?$/.exec(line);
    if (!h) {
      lines.push(line);
      continue;
    }
    if (name) m.set(name, lines.join('\n').trim());
    if (h[1] === 'failed') failed.push(`${h[2]} (exit ${h[3]})`);
    [name, lines] = [h[1] ?? '', []];
  }
  if (name !== 'end') throw new Error(`snapshot of ${where}: output cut short:\n${out.slice(-500)}`);
  if (failed.length) throw new Error(`snapshot of ${where}: ${failed.join(', ')} failed`);
  return m;
};

const json = (text: string | undefined): Record<string, unknown>[] =>
  text ? (JSON.parse(text) as Record<string, unknown>[]) : [];

const sorted = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

const drop = (o: Record<string, unknown> | undefined, keys: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o ?? {}).filter(([k]) => !keys.includes(k) && !k.endsWith('_timer')));

/**
 * fe80::/64 with an EUI-64 interface id (…:xxff:fexx:…): what the kernel makes from the MAC. The
 * id's first group is 0 for a MAC 02:00:… (pipefitter's own), and `ip` then prints three groups.
 */
export const isKernelLinkLocal = (addr: string, prefixlen?: number): boolean =>
  /^fe80::(?:[0-9a-f]{1,4}:)?[0-9a-f]{0,2}ff:fe[0-9a-f]{1,2}:[0-9a-f]{1,4}$/i.test(addr) &&
  (prefixlen === undefined || prefixlen === 64);

const CARRIER_FLAGS = new Set(['LOWER_UP', 'NO-CARRIER', 'M-DOWN', 'DORMANT']);
const ADDR_TIMING = ['tentative', 'optimistic', 'dadfailed', 'valid_life_time', 'preferred_life_time'];
const BRIDGE_VOLATILE = [
  'bridge_id',
  'root_id',
  'root_port',
  'root_path_cost',
  'topology_change',
  'topology_change_detected',
];
const PORT_VOLATILE = [
  'state',
  'bridge_id',
  'root_id',
  'id',
  'no',
  'designated_port',
  'designated_cost',
  'designated_bridge',
  'designated_root',
  'topology_change_ack',
  'config_pending',
];

// A bridge takes its MAC and its offload limits from its ports (unless set): kernel rules.
const FOLLOWS_PORTS = Object.fromEntries(
  [
    'address',
    'gso_max_size',
    'gso_max_segs',
    'gro_max_size',
    'tso_max_size',
    'tso_max_segs',
    'gso_ipv4_max_size',
    'gro_ipv4_max_size',
  ].map((k) => [k, '(follows its ports)']),
);

const normLink = (l: Record<string, unknown>): LinkFull => {
  const info = (l.linkinfo ?? {}) as Record<string, unknown>;
  const kind = info.info_kind as string | undefined;
  const addrs = ((l.addr_info ?? []) as Record<string, unknown>[])
    .filter((a) => !(a.family === 'inet6' && isKernelLinkLocal(String(a.local), Number(a.prefixlen))))
    .map((a) =>
      JSON.stringify(
        sorted({
          ...drop(a, ADDR_TIMING),
          forever: a.valid_life_time === 4294967295 && a.preferred_life_time === 4294967295,
        }),
      ),
    )
    .sort();
  const linkinfo =
    l.linkinfo === undefined
      ? undefined
      : sorted({
          ...info,
          ...(info.info_data
            ? { info_data: sorted(drop(info.info_data as Record<string, unknown>, BRIDGE_VOLATILE)) }
            : {}),
          ...(info.info_slave_data
            ? {
                info_slave_data: sorted(drop(info.info_slave_data as Record<string, unknown>, PORT_VOLATILE)),
              }
            : {}),
        });
  const peerElsewhere = typeof l.link === 'string' && /^if\d+$/.test(l.link);
  return sorted({
    ...drop(l, ['ifindex', 'ifname', 'operstate', 'addr_info', 'linkinfo', 'flags', 'link', 'link_index']),
    name: String(l.ifname),
    flags: ((l.flags ?? []) as string[]).filter((f) => !CARRIER_FLAGS.has(f)).sort(),
    ...(l.link === undefined ? {} : { link: peerElsewhere ? '(in another namespace)' : l.link }),
    ...(kind === 'bridge' ? FOLLOWS_PORTS : {}),
    // a link never up has no qdisc yet (noop); up once, it keeps its default (noqueue) when down
    ...(!((l.flags ?? []) as string[]).includes('UP') && (l.qdisc === 'noop' || l.qdisc === 'noqueue')
      ? { qdisc: '(none, or the default of a link that was up)' }
      : {}),
    ...(linkinfo ? { linkinfo } : {}),
    addrs,
  }) as LinkFull;
};

const isLinkLocalRoute = (r: Record<string, unknown>): boolean => {
  const dst = String(r.dst);
  if (r.protocol !== 'kernel') return false;
  return (
    dst === 'fe80::/64' ||
    dst === 'ff00::/8' ||
    (/^fe80:/.test(dst) && (r.type === 'local' || r.type === 'anycast'))
  );
};

const normRoute = (r: Record<string, unknown>): string =>
  JSON.stringify(
    sorted({
      ...drop(r, ['expires', 'flags']),
      flags: ((r.flags ?? []) as string[]).filter((f) => f !== 'linkdown').sort(),
    }),
  );

/** nftables JSON without handles, counters' numbers and the version line. */
const normNft = (text: string | undefined): string[] => {
  const all = (JSON.parse(text || '{"nftables":[]}') as { nftables: Record<string, unknown>[] }).nftables;
  const scrub = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(scrub)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => !['handle', 'packets', 'bytes', 'expires'].includes(k))
              .map(([k, x]) => [k, scrub(x)]),
          )
        : v;
  return all.filter((o) => !('metainfo' in o)).map((o) => JSON.stringify(scrub(o)));
};

/** `iptables-save` by table, counters and comments dropped; an untouched table is no table. */
export const iptablesTables = (text: string | undefined): Record<string, string> => {
  const tables: Record<string, string> = {};
  let name = '';
  let lines: string[] = [];
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.replace(/ \[\d+:\d+\]$/, '').trimEnd();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('*')) [name, lines] = [line.slice(1), [line]];
    else if (line === 'COMMIT') {
      const pristine = lines.slice(1).every((l) => /^:\S+ ACCEPT$/.test(l));
      if (!pristine) tables[name] = [...lines, line].join('\n');
    } else lines.push(line);
  }
  return tables;
};

// Which sysctls are writable, from this process's own /proc/sys/net: the same in every
// namespace; a link's entries are looked up as the `default` ones.
let writable: Set<string> | undefined;
const writableKey = (rel: string): string =>
  rel.replace(/^(ipv[46]\/(?:conf|neigh))\/[^/]+\//, '$1/default/');
const isWritable = (rel: string): boolean => {
  if (!writable) {
    writable = new Set();
    for (const r of readdirSync(SYS, { recursive: true, encoding: 'utf8' })) {
      try {
        const s = statSync(join(SYS, r));
        if (s.isFile() && (s.mode & 0o200) !== 0 && (s.mode & 0o400) !== 0) writable.add(r);
      } catch {
        // gone meanwhile
      }
    }
  }
  return writable.has(writableKey(rel)) || writable.has(rel);
};

const parseSysctls = (text: string | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  let last = '';
  for (const line of (text ?? '').split('\n')) {
    const m = /^\/proc\/sys\/net\/([^:]+):(.*)$/.exec(line);
    if (m) {
      last = m[1] as string;
      if (isWritable(last)) out[last] = (m[2] as string).trim();
    } else if (last && out[last] !== undefined && line) out[last] = `${out[last]}\n${line.trim()}`;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
};

const filesUnder = async (
  dir: string,
  out: Record<string, string>,
  mode: (p: string) => 'content' | 'name',
): Promise<void> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isDirectory()) continue;
    const p = join(e.parentPath ?? e.path, e.name);
    if (/\.lock(\/|$)/.test(p)) continue;
    out[p] =
      mode(p) === 'name'
        ? '(present)'
        : await readFile(p, 'utf8').catch((err: Error) => `(unreadable: ${err.message})`);
  }
};

const nsFiles = async (ns: Ns): Promise<Record<string, string>> => {
  const out: Record<string, string> = {};
  if (ns === 'sandbox') return out;
  if (ns.netns !== undefined) await filesUnder(`/etc/netns/${ns.netns}`, out, () => 'content');
  else {
    // a container with its own root: its resolv.conf (--dhcp-dns writes it)
    const [root, mine] = await Promise.all([stat(`/proc/${ns.pid}/root/`).catch(() => undefined), stat('/')]);
    if (root && (root.dev !== mine.dev || root.ino !== mine.ino))
      out['/etc/resolv.conf'] = await readFile(`/proc/${ns.pid}/root/etc/resolv.conf`, 'utf8').catch(
        () => '(none)',
      );
  }
  return out;
};

const parentOf = async (pid: number): Promise<number> => {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
};

/** This process and its ancestors: the test runner itself, never state. */
const ancestors = async (): Promise<Set<number>> => {
  const out = new Set<number>();
  for (let pid = process.pid; pid > 1; pid = await parentOf(pid)) out.add(pid);
  return out;
};

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly text: string;
}

/**
 * The live processes in each of the namespace files `files` (by device and inode), except this
 * process, its ancestors and its command starters.
 */
export const processesIn = async (files: readonly string[]): Promise<ProcessInfo[][]> => {
  const keys = await Promise.all(
    files.map(async (f) => {
      const s = await stat(f);
      return `${s.dev}:${s.ino}`;
    }),
  );
  const skip = await ancestors();
  const out: ProcessInfo[][] = files.map(() => []);
  for (const e of await readdir('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || skip.has(pid)) continue;
    const s = await stat(`/proc/${pid}/ns/net`).catch(() => undefined);
    if (!s) continue;
    const at = keys.indexOf(`${s.dev}:${s.ino}`);
    if (at < 0) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))
      .split('\0')
      .filter(Boolean);
    if (cmdline.length === 0) continue; // exiting, or a kernel thread
    const ppid = await parentOf(pid);
    // tsx's esbuild service of this very process, started when it first loads a .ts module
    // lazily (a dynamic import in the middle of a test), and living as long as it does
    if (ppid === process.pid && /\/esbuild$/.test(cmdline[0] ?? '') && cmdline.includes('--ping')) continue;
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => '?');
    out[at]?.push({ pid, ppid, text: `${comm} (${exe}): ${cmdline.join(' ')}` });
  }
  return out;
};

/** This process's own namespace: its sysctls without a process. */
const ownSysctls = (): string => {
  const lines: string[] = [];
  for (const rel of readdirSync(SYS, { recursive: true, encoding: 'utf8' }))
    if (isWritable(rel))
      try {
        lines.push(`${SYS}/${rel}:${readFileSync(join(SYS, rel), 'utf8').trim()}`);
      } catch {
        // refused (stable_secret) or gone with its device
      }
  return lines.join('\n');
};

const readNs = async (ns: Ns, processes: readonly ProcessInfo[]): Promise<NsFull> => {
  const own = ns === 'sandbox';
  const argv = [...enterPrefix(ns), 'sh', '-c', script({ sysctls: !own, iptables: await legacyIptables() })];
  const r = await execa(argv[0] as string, argv.slice(1), { reject: false, stripFinalNewline: false });
  if (r.exitCode !== 0)
    throw new Error(
      `snapshot of ${nsLabel(ns)}: ${argv.slice(0, 3).join(' ')} … exited ${r.exitCode}: ${r.stderr}`,
    );
  const s = sections(r.stdout, nsLabel(ns));
  const batch = (s.get('ip') ?? '').split('\n').filter((l) => l.trim());
  if (batch.length !== IP_BATCH.length)
    throw new Error(
      `snapshot of ${nsLabel(ns)}: ip -batch printed ${batch.length} answers for ${IP_BATCH.length} commands`,
    );
  const [links, routes, rules4, neigh, proxy] = batch.map(json);
  const rules = [
    ...(rules4 ?? []).map((x) => ({ family: 4, ...x })),
    ...json(s.get('rules6')).map((x) => ({ family: 6, ...x })),
  ]
    .map((x) => JSON.stringify(sorted(x)))
    .sort();
  const vlans = json(s.get('vlans'))
    .flatMap((p) =>
      ((p.vlans ?? []) as Record<string, unknown>[]).map(
        (v) =>
          `${String(p.ifname)} vlan ${String(v.vlan)}${typeof v.vlanEnd === 'number' ? `-${v.vlanEnd}` : ''} ${((v.flags ?? []) as string[]).sort().join(',')}`,
      ),
    )
    .sort();
  return {
    links: (links ?? []).map(normLink).sort((a, b) => a.name.localeCompare(b.name)),
    routes: (routes ?? [])
      .filter((x) => !isLinkLocalRoute(x))
      .map(normRoute)
      .sort(),
    rules,
    neighbours: [...(neigh ?? []), ...(proxy ?? [])].map((x) => JSON.stringify(sorted(x))).sort(),
    vlans,
    nft: normNft(s.get('nft')),
    iptables: {
      ...Object.fromEntries(Object.entries(iptablesTables(s.get('ipt4'))).map(([t, x]) => [`ip ${t}`, x])),
      ...Object.fromEntries(Object.entries(iptablesTables(s.get('ipt6'))).map(([t, x]) => [`ip6 ${t}`, x])),
    },
    sysctls: parseSysctls(own ? ownSysctls() : s.get('sysctl')),
    processes: processes.map((p) => p.text).sort(),
    files: await nsFiles(ns),
  };
};

/** pipefitter's state directories for this run: $PIPEFITTER_STATE_DIR and $PIPEFITTER_RUN_DIR. */
export const stateDirs = (): string[] =>
  [process.env.PIPEFITTER_STATE_DIR, process.env.PIPEFITTER_RUN_DIR].filter((d): d is string => !!d);

export const readGlobal = async (): Promise<GlobalState> => {
  const namespaces = (await readdir('/run/netns').catch(() => [] as string[]))
    .filter((n) => n.startsWith(`pf-${runId}-`) && n !== process.env.PF_SANDBOX)
    .sort();
  const stateFiles: Record<string, string> = {};
  for (const d of stateDirs())
    // a DHCP client's files (its log, events) change while it runs: their presence is the state
    await filesUnder(d, stateFiles, (p) => (p.includes('/dhcp/') ? 'name' : 'content'));
  for (const [p, text] of Object.entries(stateFiles)) {
    // the host lock's file stays after the first changing run, by design (state/host-lock.ts)
    if (p.endsWith('/host.lock')) delete stateFiles[p];
    // attachment records outlive their targets by design (a container killed without a detach
    // keeps its record until `watch` sees it gone): not a leftover of a test. The watch and
    // state/attachments tests assert on them in state directories of their own.
    else if (/\/attachments\/[^/]+$/.test(p)) delete stateFiles[p];
    else if (p.endsWith('/ipam/allocations.json') && /"allocations":\s*\[\s*\]/.test(text))
      delete stateFiles[p];
    // when it was written is not state: a recipe applied again, an address allocated again
    else if (p.endsWith('.json'))
      stateFiles[p] = text.replace(/^(\s*"(?:appliedAt|created)": )"[^"]*"/gm, '$1"(time)"');
  }
  return {
    namespaces,
    stateFiles: Object.fromEntries(Object.entries(stateFiles).sort(([a], [b]) => a.localeCompare(b))),
  };
};

/** The full state of `spaces` (in that order) and of this run's namespaces and state files. */
export const fullSnapshot = async (spaces: readonly Ns[]): Promise<Snapshot> => {
  await needTools(...TOOLS);
  // processes first: the readers started below are processes too
  const procs = await processesIn(spaces.map(nsFile));
  const [states, global] = await Promise.all([
    Promise.all(spaces.map((ns, i) => readNs(ns, procs[i] ?? []))),
    readGlobal(),
  ]);
  return Object.assign(states, { global });
};

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

const diffLists = (
  where: string,
  what: string,
  a: readonly string[],
  b: readonly string[],
  out: string[],
): void => {
  const bs = new Set(b);
  const as = new Set(a);
  for (const x of b) if (!as.has(x)) out.push(`${where}: ${what} added: ${x}`);
  for (const x of a) if (!bs.has(x)) out.push(`${where}: ${what} removed: ${x}`);
};

const diffMaps = (
  where: string,
  what: string,
  a: Readonly<Record<string, unknown>>,
  b: Readonly<Record<string, unknown>>,
  out: string[],
  onlyCommon = false,
): void => {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const [x, y] = [a[k], b[k]];
    if (x === undefined || y === undefined) {
      if (onlyCommon) continue;
      out.push(`${where}: ${what} ${k} ${x === undefined ? `added: ${show(y)}` : 'removed'}`);
    } else if (show(x) !== show(y)) out.push(`${where}: ${what} ${k}: ${show(x)} -> ${show(y)}`);
  }
};

/** What differs between two snapshots of the same spaces, one readable line each; [] when equal. */
export const diffSnapshots = (before: Snapshot, after: Snapshot, labels?: readonly string[]): string[] => {
  const out: string[] = [];
  before.forEach((b, i) => {
    const a = after[i];
    const where = labels?.[i] ?? `space ${i}`;
    if (!a) return void out.push(`${where}: missing from the second snapshot`);
    const byName = (s: NsFull) => new Map(s.links.map((l) => [l.name, l]));
    const [bl, al] = [byName(b), byName(a)];
    for (const [name, l] of al)
      if (!bl.has(name)) out.push(`${where}: link added: ${name} ${JSON.stringify(l)}`);
    for (const [name] of bl) if (!al.has(name)) out.push(`${where}: link removed: ${name}`);
    for (const [name, l] of bl) {
      const now = al.get(name);
      if (now) diffMaps(where, `link ${name}`, l, now, out);
    }
    diffLists(where, 'route', b.routes, a.routes, out);
    diffLists(where, 'rule', b.rules, a.rules, out);
    diffLists(where, 'neighbour', b.neighbours, a.neighbours, out);
    diffLists(where, 'bridge vlan', b.vlans, a.vlans, out);
    diffLists(where, 'nftables', b.nft, a.nft, out);
    diffMaps(where, 'iptables table', b.iptables, a.iptables, out);
    diffMaps(where, 'sysctl', b.sysctls, a.sysctls, out, true);
    diffLists(where, 'process', b.processes, a.processes, out);
    diffMaps(where, 'file', b.files, a.files, out);
  });
  diffLists('this run', 'namespace', before.global.namespaces, after.global.namespaces, out);
  diffMaps('pipefitter state', 'file', before.global.stateFiles, after.global.stateFiles, out);
  return out;
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Assert that `spaces` are as in `before` (a fullSnapshot of the same spaces), listing every
 * difference. A difference in processes alone is read again for up to 2 s: an announcement
 * pipefitter does not wait for, or a DHCP client stopping, may still be exiting.
 */
export const expectState = async (
  spaces: readonly Ns[],
  before: Snapshot,
  message: string,
): Promise<void> => {
  const labels = spaces.map(nsLabel);
  let diff = diffSnapshots(before, await fullSnapshot(spaces), labels);
  for (let i = 0; i < 20 && diff.length && diff.every((d) => d.includes(': process ')); i++) {
    await sleep(100);
    diff = diffSnapshots(before, await fullSnapshot(spaces), labels);
  }
  if (diff.length) assert.fail(`${message}; what differs:\n  ${diff.join('\n  ')}`);
};
