/**
 * A pending `pipefitter try` (api/try.ts): applied, waiting for confirmation. Runtime state, under
 * `$PIPEFITTER_RUN_DIR/try/` (gone at reboot with the kernel state it describes):
 *
 *   pending.json   who tries what: its PID, its kept journal (exec/journal.ts: the kernel changes
 *                  and their undos), and — for a recipe — the recipe's state files as they were
 *                  before, to put back on revert
 *   request        "confirm" or "revert", written by `pipefitter try --confirm|--revert` from
 *                  another shell; the try process polls for it
 *
 * The kernel side of a revert is the journal's: the next changing run undoes a journal whose
 * process is gone (recoverInterrupted), and the try process itself reverts by taking the host
 * lock, which undoes its own journal the same way. This file puts the recipe's state files back
 * after that (settleAbandonedTry, called by lockedRun right after recoverInterrupted).
 */
import { link, mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { runRoot } from '../paths.js';
import { openFileStore } from '../ipam/store.js';
import type { RecipeState } from './recipes.js';
import {
  checkRecipeState,
  readRecipeState,
  removeParsed,
  removeRecipeState,
  writeParsed,
  writeRecipeState,
} from './recipes.js';
import { pidAlive, writeFileAtomic } from './atomic.js';
import { BadState as Bad, isObject, optStr, optional, readStateFile, str, strings } from './state-file.js';
import { checkAttachmentRecord } from './attachments.js';
import type { StateRecord } from '../model/step.js';
import type { AttachmentRecord } from './attachments.js';
import { commitRecords } from './parents.js';

/** A recipe's files as they were before the try. */
export interface RecipeBefore {
  readonly name: string;
  /** The state file before (none: the recipe was not applied). */
  readonly state?: RecipeState | undefined;
  /** The parsed text the state names (recipes/parsed/SHA.json), which an apply of another text removes. */
  readonly parsed?: { readonly sha256: string; readonly raw: unknown } | undefined;
  /** IPAM keys of the recipe before: those allocated by the try are released on revert. */
  readonly ipamKeys: readonly string[];
}

export interface PendingTry {
  readonly version: 1;
  readonly pid: number;
  /** What is tried, e.g. "pipefitter try attach netns:r1 --bridge br0 …". */
  readonly title: string;
  readonly startedAt: string;
  /** ISO time the revert happens without confirmation (set once applied). */
  readonly deadline?: string | undefined;
  /** The kept journal of the apply (set once applied). */
  readonly journal?: string | undefined;
  readonly recipe?: RecipeBefore | undefined;
  /**
   * The inverse of the records the apply committed (state/parents.ts: host interfaces brought up
   * for a macvlan, ipvlan or VLAN), committed on revert.
   */
  readonly undoRecords?: readonly StateRecord[] | undefined;
  /** The attachment records (state/attachments.ts) an attach tried makes: written on confirm only. */
  readonly attachmentRecords?: readonly AttachmentRecord[] | undefined;
}

export type TryRequest = 'confirm' | 'revert';

const dirOf = (): string => `${runRoot()}/try`;
const pendingFile = (): string => `${dirOf()}/pending.json`;
const requestFile = (): string => `${dirOf()}/request`;

const checkRecipeBefore = (v: unknown): RecipeBefore => {
  if (!isObject(v)) throw new Bad('recipe must be { name, ipamKeys, … }');
  const name = str(v.name, 'recipe.name');
  let state: RecipeState | undefined;
  try {
    state = optional(v.state, (x) => checkRecipeState(x, name));
  } catch (e) {
    throw new Bad(`recipe.state: ${(e as Error).message}`);
  }
  const parsed = optional(v.parsed, (x) => {
    if (!isObject(x) || !('raw' in x)) throw new Bad('recipe.parsed must be { sha256, raw }');
    const sha256 = str(x.sha256, 'recipe.parsed.sha256');
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Bad('recipe.parsed.sha256 must be 64 hex digits');
    return { sha256, raw: x.raw };
  });
  return {
    name,
    ...(state ? { state } : {}),
    ...(parsed ? { parsed } : {}),
    ipamKeys: strings(v.ipamKeys, 'recipe.ipamKeys'),
  };
};

const checkUndoRecord = (v: unknown, field: string): StateRecord => {
  if (!isObject(v) || v.kind !== 'parent-user') throw new Bad(`${field} must be { kind: "parent-user", … }`);
  if (!Number.isSafeInteger(v.ifindex) || (v.ifindex as number) <= 0)
    throw new Bad(`${field}.ifindex must be a positive whole number`);
  if (v.op !== 'add' && v.op !== 'remove') throw new Bad(`${field}.op must be "add" or "remove"`);
  return {
    kind: 'parent-user',
    parent: str(v.parent, `${field}.parent`),
    ifindex: v.ifindex as number,
    user: str(v.user, `${field}.user`),
    op: v.op,
  };
};

const list = <T>(v: unknown, field: string, check: (x: unknown, field: string) => T): T[] | undefined =>
  optional(v, (x) => {
    if (!Array.isArray(x)) throw new Bad(`${field} must be a list`);
    return x.map((e, i) => check(e, `${field}[${i}]`));
  });

/**
 * Every field checked, as every state file's: a pending try read wrong would leave its recipe's
 * files unrestored, or stop every changing run half-way with a TypeError.
 */
export const checkPendingTry = (data: unknown): PendingTry => {
  if (!isObject(data)) throw new Bad('expected an object { "version": 1, "pid", "title", … }');
  if (data.version !== 1) throw new Bad(`version ${JSON.stringify(data.version)}: expected 1`);
  if (!Number.isSafeInteger(data.pid) || (data.pid as number) <= 0)
    throw new Bad('pid must be a positive whole number');
  const recipe = optional(data.recipe, checkRecipeBefore);
  const undoRecords = list(data.undoRecords, 'undoRecords', checkUndoRecord);
  const attachmentRecords = list(data.attachmentRecords, 'attachmentRecords', (x, field) => {
    try {
      return checkAttachmentRecord(x);
    } catch (e) {
      throw new Bad(`${field}: ${(e as Error).message}`);
    }
  });
  const deadline = optStr(data.deadline, 'deadline');
  const journal = optStr(data.journal, 'journal');
  return {
    version: 1,
    pid: data.pid as number,
    title: str(data.title, 'title'),
    startedAt: str(data.startedAt, 'startedAt'),
    ...(deadline !== undefined ? { deadline } : {}),
    ...(journal !== undefined ? { journal } : {}),
    ...(recipe ? { recipe } : {}),
    ...(undoRecords ? { undoRecords } : {}),
    ...(attachmentRecords ? { attachmentRecords } : {}),
  };
};

/**
 * The pending try; undefined when there is none. One that cannot be read or checked refuses
 * (E_STATE_CORRUPT, exit 2) — never read as "none", which would leave its recipe's files as the
 * try wrote them after its kernel changes were undone.
 */
export const readPendingTry = (): Promise<PendingTry | undefined> =>
  readStateFile(
    pendingFile(),
    'pending try',
    checkPendingTry,
    "then a try that is still pending is reverted only in the kernel, not in its recipe's state files",
  );

export const writePendingTry = async (p: PendingTry): Promise<void> => {
  await mkdir(dirOf(), { recursive: true, mode: 0o700 });
  await writeFileAtomic(pendingFile(), JSON.stringify(p, null, 2) + '\n');
};

/**
 * Claim the pending record for `p`, atomically: written whole to a file of this process, then
 * linked to pending.json, which fails when one is there — so of two tries started at the same
 * instant exactly one gets it. Returns undefined when claimed; else the record that is there
 * (undefined inside: gone again since, its try just ended). One that cannot be read refuses
 * (readPendingTry).
 */
export const claimPendingTry = async (
  p: PendingTry,
): Promise<{ other: PendingTry | undefined } | undefined> => {
  await mkdir(dirOf(), { recursive: true, mode: 0o700 });
  const mine = `${pendingFile()}.${p.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(mine, JSON.stringify(p, null, 2) + '\n', { mode: 0o600 });
  try {
    await link(mine, pendingFile());
    return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { other: await readPendingTry() };
  } finally {
    await rm(mine, { force: true });
  }
};

/** The try is over (confirmed or reverted): its record and any request go. */
export const removePendingTry = async (): Promise<void> => {
  await rm(pendingFile(), { force: true });
  await rm(requestFile(), { force: true });
  await rmdir(dirOf()).catch(() => undefined);
};

export const writeTryRequest = async (r: TryRequest): Promise<void> => {
  await mkdir(dirOf(), { recursive: true, mode: 0o700 });
  await writeFile(requestFile(), `${r}\n`);
};

/** A request from another shell, taken (removed) when there is one. */
export const takeTryRequest = async (): Promise<TryRequest | undefined> => {
  let text: string;
  try {
    text = (await readFile(requestFile(), 'utf8')).trim();
  } catch {
    return undefined;
  }
  await rm(requestFile(), { force: true });
  return text === 'confirm' || text === 'revert' ? text : undefined;
};

let revertingOwn = false;

/** This process reverts its own try now: the next settleAbandonedTry acts on it. */
export const markOwnRevert = (): void => {
  revertingOwn = true;
};

/** Put a recipe's state files back as they were before the try. */
const restoreRecipe = async (b: RecipeBefore): Promise<void> => {
  const now = await readRecipeState(b.name).catch(() => undefined);
  if (now?.parsed !== undefined && now.parsed !== b.state?.parsed) await removeParsed(now.parsed);
  if (b.state) await writeRecipeState(b.state);
  else await removeRecipeState(b.name);
  if (b.parsed) await writeParsed(b.parsed.sha256, b.parsed.raw);
  const had = new Set(b.ipamKeys);
  await openFileStore().releaseWhere((a) => a.key.startsWith(`${b.name}/`) && !had.has(a.key));
};

/**
 * Under the host lock, after recoverInterrupted undid the journals of dead runs: a pending try
 * whose process is gone (killed, or the machine's OOM killer), or this process's own being
 * reverted, is settled — its recipe's files put back and its record removed. Returns what to tell.
 */
export const settleAbandonedTry = async (): Promise<string[]> => {
  const p = await readPendingTry();
  if (!p) return [];
  const own = p.pid === process.pid;
  if (own ? !revertingOwn : pidAlive(p.pid)) return [];
  revertingOwn = false;
  if (p.recipe) await restoreRecipe(p.recipe);
  if (p.undoRecords?.length) await commitRecords(p.undoRecords);
  await removePendingTry();
  return own ? [] : [`the pending try of pid ${p.pid} (${p.title}) ended without confirmation: reverted`];
};
