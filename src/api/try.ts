/**
 * `pipefitter try` (like `netplan try`): apply an attach or a recipe, verify it, then wait for a
 * confirmation; without one in time, put everything back exactly as it was.
 *
 * How the revert is kept safe from whatever ends the user's session:
 * - The apply keeps its journal (exec/journal.ts) with every step listed as started. While this
 *   process lives, other runs leave it alone; if it dies (SIGKILL, a crash), the next changing
 *   run — or `try --revert` — undoes it all as it undoes any interrupted run, and puts a recipe's
 *   state files back (state/try.ts).
 * - SIGHUP (the ssh session that the change cut drops) is ignored: the timer goes on. SIGINT and
 *   SIGTERM revert at once.
 * - The revert itself is the journal's undo, under the host lock: the kernel state before the
 *   apply, not a re-application of something similar.
 */
import { PipefitterError, badInput, refuse } from '../errors.js';
import { dropJournal, journalExists } from '../exec/journal.js';
import type { Runner } from '../exec/runner.js';
import type { AttachInput } from '../model/input.js';
import type { NetnsRef } from '../model/netns.js';
import { HOST } from '../model/netns.js';
import type { Recipe } from '../model/recipe.js';
import type { StateRecord } from '../model/step.js';
import type { CarrierItem, CarrierReport } from '../observe/carrier.js';
import { gatewayAnswers } from '../observe/gateway.js';
import { checkCarrier } from '../observe/carrier.js';
import { openFileStore } from '../ipam/store.js';
import { readParsed, readRecipeState } from '../state/recipes.js';
import type { PendingTry, RecipeBefore, TryRequest } from '../state/try.js';
import {
  markOwnRevert,
  claimPendingTry,
  readPendingTry,
  removePendingTry,
  takeTryRequest,
  writePendingTry,
  writeTryRequest,
} from '../state/try.js';
import type { AttachOptions } from './attach.js';
import { attach } from './attach.js';
import type { RunOptions } from './engine.js';
import { lockedRun, requireRoot, runnerOf } from './engine.js';
import type { RecipeOptions } from './recipe.js';
import { apply as applyRecipe } from './recipe.js';
import { loadRecipe } from '../recipe/load.js';
import { writeAttachmentRecords } from './records.js';
import { pidAlive } from '../state/atomic.js';
import type { AttachmentRecord } from '../state/attachments.js';

/** The longest --timeout: a day. */
export const TRY_TIMEOUT_MAX = 86400;

export interface TryOptions {
  /** Seconds to wait for the confirmation, counted from when verification passed. @default 120 */
  readonly timeout?: number | undefined;
  /** Shell command lines (the user's own, run with `sh -c` in the host namespace) that must exit 0. */
  readonly checks?: readonly string[] | undefined;
  /** Each gateway the attach or recipe names must answer a ping from its interface's namespace. @default false */
  readonly pingGateway?: boolean | undefined;
  /** Settles when the user confirms another way (Enter on a terminal). */
  readonly confirmInput?: Promise<unknown> | undefined;
  /** Told once the change is applied and verified, and the wait begins. */
  readonly onWaiting?: ((deadline: Date) => void) | undefined;
}

export interface Verification {
  readonly carrier: readonly CarrierReport[];
  readonly gateways: readonly {
    readonly target: string;
    readonly gateway: string;
    readonly answered: boolean;
  }[];
  readonly checks: readonly {
    readonly command: string;
    readonly exitCode: number | undefined;
    readonly ok: boolean;
    readonly stderr: string;
  }[];
  /** What failed, one line each (empty: passed). */
  readonly failed: readonly string[];
}

export interface TryResult {
  readonly title: string;
  /** unchanged: nothing to apply (already in place), so nothing to try. */
  readonly outcome: 'confirmed' | 'reverted' | 'unchanged';
  /** Why it was reverted. */
  readonly why?: string | undefined;
  /** Steps applied (and, when reverted, undone). */
  readonly steps: number;
  readonly verification?: Verification | undefined;
  /** When reverted: the error code the exit status follows (exit 1). */
  readonly code?: 'E_NOT_CONFIRMED' | 'E_VERIFY_FAILED' | undefined;
}

