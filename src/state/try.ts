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
  readRecipeState,
  removeParsed,
  removeRecipeState,
  writeParsed,
  writeRecipeState,
} from './recipes.js';
import { writeFileAtomic } from './atomic.js';
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

export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export const readPendingTry = async (): Promise<PendingTry | undefined> => {
  try {
    const p = JSON.parse(await readFile(pendingFile(), 'utf8')) as PendingTry;
    return p.version === 1 && typeof p.pid === 'number' ? p : undefined;
  } catch {
    return undefined;
  }
};

export const writePendingTry = async (p: PendingTry): Promise<void> => {
  await mkdir(dirOf(), { recursive: true, mode: 0o700 });
  await writeFileAtomic(pendingFile(), JSON.stringify(p, null, 2) + '\n');
};

/**
 * Claim the pending record for `p`, atomically: written whole to a file of this process, then
 * linked to pending.json, which fails when one is there — so of two tries started at the same
 * instant exactly one gets it. Returns undefined when claimed; else the record that is there
 * (undefined inside: there but unreadable).
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
