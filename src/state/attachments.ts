/**
 * What `attach`, `link` and pipework's attach forms made, kept so that `pipefitter watch` can
 * make it again when the target comes back with a new network namespace (a restarted
 * container), and forget it when the target is gone for good. One file per attachment:
 * `$PIPEFITTER_STATE_DIR/attachments/HASH.json`, HASH from the target's id and the interface.
 *
 * The input is kept as the user gave it (the attach flags as strings, a link's two ends, or
 * pipework's words) and parsed again on read by the same parser the command used: every field
 * is checked the way the command checked it, and the re-run is that command again. The target is
 * re-run by its resolved id (`docker:<full id>`, `netns:r1`, `pid:N`), never by the name typed,
 * so that a new container that took the name is not mistaken for the old one.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import type { AttachRequest } from '../model/attachment.js';
import type { AttachInput, PairInput } from '../model/input.js';
import { parseAttachInput, parsePairInput } from '../model/input.js';
import type { TargetSpec } from '../model/target.js';
import { parseTargetSpec } from '../model/target.js';
import { parsePipework } from '../compat/pipework.js';
import { stateRoot } from '../paths.js';
import { writeFileAtomic } from './atomic.js';
import { BadState as Bad, isObject, optBool, optStr, readStateFile, str } from './state-file.js';

/** How the attachment was asked for: enough to ask again. */
export type AttachForm =
  | { readonly form: 'attach'; readonly input: AttachInput }
  | { readonly form: 'link'; readonly input: PairInput }
  | { readonly form: 'pipework'; readonly argv: readonly string[] };

/** Options of the run that made it, used again by the re-run. */
export interface RecordedOptions {
  readonly replace?: boolean | undefined;
  readonly force?: boolean | undefined;
  readonly allowDuplicateAddress?: boolean | undefined;
  readonly allowHostNamespace?: boolean | undefined;
}

export interface RecordedTarget {
  /** As typed, e.g. `web`. */
  readonly spec: string;
  /** As resolved, e.g. `docker:3f2a…` (64 hex digits), `netns:r1`, `pid:4242`, `path:/x`. */
  readonly id: string;
  /** The namespace it had when last applied: `DEV:INO@INSTANCE` (see api/records.ts namespaceOf). */
  readonly nsIdentity?: string | undefined;
}

export interface AttachmentRecord {
  readonly version: 1;
  readonly target: RecordedTarget;
  /** The interface inside the target. */
  readonly ifname: string;
  /** A link's second end. */
  readonly peer?: (RecordedTarget & { readonly ifname: string }) | undefined;
  readonly request: AttachForm;
  readonly options: RecordedOptions;
  /** When this record was first written as it is (a re-apply that records the same keeps it). */
  readonly appliedAt: string;
}

export const attachmentsDir = (): string => `${stateRoot()}/attachments`;

export const recordKey = (targetId: string, ifname: string): string =>
  createHash('sha256').update(`${targetId}\0${ifname}`).digest('hex').slice(0, 32);

const fileOf = (key: string): string => `${attachmentsDir()}/${key}.json`;

/**
 * The spec a re-run names the target by: its id where the id is a spec (`docker:<id>`,
 * `podman:<id>`, `netns:N`, `pid:N`), else what was typed (a namespace file path).
 */
export const stableSpec = (t: RecordedTarget): TargetSpec => {
  if (/^(docker|podman|netns|pid):/.test(t.id)) return parseTargetSpec(t.id);
  return parseTargetSpec(t.spec);
};

const checkTarget = (v: unknown, field: string): RecordedTarget => {
  if (!isObject(v)) throw new Bad(`${field} must be { spec, id }`);
  const spec = str(v.spec, `${field}.spec`);
  try {
    parseTargetSpec(spec);
  } catch {
    throw new Bad(`${field}.spec ${JSON.stringify(spec)} is not a target (pid:N, netns:NAME, …)`);
  }
  const id = str(v.id, `${field}.id`);
  if (!/^(docker|podman|netns|pid|path):./.test(id))
    throw new Bad(
      `${field}.id ${JSON.stringify(id)}: expected docker:ID, podman:ID, netns:NAME, pid:N or path:PATH`,
    );
  const nsIdentity = optStr(v.nsIdentity, `${field}.nsIdentity`);
  const t = { spec, id, ...(nsIdentity !== undefined ? { nsIdentity } : {}) };
  try {
    stableSpec(t);
  } catch {
    throw new Bad(`${field}.id ${JSON.stringify(id)} is not a target`);
  }
  return t;
};

/** Words of pipework's form, as typed (no NUL). */
const words = (v: unknown, field: string): string[] => {
  if (!Array.isArray(v) || v.some((w) => typeof w !== 'string' || w.includes('\0')))
    throw new Bad(`${field} must be a list of strings`);
  return v as string[];
};

const checkForm = (v: unknown): AttachForm => {
  if (!isObject(v)) throw new Bad('request must be { form, … }');
  switch (v.form) {
    case 'attach':
      if (!isObject(v.input)) throw new Bad('request.input must be the attach input object');
      return { form: 'attach', input: v.input as unknown as AttachInput };
    case 'link':
      if (!isObject(v.input)) throw new Bad('request.input must be the link input object');
      return { form: 'link', input: v.input as unknown as PairInput };
    case 'pipework':
      return { form: 'pipework', argv: words(v.argv, 'request.argv') };
    default:
      throw new Bad(`request.form ${JSON.stringify(v.form)}: expected attach, link or pipework`);
  }
};