/** Check the try options before anything is touched (exit 2 naming the flag). */
export const checkTryOptions = (o: TryOptions): void => {
  const t = o.timeout;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > TRY_TIMEOUT_MAX))
    throw badInput(
      'E_BAD_VALUE',
      '--timeout',
      String(t),
      `not a whole number of seconds from 1 to ${TRY_TIMEOUT_MAX}`,
      'e.g. --timeout 120',
    );
  for (const c of o.checks ?? [])
    if (c.trim() === '')
      throw badInput('E_BAD_VALUE', '--check', c, 'empty command', "e.g. --check 'ping -c1 192.0.2.1'");
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Target {
  readonly label: string;
  readonly netns: NetnsRef;
}

const verify = async (
  runner: Runner,
  items: readonly CarrierItem[],
  gateways: readonly { readonly t: Target; readonly gw: string }[],
  o: TryOptions,
): Promise<Verification> => {
  const failed: string[] = [];
  const carrier = items.length ? await checkCarrier(runner, items, { settleMs: 3000 }) : [];
  for (const c of carrier)
    if (!c.carrier) failed.push(`${c.target} ${c.ifname} has no carrier: ${c.why ?? '?'}`);
  const pinged = [];
  if (o.pingGateway)
    for (const g of gateways) {
      const answered = await gatewayAnswers(runner, g.t.netns, g.gw);
      if (!answered) failed.push(`gateway ${g.gw} does not answer from ${g.t.label}`);
      pinged.push({ target: g.t.label, gateway: g.gw, answered });
    }
  const checks = [];
  for (const command of o.checks ?? []) {
    // the user's own command line, as they would type it: their shell string, run by sh
    const r = await runner.run(['sh', '-c', command], { netns: HOST, timeoutMs: 60_000 });
    if (r.failed)
      failed.push(
        `--check ${JSON.stringify(command)} exited ${r.exitCode ?? r.reason ?? '?'}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''}`,
      );
    checks.push({ command, exitCode: r.exitCode, ok: !r.failed, stderr: r.stderr.trim() });
  }
  return { carrier, gateways: pinged, checks, failed };
};

/** What an apply gave the try: its journal and how to verify it. */
interface Applied {
  readonly journal?: string | undefined;
  readonly steps: number;
  /** What the apply recorded (state/parents.ts), undone on revert. */
  readonly records?: readonly StateRecord[] | undefined;
  readonly items: readonly CarrierItem[];
  readonly gateways: readonly { readonly t: Target; readonly gw: string }[];
  /** The attachment records of an attach, written when it is kept (confirmed, or nothing to try). */
  readonly attachmentRecords?: readonly AttachmentRecord[] | undefined;
}

/** Undo the pending try of this process: its journal, under the host lock (exec/apply.ts recoverInterrupted). */
const revertOwn = async (title: string, journal: string, opts: RunOptions): Promise<void> => {
  markOwnRevert();
  await lockedRun(`pipefitter try --revert (${title})`, runnerOf({ ...opts, runner: undefined }), opts, () =>
    Promise.resolve(),
  );
  if (journalExists(journal))
    throw new PipefitterError({
      code: 'E_INTERNAL',
      message: `the revert left the journal ${journal} in place`,
    });
};

