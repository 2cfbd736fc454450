import type { Command } from 'commander';
import { globalFlags } from '../output.js';
import { badInput } from '../../errors.js';

export const registerCni = (program: Command): void => {
  const cni = program
    .command('cni')
    .description('pipefitter as a CNI plugin, run by container runtimes (Podman, containerd, Kubernetes)');
  cni
    .command('install')
    .description('write the plugin executable "pipefitter" into the runtime\'s CNI plugin directory')
    .option('--bin-dir <dir>', 'the CNI plugin directory', '/opt/cni/bin')
    .action(async (f: { binDir: string }, cmd: Command) => {
      const { installCniPlugin } = await import('../../api/cni-install.js');
      const r = await installCniPlugin({ binDir: f.binDir });
      if (globalFlags(cmd).json) {
        process.stdout.write(`${JSON.stringify({ ok: true, ...r }, null, 2)}\n`);
        return;
      }
      if (globalFlags(cmd).quiet) return;
      process.stdout.write(`installed ${r.file} (runs ${r.node} ${r.entry})\n`);
      for (const [k, v] of Object.entries(r.env))
        process.stdout.write(`  keeps ${k}=${v} unless the runtime sets it\n`);
      process.stdout.write(
        r.client === undefined
          ? '  every call starts node: install netcat-openbsd, then install again, for calls answered by `pipefitter cni serve`\n'
          : `  hands calls to \`pipefitter cni serve\` on ${r.socket} when one runs in the runtime's network namespace\n`,
      );
    });
  cni
    .command('serve')
    .description(
      "answer the plugin's calls from one resident process (the runtime then waits for no node to start)",
    )
    .option('--socket <path>', 'the Unix socket launchers look for (default $PIPEFITTER_RUN_DIR/cni.sock)')
    .option('--idle-timeout <duration>', 'stop after this long without a call (e.g. 10m; default: never)')
    .action(async (f: { socket?: string; idleTimeout?: string }, cmd: Command) => {
      const { serveCni } = await import('../../api/cni-serve.js');
      const { parseDuration } = await import('../../plan/watch.js');
      const { json, quiet } = globalFlags(cmd);
      let idleTimeoutMs: number | undefined;
      if (f.idleTimeout !== undefined) {
        idleTimeoutMs = parseDuration(f.idleTimeout);
        if (idleTimeoutMs === undefined)
          throw badInput(
            'E_BAD_VALUE',
            '--idle-timeout',
            f.idleTimeout,
            'not a duration of at least 100ms',
            'write e.g. 10m, 30s or 500ms',
          );
      }
      const stop = new AbortController();
      const onStop = (): void => stop.abort();
      process.on('SIGTERM', onStop);
      process.on('SIGINT', onStop);
      try {
        const r = await serveCni(
          {
            socket: f.socket,
            idleTimeoutMs,
            onEvent: (e) => {
              // its log, on stderr; --json's one document comes at the end, as for every command
              if (quiet && e.event === 'call') return;
              const line =
                e.event === 'listening'
                  ? `listening on ${e.socket} (process ${e.pid})`
                  : e.event === 'call'
                    ? `${e.command} ${e.containerId}: exit ${e.code} in ${e.ms} ms`
                    : e.event === 'declined'
                      ? `declined a call (the launcher runs it itself): ${e.why}`
                      : `stopped after ${e.served} calls`;
              process.stderr.write(`pipefitter cni serve: ${line}\n`);
            },
          },
          stop.signal,
        );
        if (json) process.stdout.write(`${JSON.stringify({ ok: true, ...r }, null, 2)}\n`);
      } finally {
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
      }
    });
};
