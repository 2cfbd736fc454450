/**
 * What this kernel supports, probed in a throwaway network namespace (`unshare --net`): the
 * links made there vanish with it, so probing changes nothing. One `ip -force -batch -` for
 * every link kind (each failed line names a missing feature), one `tc` batch for qdiscs.
 */
import { access, readFile } from 'node:fs/promises';
import { HOST } from '../model/netns.js';
import type { Feature } from '../model/features.js';
import { FEATURES, PROBE_BASE } from '../model/features.js';
import type { Runner } from '../exec/runner.js';
import { missingToolHint } from '../tools.js';

export interface ProbeResult {
  readonly supported: ReadonlyMap<string, boolean>;
  /** Set when the probe itself could not run (not root, no unshare). */
  readonly error?: string | undefined;
}

/**
 * The lines `ip -force -batch -` (or tc's) reported as failed ("Command failed -:N", 1-based).
 * Good enough for a probe, which changes nothing: a line whose arguments the tool rejects
 * outright ends the whole batch without naming it, and the kinds after it then read as
 * supported — the link they make would fail later with the kernel's own words.
 */
const failedLines = (stderr: string): number[] =>
  [...stderr.matchAll(/^Command failed -:(\d+)\s*$/gm)].map((m) => Number(m[1]) - 1);

const probeBatch = async (
  runner: Runner,
  tool: 'ip' | 'tc',
  lines: readonly { id: string; line: string }[],
): Promise<Map<string, boolean> | string> => {
  const out = new Map<string, boolean>();
  if (lines.length === 0) return out;
  const r = await runner.run(['unshare', '--net', '--', tool, '-force', '-batch', '-'], {
    netns: HOST,
    input: lines.map((l) => l.line).join('\n') + '\n',
  });
  if (r.failed && r.reason === 'tool-missing') return missingToolHint(r.missing ?? [tool]);
  if (r.failed && r.reason === 'perm') return 'probing needs root';
  const failed = new Set(failedLines(r.stderr).map((i) => lines[i]?.id));
  for (const l of lines) out.set(l.id, out.get(l.id) !== false && !failed.has(l.id));
  return out;
};

/**
 * Probe the given features (all when omitted).
 * @example (await probeKernel(runner, ['vlan'])).supported.get('vlan')
 */
export const probeKernel = async (runner: Runner, ids?: readonly string[]): Promise<ProbeResult> => {
  const wanted = FEATURES.filter((f) => !ids || ids.includes(f.id));
  const ipLines = [
    ...PROBE_BASE.map((line, i) => ({ id: i === 1 ? 'bridge' : 'veth', line })),
    ...wanted.flatMap((f) => (f.ipProbe ?? []).map((line) => ({ id: f.id, line }))),
  ];
  const tcLines = wanted.flatMap((f) => (f.tcProbe ?? []).map((line) => ({ id: f.id, line })));
  const [ip, tc] = await Promise.all([probeBatch(runner, 'ip', ipLines), probeBatch(runner, 'tc', tcLines)]);
  if (typeof ip === 'string') return { supported: new Map(), error: ip };
  const supported = new Map([...ip, ...(typeof tc === 'string' ? [] : tc)]);
  return { supported: new Map([...supported].filter(([id]) => wanted.some((f) => f.id === id))) };
};

/**
 * Open vSwitch's kernel datapath: loaded (or built in), a module there is to load (ovs-vswitchd
 * loads it when it starts), or neither.
 */
export const openvswitchModule = async (): Promise<'loaded' | 'loadable' | 'missing'> => {
  if (
    await access('/sys/module/openvswitch').then(
      () => true,
      () => false,
    )
  )
    return 'loaded';
  const release = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '')).trim();
  const dir = `/lib/modules/${release}`;
  // built in without parameters, it has no /sys/module entry; modules.builtin names it
  const builtin = await readFile(`${dir}/modules.builtin`, 'utf8').catch(() => '');
  if (/\/openvswitch\.ko$/m.test(builtin)) return 'loaded';
  const dep = await readFile(`${dir}/modules.dep`, 'utf8').catch(() => '');
  return /\/openvswitch\.ko/.test(dep) ? 'loadable' : 'missing';
};

export const fixFor = (f: Feature): string =>
  `the kernel needs ${f.option}${f.module ? ` (module ${f.module}: modprobe ${f.module})` : ''}; use a kernel built with it`;

/** A packet filter tried in a throwaway namespace: what failed, and the fix for it. */
export interface FilterProbe {
  readonly id: 'nftables' | 'iptables';
  readonly ok: boolean;
  readonly detail?: string | undefined;
  readonly fix?: string | undefined;
}

const FILTERS = [
  {
    id: 'nftables',
    argv: ['nft', 'add', 'table', 'ip', 'pfprobe'],
    kernel: 'CONFIG_NF_TABLES',
  },
  {
    id: 'iptables',
    argv: ['iptables', '-w', '-S'],
    kernel: 'CONFIG_IP_NF_IPTABLES or nft_compat',
  },
] as const;

/** nftables and iptables, each used once in a namespace that vanishes with the probe. */
export const probeFilters = (runner: Runner): Promise<FilterProbe[]> =>
  Promise.all(
    FILTERS.map(async (f): Promise<FilterProbe> => {
      const r = await runner.run(['unshare', '--net', '--', ...f.argv], { netns: HOST });
      if (!r.failed) return { id: f.id, ok: true };
      return {
        id: f.id,
        ok: false,
        detail: r.stderr.trim().split('\n')[0],
        fix:
          r.reason === 'tool-missing'
            ? missingToolHint(r.missing ?? [f.argv[0]])
            : `the kernel needs ${f.kernel}`,
      };
    }),
  );
