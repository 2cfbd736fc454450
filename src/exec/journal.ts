/**
 * The write-ahead journal of a run's changes (issue 13, defect 3): before its first change,
 * `applyPlan` writes every step of its schedule with its undo to
 * `$PIPEFITTER_STATE_DIR/journal/RUN.json` (fsynced), then the number of each step right before
 * it runs; the file goes when the apply ends, applied or rolled back. A run killed half-way
 * (`kill -9`, a crash, the machine's OOM killer) leaves it behind, and the next changing run —
 * which holds the host lock, so no other run is at work — undoes what it lists as started, in
 * reverse, before it observes anything: namespaces a recipe created, links made but not yet
 * tagged, addresses, routes. A step that cannot be undone (a deletion) means the interrupted run
 * is finished instead by running its command again, which says so.
 *
 * The step numbers are written without fsync: what they guard against is the death of the
 * process, which loses nothing already written; a machine that goes down loses the kernel
 * state the journal describes too. For the same reason the schedule itself is fsynced only when
 * a step's effect can outlive the machine (outlivesPowerLoss).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PipefitterError } from '../errors.js';
import type { Step } from '../model/step.js';
import { stateRoot } from '../paths.js';
import { pidAlive } from '../state/atomic.js';

const dirOf = (): string => `${stateRoot()}/journal`;

interface Header {
  readonly version: 1;
  readonly pid: number;
  readonly title: string;
  readonly startedAt: string;
  readonly steps: readonly Step[];
}

export interface Journal {
  /** The journal file. */
  readonly file: string;
  /** Step `index` of the schedule is about to run. */
  started(index: number): void;
  /** The apply ended (applied, or rolled back): the journal goes. */
  close(): void;
  /**
   * The apply went through and its changes stay pending (`pipefitter try`): the file stays, every
   * step listed as started, so that if this process dies before it removes the file, the next
   * changing run undoes the whole apply (the try's revert).
   */
  keep(): void;
}

/**
 * Whether a step's effect can outlive a power loss: a command run (`exec`) may write to disk —
 * Open vSwitch keeps its bridges and ports in its database — so its undo must survive too. The
 * kernel's links, addresses, routes, VLANs and sysctls go with the machine, and a journal of only
 * those describes nothing after it: its fsync (a tenth of a served CNI ADD) buys nothing.
 */
export const outlivesPowerLoss = (s: Step): boolean => s.op.op === 'exec';

/**
 * Open the journal of one apply, its schedule written (and fsynced when outlivesPowerLoss).
 * @throws PipefitterError when the state directory cannot be written (nothing was changed)
 */
export const openJournal = (title: string, steps: readonly Step[]): Journal => {
  const file = `${dirOf()}/run-${process.pid}-${randomBytes(4).toString('hex')}.json`;
  let fd: number;
  try {
    mkdirSync(dirOf(), { recursive: true, mode: 0o700 });
    fd = openSync(file, 'wx', 0o600);
    const header: Header = {
      version: 1,
      pid: process.pid,
      title,
      startedAt: new Date().toISOString(),
      steps,
    };
    writeSync(fd, `${JSON.stringify(header)}\n`);
    if (steps.some(outlivesPowerLoss)) fsyncSync(fd);
  } catch (e) {
    throw new PipefitterError({
      code: 'E_NOT_ROOT',
      message: `cannot write the journal ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; nothing was changed`,
      hint: 'check that the state directory is writable (PIPEFITTER_STATE_DIR, default /var/lib/pipefitter)',
    });
  }
  let open = true;
  return {
    file,
    started: (index) => {
      if (open) writeSync(fd, `${index}\n`);
    },
    close: () => {
      if (!open) return;
      open = false;
      closeSync(fd);
      rmSync(file, { force: true });
    },
    keep: () => {
      if (!open) return;
      open = false;
      fsyncSync(fd);
      closeSync(fd);
    },
  };
};

/** Remove a kept journal (`pipefitter try` confirmed: its changes stay). */
export const dropJournal = (file: string): void => rmSync(file, { force: true });

/** Does this journal file still exist (not yet undone by a recovery)? */
export const journalExists = (file: string): boolean => {
  try {
    readFileSync(file);
    return true;
  } catch {
    return false;
  }
};

/** A journal left by a run that is gone: what it was and the steps it started, in order. */
export interface Interrupted {
  readonly file: string;
  readonly pid: number;
  readonly title: string;
  readonly started: readonly Step[];
}

/**
 * The journals of runs that are gone. A journal whose writer still runs is not one (an apply
 * running without the host lock: the library's applyPlan called directly).
 */
export const interruptedRuns = (): Interrupted[] => {
  let names: string[];
  try {
    names = readdirSync(dirOf()).filter((n) => n.startsWith('run-') && n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Interrupted[] = [];
  for (const n of names.sort()) {
    const file = `${dirOf()}/${n}`;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const [first = '', ...rest] = text.split('\n');
    let header: Header;
    try {
      header = JSON.parse(first) as Header;
      if (header.version !== 1 || !Array.isArray(header.steps) || typeof header.pid !== 'number')
        throw new Error('not a version 1 journal');
    } catch (e) {
      // written whole before the first step: a header that does not parse was never acted on (or,
      // not fsynced, acted only on kernel state the power loss that cut it short took too)
      if (!first.endsWith('}')) {
        rmSync(file, { force: true });
        continue;
      }
      throw new PipefitterError({
        code: 'E_STATE_CORRUPT',
        message: `${file}: unreadable journal of an interrupted run (${(e as Error).message})`,
        hint: `look at it, undo by hand what it lists, then remove it (mv ${file} ${file}.bad)`,
      });
    }
    if (header.pid !== process.pid && pidAlive(header.pid)) continue;
    const started = rest
      .filter((l) => /^\d+$/.test(l))
      .map((l) => header.steps[Number(l)])
      .filter((s): s is Step => s !== undefined);
    out.push({ file, pid: header.pid, title: header.title, started });
  }
  return out;
};

/** Done with an interrupted run's journal: removed, or kept aside as FILE.stuck for a person. */
export const settleJournal = (r: Interrupted, stuck: boolean): void => {
  if (stuck) renameSync(r.file, `${r.file}.stuck`);
  else rmSync(r.file, { force: true });
};
