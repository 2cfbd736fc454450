import type { Command } from 'commander';
import { globalFlags } from '../output.js';

// The IPAM machinery (recipes, the store) loads only for these commands.
const ipamApi = () => import('../../api/ipam.js');

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const err = (s: string): void => void process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);

export const registerIpam = (program: Command): void => {
  const ipam = program
    .command('ipam')
    .description('addresses handed out to "auto" interfaces of recipes and by the CNI plugin\'s own IPAM');
  ipam
    .command('ls')
    .description('list allocations')
    .action(async (_f: unknown, cmd: Command) => {
      const list = await (await ipamApi()).listAllocations();
      if (globalFlags(cmd).json) return out(JSON.stringify({ ok: true, allocations: list }, null, 2));
      if (list.length === 0) return out('no allocations');
      for (const a of list) out(`${a.address.padEnd(22)} ${a.key.padEnd(30)} ${a.pool}  ${a.created}`);
    });
  ipam
    .command('release [key]')
    .description(
      'give back the address of KEY (recipe/container/ifname), or of a whole recipe; refused while in use',
    )
    .option('--recipe <name>', 'every allocation of this recipe')
    .option('--force', 'release it even while its recipe is applied and uses it')
    .action(async (key: string | undefined, f: { recipe?: string; force?: boolean }, cmd: Command) => {
      const r = await (await ipamApi()).releaseAllocations({ key, recipe: f.recipe, force: f.force });
      if (globalFlags(cmd).json) return out(JSON.stringify({ ok: true, released: r.released }, null, 2));
      out(
        r.released.length
          ? r.released.map((a) => `released ${a.address} (${a.key})`).join('\n')
          : `nothing to release: recipe "${f.recipe ?? ''}" has no allocations`,
      );
      for (const u of r.forced)
        err(
          `note: ${u.allocation.key} was in use (${u.why}); another allocation may get ${u.allocation.address} while it is still there, and the next apply of "${u.recipe}" allocates anew`,
        );
    });
  ipam
    .command('gc')
    .description(
      'release the addresses of recipes that no longer exist (destroyed, or state lost), and CNI leases whose attachment is gone',
    )
    .action(async (_f: unknown, cmd: Command) => {
      const r = await (await ipamApi()).collectAllocations();
      if (globalFlags(cmd).json) return out(JSON.stringify({ ok: true, released: r.released }, null, 2));
      out(
        r.released.length
          ? r.released.map((a) => `released ${a.address} (${a.key})`).join('\n')
          : 'nothing to collect',
      );
    });
};
