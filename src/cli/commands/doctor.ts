import type { Command } from 'commander';
import { globalFlags } from '../output.js';

export const registerDoctor = (program: Command): void => {
  program
    .command('doctor')
    .description('which link kinds and features this kernel supports, and which tools are here')
    .action(async (_f: unknown, cmd: Command) => {
      const { doctor } = await import('../../api/doctor.js');
      const r = await doctor();
      const missing = r.items.some((i) => i.required && !i.ok);
      if (missing) process.exitCode = 1;
      if (globalFlags(cmd).json) {
        // ok: nothing required is missing (the exit code says the same)
        process.stdout.write(JSON.stringify({ ok: !missing, ...r }, null, 2) + '\n');
        return;
      }
      process.stdout.write(`kernel ${r.kernel}\n`);
      for (const i of r.items) {
        const facts = !i.ok && i.facts ? i.facts.map((f) => `\n           - ${f}`).join('') : '';
        const detail = !i.ok && !i.facts && i.detail ? ` (${i.detail})` : '';
        process.stdout.write(
          `  ${i.ok ? 'ok     ' : i.required ? 'MISSING' : 'missing'}  ${i.what}${detail}${facts}${i.fix ? `\n           fix: ${i.fix}` : ''}\n`,
        );
      }
    });
};