const tryChange = async (
  title: string,
  opts: RunOptions & TryOptions,
  recipe: RecipeBefore | undefined,
  apply: () => Promise<Applied>,
): Promise<TryResult> => {
  checkTryOptions(opts);
  requireRoot();
  const pending: PendingTry = {
    version: 1,
    pid: process.pid,
    title,
    startedAt: new Date().toISOString(),
    ...(recipe ? { recipe } : {}),
  };
  // claimed before the apply (a try killed at any point leaves what to put back), and atomically:
  // of two tries started at once, one proceeds and the other is refused
  for (let settled = false; ; settled = true) {
    const claim = await claimPendingTry(pending);
    if (claim === undefined) break;
    const other = claim.other;
    if (other === undefined || other.pid === process.pid) {
      // gone again since (its try just ended), or this process's own: taken over
      await writePendingTry(pending);
      break;
    }
    if (pidAlive(other.pid) || settled)
      throw refuse(
        'E_CONFLICT',
        `a try is pending (pid ${other.pid}: ${other.title})`,
        'one try at a time',
        'confirm it (pipefitter try --confirm) or revert it (pipefitter try --revert) first',
      );
    // its process is gone: settle it first (its journal undone, its recipe's files put back)
    await lockedRun('pipefitter try', runnerOf({ ...opts, runner: undefined }), opts, () =>
      Promise.resolve(),
    );
  }
  let stop: TryRequest | undefined;
  const onStop = (): void => {
    stop = 'revert';
  };
  // the user's session may go (ssh cut by the very change tried): the revert must not go with it
  const onHangup = (): void => undefined;
  process.on('SIGHUP', onHangup);
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  try {
    let a: Applied;
    try {
      a = await apply();
    } catch (e) {
      await removePendingTry();
      throw e;
    }
    if (a.journal === undefined) {
      await writeAttachmentRecords(a.attachmentRecords ?? []);
      await removePendingTry();
      return { title, outcome: 'unchanged', steps: 0 };
    }
    const journal = a.journal;
    const undoRecords = (a.records ?? []).map((r) => ({
      ...r,
      op: r.op === 'add' ? ('remove' as const) : ('add' as const),
    }));
    const applied: PendingTry = {
      ...pending,
      journal,
      ...(undoRecords.length ? { undoRecords } : {}),
      ...(a.attachmentRecords?.length ? { attachmentRecords: a.attachmentRecords } : {}),
    };
    await writePendingTry(applied);
    const revert = async (why: string, code: 'E_NOT_CONFIRMED' | 'E_VERIFY_FAILED', v?: Verification) => {
      await revertOwn(title, journal, opts);
      return { title, outcome: 'reverted' as const, why, steps: a.steps, verification: v, code };
    };
    const v = await verify(runnerOf({ ...opts, runner: undefined }), a.items, a.gateways, opts).catch(
      async (e: unknown) => {
        // whatever went wrong, a change that was not verified does not stay
        await revertOwn(title, journal, opts);
        throw e;
      },
    );
    if (v.failed.length)
      return await revert(`verification failed: ${v.failed.join('; ')}`, 'E_VERIFY_FAILED', v);
    if (stop) return await revert('stopped (SIGINT or SIGTERM) before confirmation', 'E_NOT_CONFIRMED', v);
    const deadline = new Date(Date.now() + (opts.timeout ?? 120) * 1000);
    await writePendingTry({ ...applied, deadline: deadline.toISOString() });
    let typed = false;
    void opts.confirmInput?.then(() => {
      typed = true;
    });
    opts.onWaiting?.(deadline);
    for (;;) {
      const req = (await takeTryRequest()) ?? (typed ? 'confirm' : undefined) ?? stop;
      if (req === 'confirm') {
        await writeAttachmentRecords(a.attachmentRecords ?? []);
        dropJournal(journal);
        await removePendingTry();
        return { title, outcome: 'confirmed', steps: a.steps, verification: v };
      }
      if (req === 'revert')
        return await revert(
          stop ? 'stopped (SIGINT or SIGTERM) before confirmation' : 'reverted by pipefitter try --revert',
          'E_NOT_CONFIRMED',
          v,
        );
      if (Date.now() >= deadline.getTime())
        return await revert(`not confirmed within ${opts.timeout ?? 120} s`, 'E_NOT_CONFIRMED', v);
      await sleep(100);
    }
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGHUP', onHangup);
  }
};

const gatewaysOf = (g: AttachInput['gateway']): string[] =>
  g === undefined ? [] : typeof g === 'string' ? [g] : [...g];

/**
 * Try an attach: applied, verified, kept only when confirmed.
 * @example await tryAttach({ target: 'web', bridge: 'br0', ip: '192.0.2.10/24' }, { timeout: 60 })
 */
export const tryAttach = async (
  input: AttachInput,
  opts: AttachOptions & TryOptions = {},
): Promise<TryResult> => {
  checkTryOptions(opts);
  const title = `pipefitter try attach ${input.target} --ifname ${input.ifname ?? 'eth1'}`;
  return tryChange(title, opts, undefined, async () => {
    let attachmentRecords: readonly AttachmentRecord[] = [];
    const o = await attach(input, {
      ...opts,
      keepJournal: true,
      deferRecords: (r) => {
        attachmentRecords = r;
      },
    });
    const t = o.targets[0];
    const ifname = input.ifname ?? 'eth1';
    return {
      journal: o.report?.journal,
      steps: o.report?.applied.length ?? 0,
      records: o.plan.records,
      items: t ? [{ label: t.label, netns: t.netns, ifname }] : [],
      gateways: t ? gatewaysOf(input.gateway).map((gw) => ({ t, gw })) : [],
      attachmentRecords,
    };
  });
};

/**
 * Try a recipe apply: on revert, the kernel and the recipe's state go back to how they were —
 * the previous text's, when one was applied, or none.
 * @example await tryApply('lab.yaml', { timeout: 60, pingGateway: true })
 */
