/**
 * Open vSwitch: its bridges and their ports, in one ovs-vsctl call (only when OVS bridges exist),
 * and whether it can be used at all (installed, its database answering, the kernel datapath).
 */
import type { Runner } from '../exec/runner.js';
import type { OvsState } from '../model/features.js';
import { HOST } from '../model/netns.js';
import { openvswitchModule } from './kernel.js';

type Row = unknown[];
interface Table {
  headings: string[];
  data: Row[];
}

const uuidsOf = (cell: unknown): string[] => {
  // ["uuid", "…"] or ["set", [["uuid", "…"], …]]
  if (!Array.isArray(cell)) return [];
  if (cell[0] === 'uuid') return [String(cell[1])];
  if (cell[0] === 'set' && Array.isArray(cell[1])) return (cell[1] as unknown[]).flatMap(uuidsOf);
  return [];
};

export const parseOvs = (text: string): Map<string, string[]> => {
  // two JSON tables, one per line: bridges (name, ports), then ports (_uuid, name)
  const [bridges, ports] = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Table);
  const portName = new Map<string, string>();
  for (const r of ports?.data ?? []) {
    const id = uuidsOf(r[0])[0];
    if (id) portName.set(id, String(r[1]));
  }
  const out = new Map<string, string[]>();
  for (const r of bridges?.data ?? []) {
    const name = String(r[0]);
    out.set(
      name,
      uuidsOf(r[1])
        .map((u) => portName.get(u) ?? u)
        .filter((p) => p !== name),
    );
  }
  return out;
};

export const observeOvs = async (runner: Runner): Promise<Map<string, string[]> | undefined> => {
  const r = await runner.run(
    [
      'ovs-vsctl',
      '--timeout=10',
      '--format=json',
      '--columns=name,ports',
      'list',
      'bridge',
      '--',
      '--columns=_uuid,name',
      'list',
      'port',
    ],
    { netns: HOST },
  );
  return r.failed ? undefined : parseOvs(r.stdout);
};

/** The database ovs-vsctl uses without --db: $OVS_RUNDIR/db.sock (ovs-vsctl's own rule). */
export const ovsDatabase = (): string => `unix:${process.env.OVS_RUNDIR ?? '/var/run/openvswitch'}/db.sock`;

/**
 * Can Open vSwitch be used here? One `ovs-vsctl --timeout=2 show` (does its database answer?)
 * and a look for the kernel module; nothing is changed.
 * @example ovsProblems(await probeOvs(runner)) // [] when usable
 */
export const probeOvs = async (runner: Runner): Promise<OvsState> => {
  const database = ovsDatabase();
  const [r, module] = await Promise.all([
    runner.run(['ovs-vsctl', '--timeout=2', 'show'], { netns: HOST, timeoutMs: 5_000 }),
    openvswitchModule(),
  ]);
  if (r.failed && r.reason === 'tool-missing') return { installed: false, database, module };
  const said = (r.stderr.trim().split('\n')[0] ?? '').replace(/^ovs-vsctl: /, '');
  return {
    installed: true,
    database,
    databaseUp: !r.failed,
    ...(r.failed
      ? {
          databaseError:
            (said.startsWith(`${database}: `) ? said.slice(database.length + 2) : said) || r.reason,
        }
      : {}),
    module,
  };
};
