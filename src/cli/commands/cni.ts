import type { Command } from 'commander';
import { globalFlags } from '../output.js';

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
    });
};
