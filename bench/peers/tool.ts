/** A tool under test: the commands of its timed attach and of its teardown, as its users run them. */
import type { Cmd } from '../lib/proc.js';
import type { Net, Target } from '../lib/types.js';

export interface Tool {
  /** Column name in the results, e.g. "pipefitter apply", "cni loop". */
  readonly name: string;
  /** Untimed preparation before every run (e.g. writing the recipe file). */
  prepare?(targets: readonly Target[], net: Net): Promise<void>;
  /** The timed work: attach eth1 to every target, run in order. */
  attach(targets: readonly Target[], net: Net): Cmd[];
  /**
   * Removing what attach made, run in order. Timed and reported as "destroy" when `destroys`
   * is set (the tool's own way back), otherwise untimed.
   */
  teardown(targets: readonly Target[], net: Net): Promise<Cmd[]>;
  readonly destroys: boolean;
  /** Untimed clean-up after the teardown (e.g. CNI's IPAM store). */
  afterTeardown?(): Promise<void>;
}