/**
 * The request the record asks for, parsed by the command's own parser, with the target (and a
 * link's peer) named by its stable spec. Throws the parser's error on a bad field.
 */
export const requestOf = (r: Pick<AttachmentRecord, 'request' | 'target' | 'peer'>): AttachRequest => {
  const f = r.request;
  let req: AttachRequest;
  if (f.form === 'attach') req = parseAttachInput(f.input);
  else if (f.form === 'link') req = parsePairInput(f.input);
  else {
    const cmd = parsePipework(f.argv);
    if (cmd.kind !== 'attach')
      throw new Bad(`request.argv: pipework's ${cmd.kind} form is not an attachment`);
    req = cmd.request;
  }
  const target = stableSpec(r.target);
  if (req.link.kind === 'pair') {
    if (!r.peer) throw new Bad('peer: a link needs its second end');
    return { ...req, target, link: { ...req.link, peer: stableSpec(r.peer) } };
  }
  return { ...req, target };
};

/** Every field checked, and the request parsed again: a record is text anyone can edit. */
export const checkAttachmentRecord = (data: unknown): AttachmentRecord => {
  if (!isObject(data)) throw new Bad('expected an object { "version": 1, "target": … }');
  if (data.version !== 1) throw new Bad(`version ${JSON.stringify(data.version)}: expected 1`);
  const target = checkTarget(data.target, 'target');
  const ifname = str(data.ifname, 'ifname');
  const peer =
    data.peer === undefined
      ? undefined
      : {
          ...checkTarget(data.peer, 'peer'),
          ifname: str((data.peer as { ifname?: unknown }).ifname, 'peer.ifname'),
        };
  const request = checkForm(data.request);
  if (!isObject(data.options)) throw new Bad('options must be an object');
  const o = data.options;
  const options: RecordedOptions = Object.fromEntries(
    (['replace', 'force', 'allowDuplicateAddress', 'allowHostNamespace'] as const)
      .map((k) => [k, optBool(o[k], `options.${k}`)] as const)
      .filter(([, b]) => b !== undefined),
  );
  const appliedAt = str(data.appliedAt, 'appliedAt');
  const rec: AttachmentRecord = {
    version: 1,
    target,
    ifname,
    ...(peer ? { peer } : {}),
    request,
    options,
    appliedAt,
  };
  let req: AttachRequest;
  try {
    req = requestOf(rec);
  } catch (e) {
    if (e instanceof Bad) throw e;
    throw new Bad(`request: ${(e as Error).message}`);
  }
  if (req.iface.ifname !== ifname)
    throw new Bad(`ifname ${JSON.stringify(ifname)}: the request makes ${JSON.stringify(req.iface.ifname)}`);
  return rec;
};

export const readAttachmentRecord = (key: string): Promise<AttachmentRecord | undefined> =>
  readStateFile(
    fileOf(key),
    'attachment record',
    (data) => {
      const rec = checkAttachmentRecord(data);
      if (recordKey(rec.target.id, rec.ifname) !== key)
        throw new Bad(`target.id and ifname do not match the file name ${key}.json`);
      return rec;
    },
    'then watch no longer keeps that attachment',
  );

/** Every attachment recorded. */
export const listAttachmentRecords = async (): Promise<AttachmentRecord[]> => {
  const keys = (await readdir(attachmentsDir()).catch(() => [] as string[]))
    .filter((f) => /^[0-9a-f]{32}\.json$/.test(f))
    .map((f) => f.slice(0, -5))
    .sort();
  const out: AttachmentRecord[] = [];
  for (const k of keys) {
    const r = await readAttachmentRecord(k);
    if (r) out.push(r);
  }
  return out;
};

/** Are two records' JSON texts the same apart from the top-level `key`? */
const sameBut = (a: string, b: string, key: string): boolean => {
  try {
    const [x, y] = [JSON.parse(a) as Record<string, unknown>, JSON.parse(b) as Record<string, unknown>];
    x[key] = y[key];
    return JSON.stringify(x) === JSON.stringify(y);
  } catch {
    return false;
  }
};

export const writeAttachmentRecord = async (r: AttachmentRecord): Promise<void> => {
  const file = fileOf(recordKey(r.target.id, r.ifname));
  const text = JSON.stringify(r, null, 2) + '\n';
  // a re-apply (watch, attach run again) records what is recorded already: no write and no fsync,
  // and the record keeps the time it was first made so
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old !== undefined && sameBut(old, text, 'appliedAt')) return;
  await mkdir(attachmentsDir(), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, text);
};

/** Is the record of this attachment still there (a stat, nothing read)? */
export const hasAttachmentRecord = async (targetId: string, ifname: string): Promise<boolean> =>
  stat(fileOf(recordKey(targetId, ifname))).then(
    () => true,
    () => false,
  );

export const removeAttachmentRecord = async (targetId: string, ifname: string): Promise<void> => {
  await rm(fileOf(recordKey(targetId, ifname)), { force: true });
};
