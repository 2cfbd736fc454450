/**
 * Host interfaces pipefitter brought up for a macvlan, ipvlan or VLAN on them (pipework brings
 * a parent up; a child of a down parent has no carrier). The kernel keeps no record of who set
 * a link up, and the attachments that need it live in other namespaces, out of sight of a
 * later detach; so this file remembers, per parent, the attachments on it. The last one's
 * detach takes the parent down again. A record whose ifindex differs from the interface's is
 * of an earlier device of that name and is ignored.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import type { ParentUpRecord } from '../model/observed.js';
import type { StateRecord } from '../model/step.js';
import { stateRoot } from '../paths.js';
import { writeFileAtomic } from './atomic.js';

const dir = (): string => `${stateRoot()}/parents`;
// interface names cannot hold "/", but may hold characters a file name should not start with
const fileOf = (parent: string): string => `${dir()}/${encodeURIComponent(parent)}.json`;

interface FileBody {
  readonly version: 1;
  readonly parent: string;
  readonly ifindex: number;
  readonly users: readonly string[];
}

export const readParentRecords = async (): Promise<Map<string, ParentUpRecord>> => {
  const out = new Map<string, ParentUpRecord>();
  const names = await readdir(dir()).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    const body = await readFile(`${dir()}/${n}`, 'utf8')
      .then((t) => JSON.parse(t) as FileBody)
      .catch(() => undefined);
    if (body?.version !== 1 || typeof body.parent !== 'string' || !Array.isArray(body.users)) continue;
    out.set(body.parent, { ifindex: body.ifindex, users: body.users.filter((u) => typeof u === 'string') });
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
