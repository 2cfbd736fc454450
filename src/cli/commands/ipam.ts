import type { Command } from 'commander';
const store = async () => (await import('../../ipam/store.js')).openFileStore();
import { readdir } from 'node:fs/promises';
import { readRecipeState, stateRoot } from '../../state/recipes.js';
import { badInput } from '../../errors.js';
import { globalFlags } from '../output.js';

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

/** Recipes with a state file: their allocations are alive. */
const liveRecipes = async (): Promise<Set<string>> => {
  const names = (await readdir(`${stateRoot()}/recipes`).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5));
  const live = new Set<string>();
  for (const n of names) if (await readRecipeState(n)) live.add(n);
  return live;
};

export const registerIpam = (program: Command): void => {
  const ipam = program.command('ipam').description('addresses handed out to "auto" interfaces of recipes');
  ipam
    .command('ls')
    .description('list allocations')
    .action(async (_f: unknown, cmd: Command) => {
      const list = await (await store()).list();
      if (globalFlags(cmd).json) return out(JSON.stringify(list, null, 2));
      if (list.length === 0) return out('no allocations');
      for (const a of list) out(`${a.address.padEnd(22)} ${a.key.padEnd(30)} ${a.pool}  ${a.created}`);
    });
  ipam
    .command('release [key]')
    .description('give back the address of KEY (recipe/container/ifname), or of a whole recipe')
    .option('--recipe <name>', 'every allocation of this recipe')
    .action(async (key: string | undefined, f: { recipe?: string }, cmd: Command) => {
      if ((key === undefined) === (f.recipe === undefined))
        throw badInput(
          'E_USAGE',
          'ipam release',
          undefined,
          'give a KEY or --recipe NAME',
          'see `pipefitter ipam ls` for keys',
        );
      const s = await store();
      const gone =
        key !== undefined
          ? [await s.release(key)].filter((x) => x !== undefined)
          : await s.releaseWhere((a) => a.key.startsWith(`${f.recipe!}/`));
      if (globalFlags(cmd).json) return out(JSON.stringify(gone, null, 2));
      out(
        gone.length ? gone.map((a) => `released ${a.address} (${a.key})`).join('\n') : 'nothing to release',
      );
    });
  ipam
    .command('gc')
    .description('release the addresses of recipes that no longer exist (destroyed, or state lost)')
    .action(async (_f: unknown, cmd: Command) => {
      const live = await liveRecipes();
      const gone = await (await store()).releaseWhere((a) => !live.has(a.key.split('/')[0] ?? ''));
      if (globalFlags(cmd).json) return out(JSON.stringify(gone, null, 2));
      out(
        gone.length ? gone.map((a) => `released ${a.address} (${a.key})`).join('\n') : 'nothing to collect',
      );
    });
};
