/**
 * What this machine can do: kernel features (probed in a throwaway namespace), Open vSwitch,
 * packet filtering, and the tools pipefitter calls — each missing one with its fix.
 */
import { release } from 'node:os';
import { FEATURES } from '../model/features.js';
import { fixFor, openvswitchModule, probeFilters, probeKernel } from '../observe/kernel.js';
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
}

export interface DoctorReport {
  readonly kernel: string;
  readonly items: readonly DoctorItem[];
}

export const doctor = async (opts: RunOptions = {}): Promise<DoctorReport> => {
  const runner = runnerOf(opts);
  const [probe, ovs] = await Promise.all([probeKernel(runner), openvswitchModule()]);
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
  items.push({
    id: 'openvswitch',
    what: 'Open vSwitch (kernel datapath)',
    ok: ovs !== 'missing',
    required: false,
    detail: ovs,
    fix: ovs === 'missing' ? 'the kernel needs CONFIG_OPENVSWITCH (module openvswitch)' : undefined,
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
