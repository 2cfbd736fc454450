/**
 * The only fake in the suite: a Runner that records what it is asked to run and fails on the
 * k-th call or on a chosen batch line. Used by executor unit tests; integration tests never use it.
 */
import { netnsKey } from '../../src/model/netns.js';
import type { Arg } from '../../src/model/step.js';
import type { RunOptions, RunResult, Runner } from '../../src/exec/runner.js';
import { classifyStderr } from '../../src/exec/runner.js';

export interface Recorded {
  readonly netns: string;
  readonly argv: string[];
  readonly input?: string | undefined;
  /** How many other calls were still running when this one started (0: it ran alone). */
  readonly overlapped: number;
}

export class RecordingRunner implements Runner {
  readonly calls: Recorded[] = [];
  /** Lines (over all batches and single commands, in order) that were "run" successfully. */
  readonly lines: string[] = [];
  private count = 0;
  private failed = false;
  private inFlight = 0;

  constructor(
    /** Fail when this line (0-based, counted over every command line) is reached. */
    private readonly failAtLine?: number,
    private readonly stderr = 'RTNETLINK answers: Operation not permitted',
  ) {}

  get spawned(): number {
    return this.count;
  }

  async run(argv: readonly Arg[], opts: RunOptions): Promise<RunResult> {
    this.count++;
    const flat = argv.map((a) => (typeof a === 'string' ? a : `<${netnsKey(a.netns)}>`));
    this.calls.push({
      netns: netnsKey(opts.netns),
      argv: flat,
      input: opts.input,
      overlapped: this.inFlight,
    });
    this.inFlight++;
    try {
      return await this.play(flat, opts);
    } finally {
      this.inFlight--;
    }
  }

  private async play(flat: string[], opts: RunOptions): Promise<RunResult> {
    const isBatch = flat.includes('-batch');
    // Batch lines are recorded with their "ip" so that both shapes read the same.
    const lines = isBatch
      ? (opts.input ?? '')
          .trim()
          .split('\n')
          .map((l) => `ip ${l}`)
      : [flat.join(' ')];
    const force = flat.includes('-force');
    let stderr = '';
    for (let i = 0; i < lines.length; i++) {
      if (!this.failed && this.failAtLine !== undefined && this.lines.length === this.failAtLine && !force) {
        this.failed = true;
        stderr = `${this.stderr}\n${isBatch ? `Command failed -:${i + 1}\n` : ''}`;
        return {
          command: flat.join(' '),
          exitCode: 1,
          stdout: '',
          stderr,
          failed: true,
          reason: classifyStderr(stderr),
        };
      }
      this.lines.push(`${netnsKey(opts.netns)}: ${lines[i]}`);
    }
    await Promise.resolve();
    return { command: flat.join(' '), exitCode: 0, stdout: '', stderr: '', failed: false, reason: undefined };
  }
}
