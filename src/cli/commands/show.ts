import type { Command } from 'commander';
import { show } from '../../api/show.js';
import { globalFlags, printShow } from '../output.js';

export const registerShow = (program: Command): void => {
  program
    .command('show <target>')
    .description('interfaces, addresses and routes of a target; marks what pipefitter made')
    .action(async (target: string, _f: unknown, cmd: Command) => {
      printShow(await show(target), globalFlags(cmd));
    });
};