export const tryApply = async (file: string, opts: RecipeOptions & TryOptions = {}): Promise<TryResult> => {
  checkTryOptions(opts);
  const recipe: Recipe = await loadRecipe(file, opts);
  const state = await readRecipeState(recipe.name);
  const raw = state?.parsed !== undefined ? await readParsed(state.parsed) : undefined;
  const before: RecipeBefore = {
    name: recipe.name,
    ...(state ? { state } : {}),
    ...(state?.parsed !== undefined && raw !== undefined ? { parsed: { sha256: state.parsed, raw } } : {}),
    ipamKeys: (await openFileStore().list()).map((a) => a.key).filter((k) => k.startsWith(`${recipe.name}/`)),
  };
  const title = `pipefitter try apply ${file}`;
  return tryChange(title, opts, before, async () => {
    const r = await applyRecipe(recipe, { ...opts, keepJournal: true });
    const items: CarrierItem[] = [];
    const gateways: { t: Target; gw: string }[] = [];
    for (const c of recipe.containers) {
      const t = r.targets?.get(c.name);
      if (!t) continue;
      for (const i of c.interfaces) {
        items.push({ label: t.label, netns: t.netns, ifname: i.ifname });
        if (i.gateway) gateways.push({ t, gw: i.gateway.address });
      }
    }
    for (const l of recipe.links)
      for (const end of [l.a, l.b]) {
        const t = r.targets?.get(end.container);
        if (t) items.push({ label: t.label, netns: t.netns, ifname: end.ifname });
        if (t && end.gateway) gateways.push({ t, gw: end.gateway.address });
      }
    return { journal: r.journal, steps: r.plan.steps.length, records: r.plan.records, items, gateways };
  });
};

export interface SettleResult {
  readonly pid: number;
  readonly title: string;
  readonly outcome: 'confirmed' | 'reverted';
  /** The try process was gone: this command settled it itself. */
  readonly byThisProcess: boolean;
}

/**
 * `pipefitter try --confirm` / `--revert`, from another shell: tell the pending try, and wait
 * for it to act; when its process is gone, act here (revert: undo its journal, put back its
 * recipe's files; confirm: keep the change, drop the journal).
 */
export const settleTry = async (
  what: TryRequest,
  opts: RunOptions & {
    /** How long the pending try has to act on the request. @default 60000 */
    readonly answerMs?: number | undefined;
  } = {},
): Promise<SettleResult> => {
  requireRoot();
  const p = await readPendingTry();
  if (!p)
    throw badInput(
      'E_USAGE',
      `--${what}`,
      undefined,
      'no try is pending',
      'start one with pipefitter try attach TARGET … or pipefitter try apply RECIPE',
    );
  if (p.pid !== process.pid && pidAlive(p.pid)) {
    await writeTryRequest(what);
    // the try polls every 100 ms; a revert takes as long as its undo
    const answerMs = opts.answerMs ?? 60_000;
    for (let i = 0; i < answerMs / 100; i++) {
      await sleep(100);
      const now = await readPendingTry();
      if (!now || now.pid !== p.pid)
        return {
          pid: p.pid,
          title: p.title,
          outcome: what === 'confirm' ? 'confirmed' : 'reverted',
          byThisProcess: false,
        };
      if (!pidAlive(p.pid)) break;
    }
    if (pidAlive(p.pid))
      throw refuse(
        'E_CONFLICT',
        `the pending try (pid ${p.pid}: ${p.title})`,
        `did not answer the --${what} within ${Math.round(answerMs / 1000)} s`,
        what === 'confirm'
          ? `if pid ${p.pid} is stuck: kill -9 ${p.pid}, then pipefitter try --confirm again (it keeps a dead try's change)`
          : `if pid ${p.pid} is stuck: kill ${p.pid} (a try reverts on SIGTERM), or kill -9 ${p.pid} and pipefitter try --revert again`,
      );
  }
  if (what === 'confirm') {
    await writeAttachmentRecords(p.attachmentRecords ?? []);
    if (p.journal) dropJournal(p.journal);
    await removePendingTry();
  } else
    // recoverInterrupted undoes the dead try's journal; settleAbandonedTry puts its recipe's files back
    await lockedRun('pipefitter try --revert', runnerOf(opts), opts, () => Promise.resolve());
  return {
    pid: p.pid,
    title: p.title,
    outcome: what === 'confirm' ? 'confirmed' : 'reverted',
    byThisProcess: true,
  };
};
