import type { Command } from 'commander';
import { parseSeconds } from '../../values.js';
import { globalFlags, printWaited } from '../output.js';

export const registerWait = (program: Command): void => {
  program
    .command('wait [target]')
    .description(
      'wait until an interface is up and configured (default: in the namespace pipefitter runs in)',
    )
    .option('-i, --ifname <name>', 'interface name', 'eth1')
    .option('--timeout <seconds>', 'give up after this long (0: never)', '0')
    .option('--any', 'also accept an interface pipefitter did not make')
    .action(
      async (
        target: string | undefined,
        f: { ifname: string; timeout: string; any?: boolean },
        cmd: Command,
      ) => {
        const timeoutMs = parseSeconds(f.timeout, '--timeout') * 1000;
        const { waitForInterface } = await import('../../api/wait.js');
        const r = await waitForInterface({ target, ifname: f.ifname, timeoutMs, any: f.any });
        if (globalFlags(cmd).json) printWaited(target, f.ifname, r.waitedMs);
      },
    );
};
