/**
 * Snapshot and restore of what a daemon may change in the CURRENT network namespace (the test
 * sandbox): links, `net.*` sysctls and iptables. dockerd, for one, creates docker0, sets
 * net.ipv4.ip_forward=1 (which also flips conf.{all,default}.forwarding and
 * conf.all.accept_redirects), and installs its chains with `FORWARD DROP`; left in place, that
 * policy plus bridge-nf-call-iptables=1 would silently drop bridged traffic in later tests.
 *
 * Reads go through /proc/sys/net and `ip`/`iptables-save` run from this process, so they see
 * this process's netns. Never call restore in the machine's own namespace.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface NetnsState {
  /** Link names, sorted. */
  readonly links: readonly string[];
  /** Writable `net.*` sysctls by /proc/sys path (relative, e.g. `ipv4/ip_forward`). */
  readonly sysctls: ReadonlyMap<string, string>;
  /** Per family ('ip' | 'ip6'), per table, the normalised `iptables-save` section. */
  readonly tables: Readonly<Record<Family, ReadonlyMap<string, string>>>;
}

type Family = 'ip' | 'ip6';
const SAVE: Record<Family, string> = { ip: 'iptables-save', ip6: 'ip6tables-save' };
const RESTORE: Record<Family, string> = { ip: 'iptables-restore', ip6: 'ip6tables-restore' };
const SYS = '/proc/sys/net';

export const listLinks = async (): Promise<string[]> => {
  const { stdout } = await execa('ip', ['-j', 'link', 'show']);
  return (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname).sort();
};

// Synchronous on purpose: ~600 tiny /proc reads cost ~20 ms this way and ~200 ms through the
// libuv thread pool.
const readSysctls = async (): Promise<Map<string, string>> => {
  const out = new Map<string, string>();
  for (const rel of readdirSync(SYS, { recursive: true, encoding: 'utf8' }).sort()) {
    const p = join(SYS, rel);
    try {
      const s = statSync(p);
      // Read-only entries (counters such as nf_conntrack_count) cannot be restored: skip them.
      if (!s.isFile() || (s.mode & 0o200) === 0 || (s.mode & 0o400) === 0) continue;
      out.set(rel, readFileSync(p, 'utf8').trim());
    } catch {
      // write-only (route/flush), refused (stable_secret) or gone with its device: not state
    }
  }
  return Promise.resolve(out);
};

/** `iptables-save` split by table, without comments and counters. */
const readTables = async (family: Family): Promise<Map<string, string>> => {
  const r = await execa(SAVE[family], [], { reject: false });
  const tables = new Map<string, string>();
  if (r.failed) return tables; // no iptables here at all: nothing a daemon could have added either
  let name = '';
  let lines: string[] = [];
  for (const raw of r.stdout.split('\n')) {
    const line = raw.replace(/ \[\d+:\d+\]$/, '').trimEnd();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('*')) [name, lines] = [line.slice(1), [line]];
    else if (line === 'COMMIT') tables.set(name, [...lines, line].join('\n'));
    else lines.push(line);
  }
  // A table with only built-in ACCEPT chains and no rules is the same as no table (nft creates
  // empty ones on first use), so it is dropped to keep comparisons exact.
  for (const [t, text] of tables) if (isPristine(text)) tables.delete(t);
  return tables;
};

const isPristine = (section: string): boolean =>
  section
    .split('\n')
    .slice(1, -1)
    .every((l) => /^:\S+ ACCEPT$/.test(l));

export const captureNetnsState = async (): Promise<NetnsState> => {
  const [links, sysctls, ip, ip6] = await Promise.all([
    listLinks(),
    readSysctls(),
    readTables('ip'),
    readTables('ip6'),
  ]);
  return { links, sysctls, tables: { ip, ip6 } };
};

/** Human-readable differences between two snapshots; empty when equal. */
export const diffNetnsState = (before: NetnsState, after: NetnsState): string[] => {
  const d: string[] = [];
  const bl = new Set(before.links);
  const al = new Set(after.links);
  for (const l of after.links) if (!bl.has(l)) d.push(`link added: ${l}`);
  for (const l of before.links) if (!al.has(l)) d.push(`link removed: ${l}`);
  for (const [k, v] of before.sysctls) {
    const now = after.sysctls.get(k);
    if (now !== undefined && now !== v) d.push(`sysctl net.${k.replaceAll('/', '.')}: ${v} -> ${now}`);
  }
  for (const f of ['ip', 'ip6'] as const) {
    const names = new Set([...before.tables[f].keys(), ...after.tables[f].keys()]);
    for (const t of names) {
      if (before.tables[f].get(t) !== after.tables[f].get(t)) d.push(`${SAVE[f]} table ${t} changed`);
    }
  }
  return d;
};

/**
 * Puts the current netns back to `before`: deletes links made since, writes changed sysctls
 * back, restores changed iptables tables. Throws listing whatever still differs afterwards.
 */
export const restoreNetnsState = async (before: NetnsState): Promise<void> => {
  // Links: one at a time and re-listed, because deleting a veth end removes its peer too.
  const keep = new Set(before.links);
  for (let i = 0; i < 256; i++) {
    const extra = (await listLinks()).find((l) => !keep.has(l));
    if (extra === undefined) break;
    await execa('ip', ['link', 'del', 'dev', extra], { reject: false });
  }

  // Sysctls: ip_forward first, because writing it also rewrites the forwarding and
  // accept_redirects entries; then whatever still differs. Failures show in the final check.
  const writeBack = async (which: (key: string) => boolean): Promise<void> => {
    const now = await readSysctls();
    for (const [k, v] of before.sysctls) {
      if (which(k) && now.has(k) && now.get(k) !== v) await writeFile(join(SYS, k), v).catch(() => undefined);
    }
  };
  await writeBack((k) => k === 'ipv4/ip_forward');
  await writeBack(() => true);

  // iptables: restore only the tables that differ. `-T` limits the restore to that table; a
  // table that did not exist is restored as its built-in chains with ACCEPT and no rules.
  for (const f of ['ip', 'ip6'] as const) {
    const now = await readTables(f);
    for (const t of new Set([...now.keys(), ...before.tables[f].keys()])) {
      const text = now.get(t);
      const want = before.tables[f].get(t) ?? (text === undefined ? undefined : pristineOf(text));
      if (want === undefined || text === want) continue;
      await execa(RESTORE[f], ['-T', t], { input: `${want}\n`, reject: false });
    }
  }

  const left = diffNetnsState(before, await captureNetnsState());
  if (left.length) throw new Error(`netns not restored: ${left.join('; ')}`);
};

/** The empty form of a table: its built-in chains (those with a policy) set to ACCEPT. */
const pristineOf = (section: string): string => {
  const lines = section.split('\n');
  const builtins = lines.filter((l) => /^:\S+ (ACCEPT|DROP|RETURN|QUEUE)$/.test(l));
  return [lines[0], ...builtins.map((l) => l.replace(/ \S+$/, ' ACCEPT')), 'COMMIT'].join('\n');
};
