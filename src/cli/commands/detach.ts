import type { Command } from 'commander';
import { globalFlags, printOutcome } from '../output.js';
import { ALLOW_HOST_NAMESPACE } from './attach.js';

export const registerDetach = (program: Command): void => {
  program
    .command('detach <target>')
    .description('remove an interface pipefitter added (and a bridge it made, once unused)')
    .option('-i, --ifname <name>', 'interface name inside', 'eth1')
    .option('--force', 'remove it even if pipefitter did not make it')
    .option('-n, --dry-run', 'print the commands as a shell script; change nothing')
    .option('--allow-host-namespace', ALLOW_HOST_NAMESPACE)
    .action(
      async (
        target: string,
        f: { ifname: string; force?: boolean; dryRun?: boolean; allowHostNamespace?: boolean },
        cmd: Command,
      ) => {
        const { detach } = await import('../../api/attach.js');
        const o = await detach(
          { target, ifname: f.ifname, force: f.force },
          { dryRun: f.dryRun, allowHostNamespace: f.allowHostNamespace },
        );
        const g = globalFlags(cmd);
        if (!o.applied && !f.dryRun && !g.json) {
          if (!g.quiet)
            process.stdout.write(`nothing to do: ${o.targets[0]?.label ?? target} has no "${f.ifname}"\n`);
          return;
        }
        printOutcome('detach', o, { ...g, dryRun: f.dryRun }, `${o.targets[0]?.label ?? target} ${f.ifname}`);
      },
    );
};
