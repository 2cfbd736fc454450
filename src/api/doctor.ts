/**
 * What this machine can do: kernel features (probed in a throwaway namespace), Open vSwitch,
 * packet filtering, and the tools pipefitter calls — each missing one with its fix.
 */
import { release } from 'node:os';
import type { OvsState } from '../model/features.js';
import { FEATURES, OVS_PACKAGE, ovsProblems } from '../model/features.js';
import { fixFor, probeFilters, probeKernel } from '../observe/kernel.js';
import { probeOvs } from '../observe/ovs.js';
import { locate } from '../observe/tools.js';
import { missingToolHint, runtimeTools } from '../tools.js';
import type { RunOptions } from './engine.js';
import { runnerOf } from './engine.js';

export interface DoctorItem {
  readonly id: string;
  readonly what: string;
  readonly ok: boolean;
  /** Needed for pipefitter to work at all, or only for some commands. */
  readonly required: boolean;
  readonly detail?: string | undefined;
  readonly fix?: string | undefined;
  /** What was found, one fact each (Open vSwitch: the tool, its database, the kernel module). */
  readonly facts?: readonly string[] | undefined;
}

export interface DoctorReport {
  readonly kernel: string;
  readonly items: readonly DoctorItem[];
}

/** Open vSwitch is usable only with ovs-vsctl, its database answering and the kernel datapath. */
const ovsItem = (s: OvsState): DoctorItem => {
  const problems = ovsProblems(s);
  const facts = [
    s.installed ? 'ovs-vsctl installed' : `ovs-vsctl not installed (package ${OVS_PACKAGE})`,
    s.databaseUp === undefined
      ? `database ${s.database} not checked`
      : s.databaseUp
        ? `database ${s.database} answers`
        : `database ${s.database} cannot be reached${s.databaseError ? ` (${s.databaseError})` : ''}`,
    `kernel module openvswitch ${s.module}`,
  ];
  return {
    id: 'openvswitch',
    what: 'Open vSwitch (--ovs, ovs* bridges)',
    ok: problems.length === 0,
    required: false,
    detail: facts.join('; '),
    facts,
    fix: problems.length ? problems.map((p) => p.fix).join('; and ') : undefined,
  };
};

export const doctor = async (opts: RunOptions = {}): Promise<DoctorReport> => {
  const runner = runnerOf(opts);
  const [probe, ovs] = await Promise.all([probeKernel(runner), probeOvs(runner)]);
  const items: DoctorItem[] = FEATURES.map((f) => {
    const ok = probe.supported.get(f.id);
    return {
      id: f.id,
      what: f.what,
      ok: ok === true,
      required: f.id === 'veth' || f.id === 'bridge',
      detail: ok === undefined ? (probe.error ?? 'not checked') : undefined,
      fix: ok === true ? undefined : fixFor(f),
    };
  });
  items.push(ovsItem(ovs));
  // how namespaces are read and changed: in-process netlink, or ip processes (asked, or fallen back)
  const b = runner.backend;
  items.push({
    id: 'backend',
    what: `backend: ${b?.name ?? 'ip'}`,
    ok: b?.fallback === undefined,
    required: false,
    detail: b?.why ?? 'a runner without a backend choice (ip)',
    fix: b?.fallback ? 'install pipefitter with its optional koffi package for this platform' : undefined,
  });
  for (const f of await probeFilters(runner)) items.push({ ...f, what: f.id, required: false });
  // the tools pipefitter starts (src/tools.json), but not those every Debian system has
  for (const t of runtimeTools().filter((x) => !x.base)) {
    // installed, even when only in an sbin directory a non-root PATH lacks
    const ok = (await locate(t.cmd)) !== undefined;
    items.push({
      id: `tool:${t.cmd}`,
      what: `${t.cmd} (${t.feature ?? ''})`,
      ok,
      required: t.required === true,
      fix: ok ? undefined : missingToolHint([t.cmd]),
    });
  }
  return { kernel: release(), items };
};
