/**
 * The only fake in the suite: a Runner that records what it is asked to run and fails on the
 * k-th call. Used by executor unit tests; integration tests never use it.
 */
import { netnsKey } from '../../src/model/netns.js';
import type { Arg } from '../../src/model/step.js';
import type { RunOptions, RunResult, Runner } from '../../src/exec/runner.js';
import { classifyStderr } from '../../src/exec/runner.js';

export interface Recorded {
  readonly netns: string;
  readonly argv: string[];
  readonly input?: string | undefined;
}

export class RecordingRunner implements Runner {
  readonly calls: Recorded[] = [];
  /** Commands, in order, that were "run" successfully. */
  readonly lines: string[] = [];
  private count = 0;
  private failed = false;

  constructor(
    /** Fail when this command (0-based) is reached. */
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
    });
    return this.play(flat, opts);
  }

  private async play(flat: string[], opts: RunOptions): Promise<RunResult> {
    const line = flat.join(' ');
    if (!this.failed && this.failAtLine !== undefined && this.lines.length === this.failAtLine) {
      this.failed = true;
      return {
        command: line,
        exitCode: 1,
        stdout: '',
        stderr: `${this.stderr}\n`,
        failed: true,
        reason: classifyStderr(this.stderr),
      };
    }
    this.lines.push(`${netnsKey(opts.netns)}: ${line}`);
    await Promise.resolve();
    return { command: line, exitCode: 0, stdout: '', stderr: '', failed: false, reason: undefined };
  }
}
