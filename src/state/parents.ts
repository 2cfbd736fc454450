/**
 * Host interfaces pipefitter brought up for a macvlan, ipvlan or VLAN on them (pipework brings
 * a parent up; a child of a down parent has no carrier). The kernel keeps no record of who set
 * a link up, and the attachments that need it live in other namespaces, out of sight of a
 * later detach; so this file remembers, per parent, the attachments on it. The last one's
 * detach takes the parent down again. A record whose ifindex differs from the interface's is
 * of an earlier device of that name and is ignored.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { PipefitterError } from '../errors.js';
import type { ParentUpRecord } from '../model/observed.js';
import type { StateRecord } from '../model/step.js';
import { stateRoot } from '../paths.js';
import { writeFileAtomic } from './atomic.js';
import { BadState as Bad, isObject, readStateFile } from './state-file.js';

const dir = (): string => `${stateRoot()}/parents`;
// interface names cannot hold "/", but may hold characters a file name should not start with
const fileOf = (parent: string): string => `${dir()}/${encodeURIComponent(parent)}.json`;

interface FileBody {
  readonly version: 1;
  readonly parent: string;
  readonly ifindex: number;
  readonly users: readonly string[];
}

/**
 * Every field checked, as the other state files are: a record read wrong would take a parent
 * down under someone, or leave one up forever.
 */
const checkBody = (data: unknown, file: string): FileBody => {
  if (!isObject(data)) throw new Bad('expected an object { "version": 1, "parent", "ifindex", "users" }');
  if (data.version !== 1) throw new Bad(`version ${JSON.stringify(data.version)}: expected 1`);
  if (typeof data.parent !== 'string' || data.parent === '')
    throw new Bad('parent must be an interface name');
  if (`${encodeURIComponent(data.parent)}.json` !== file)
    throw new Bad(`parent ${JSON.stringify(data.parent)} is not the interface its file name says`);
  if (!Number.isSafeInteger(data.ifindex) || (data.ifindex as number) <= 0)
    throw new Bad('ifindex must be a positive whole number');
  if (!Array.isArray(data.users) || data.users.some((u) => typeof u !== 'string' || u === ''))
    throw new Bad('users must be a list of strings');
  return { version: 1, parent: data.parent, ifindex: data.ifindex as number, users: data.users as string[] };
};

/**
 * The records, by parent. No directory, or no file, is no record; a file that cannot be read
 * or does not parse refuses (E_STATE_CORRUPT, exit 2) before anything is changed, as every
 * state file does (state-file.ts) — never read as empty, which would leave that parent up for good.
 */
export const readParentRecords = async (): Promise<Map<string, ParentUpRecord>> => {
  const out = new Map<string, ParentUpRecord>();
  let names: string[];
  try {
    names = await readdir(dir());
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code === 'ENOENT') return out;
    throw new PipefitterError({
      code: 'E_STATE_CORRUPT',
      message: `${dir()}: cannot read the record of host interfaces pipefitter brought up (${(e as Error).message})`,
      hint: 'run as root, or set PIPEFITTER_STATE_DIR to the state directory pipefitter uses',
      cause: e,
    });
  }
  for (const n of names.sort()) {
    // not the temporary files of an atomic write (.NAME.PID.RANDOM.tmp)
    if (!n.endsWith('.json')) continue;
    // one removed since it was listed (by a detach, when this run holds no lock) is no record
    const body = await readStateFile(
      `${dir()}/${n}`,
      'record of a host interface pipefitter brought up',
      (data) => checkBody(data, n),
      'then the last detach from that interface leaves it up (take it down yourself once nothing uses it)',
    );
    if (body) out.set(body.parent, { ifindex: body.ifindex, users: body.users });
  }
  return out;
};

/** Apply a plan's records: add or remove users; a parent with none left loses its file. */
export const commitRecords = async (records: readonly StateRecord[]): Promise<void> => {
  if (records.length === 0) return;
  const current = await readParentRecords();
  const touched = new Set<string>();
  for (const r of records) {
    const now = current.get(r.parent);
    const users = now && now.ifindex === r.ifindex ? [...now.users] : [];
    const next = r.op === 'add' ? [...new Set([...users, r.user])] : users.filter((u) => u !== r.user);
    current.set(r.parent, { ifindex: r.ifindex, users: next });
    touched.add(r.parent);
  }
  for (const parent of touched) {
    const rec = current.get(parent)!;
    if (rec.users.length === 0) {
      await rm(fileOf(parent), { force: true });
      continue;
    }
    await mkdir(dir(), { recursive: true, mode: 0o700 });
    const body: FileBody = { version: 1, parent, ifindex: rec.ifindex, users: rec.users };
    await writeFileAtomic(fileOf(parent), JSON.stringify(body) + '\n');
  }
};
