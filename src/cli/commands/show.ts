import type { Command } from 'commander';
import { globalFlags, printShow } from '../output.js';

export const registerShow = (program: Command): void => {
  program
    .command('show <target>')
    .description('interfaces, addresses and routes of a target; marks what pipefitter made')
    .action(async (target: string, _f: unknown, cmd: Command) => {
      const { show } = await import('../../api/show.js');
      printShow(await show(target), globalFlags(cmd));
    });
};
