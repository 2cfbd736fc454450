import { realpathSync } from 'node:fs';
import type { Command } from 'commander';
import { badInput } from '../../errors.js';
import { globalFlags } from '../output.js';

interface WatchFlags {
  interval: string;
  reportOnly?: boolean;
  once?: boolean;
  installUnit?: boolean;
}

/** The absolute path of the program being run (what systemd's ExecStart needs). */
const binPath = (): string => {
  const p = process.argv[1] ?? 'pipefitter';
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

export const registerWatch = (program: Command): void => {
  program
    .command('watch')
    .description(
      're-apply attachments and recipes when their containers restart; clean up after removed ones; repair drift',
    )
    .option('--interval <duration>', 'drift check interval, e.g. 30s, 5m, 500ms', '30s')
    .option('--report-only', 'report restarts and drift, change nothing')
    .option('--once', 'one pass over everything recorded, then exit')
    .option('--install-unit', 'print a systemd unit that runs `pipefitter watch --json`, and exit')
    .action(async (f: WatchFlags, cmd: Command) => {
      const { watch, parseDuration, systemdUnit } = await import('../../api/watch.js');
      const { json } = globalFlags(cmd);
      if (f.installUnit) {
        const unit = systemdUnit(binPath());
        process.stdout.write(json ? `${JSON.stringify({ ok: true, unit }, null, 2)}\n` : unit);
        return;
      }
      const intervalMs = parseDuration(f.interval);
      if (intervalMs === undefined)
        throw badInput(
          'E_BAD_VALUE',
          '--interval',
          f.interval,
          'not a duration of at least 100ms',
          'write e.g. 30s, 5m or 500ms',
        );
      const events: unknown[] = [];
      const stop = new AbortController();
      const onStop = (): void => stop.abort();
      process.on('SIGTERM', onStop);
      process.on('SIGINT', onStop);
      try {
        await watch(
          {
            intervalMs,
            reportOnly: f.reportOnly,
            once: f.once,
            onEvent: (e) => {
              // --once ends like any command: one JSON document; running on, one object a line
              if (json && f.once) events.push(e);
              else if (json) process.stdout.write(JSON.stringify(e) + '\n');
              else process.stdout.write(`${e.time} ${e.event.padEnd(10)} ${e.message}\n`);
            },
          },
          stop.signal,
        );
        if (json && f.once) process.stdout.write(`${JSON.stringify({ ok: true, events }, null, 2)}\n`);
      } finally {
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
      }
    });
};
