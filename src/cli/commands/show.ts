import type { Command } from 'commander';
import { badInput } from '../../errors.js';
import { globalFlags, printShow } from '../output.js';

export const registerShow = (program: Command): void => {
  program
    .command('show [target]')
    .description(
      'interfaces (up, carrier, operstate), addresses and routes of a target; marks what pipefitter made',
    )
    .option('--host', "the host's own namespace (same as `show host`); only reads")
    .addHelpText(
      'after',
      '\n`show host` (or --host) reads the host\'s own namespace and changes nothing; a container\nnamed "host" is docker:host.',
    )
    .action(async (target: string | undefined, f: { host?: boolean }, cmd: Command) => {
      if (f.host && target !== undefined && target !== 'host')
        throw badInput('E_USAGE', '--host', target, 'a target and --host both given', 'give one of them');
      if (!f.host && target === undefined)
        throw badInput(
          'E_USAGE',
          'target',
          undefined,
          'missing',
          'name a target, e.g. show web, or show host',
        );
      const { show, HOST_TARGET } = await import('../../api/show.js');
      printShow(await show(target ?? HOST_TARGET), globalFlags(cmd));
    });
};
