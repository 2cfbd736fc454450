import { createInterface } from 'node:readline';
import type { Command, Option } from 'commander';
import type { TryOptions, TryResult } from '../../api/try.js';
import { badInput } from '../../errors.js';
import { EXIT } from '../../errors.js';
import { globalFlags } from '../output.js';
import { collect, toAttachInput } from './attach.js';
import { parseSets } from './recipe.js';

type AttachFlags = Parameters<typeof toAttachInput>[1];

const TRY_HELP = `
A change is applied, then verified: every interface it makes has carrier; with --ping-gateway,
every gateway it names answers a ping from inside; every --check command exits 0. Then it waits
--timeout seconds (from when verification passed) for a confirmation: Enter on the terminal, or
\`pipefitter try --confirm\` from another shell. Without one, or on a failed verification,
SIGINT, SIGTERM or \`pipefitter try --revert\`, everything is put back exactly as before (the
apply's own undo: for a recipe, the state of the recipe applied before, or none). SIGHUP (an ssh
session that drops) is ignored: the revert still comes. If the try process is killed, the next
pipefitter command that changes anything (or \`pipefitter try --revert\`) reverts it.
A --check is your own command line, run with sh -c in the host namespace.

Exit codes: 0 confirmed (or nothing to change), 1 reverted (not confirmed, verification failed,
or --revert), 2 bad input or another try pending (nothing touched), 3 the revert was incomplete
(leftovers printed).`;

interface TryFlags {
  timeout?: string;
  check: string[];
  pingGateway?: boolean;
}

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

// A terminal that hung up (the ssh session gone) fails writes with EIO, which the CLI ignores
// (cli/main.ts): the try goes on and still says what it did, to whoever still listens.
const err = (s: string): void => void process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);

const parseTimeout = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v))
    throw badInput('E_BAD_VALUE', '--timeout', v, 'not a whole number of seconds', 'e.g. --timeout 120');
  return Number(v);
};

/**
 * Enter on a terminal confirms — once the prompt is shown (`arm`): what is typed before it, while
 * the change is applied and verified, is read and dropped, so a key pressed ahead, before anyone
 * could see whether the session survives the change, does not keep it. Stdin that is not a
 * terminal (a pipe, a closed stdin) is never read: only `pipefitter try --confirm` confirms.
 */
const enterOnTty = (): { confirmed: Promise<void>; arm: () => void; close: () => void } => {
  if (!process.stdin.isTTY)
    return { confirmed: new Promise(() => undefined), arm: () => undefined, close: () => undefined };
  const rl = createInterface({ input: process.stdin });
  process.stdin.on('error', () => undefined);
  let armed = false;
  return {
    confirmed: new Promise((r) => rl.on('line', () => armed && r())),
    arm: () => {
      armed = true;
    },
    close: () => {
      rl.close();
      process.stdin.pause();
    },
  };
};

const tryOptions = (f: TryFlags): TryOptions => ({
  timeout: parseTimeout(f.timeout),
  checks: f.check,
  pingGateway: f.pingGateway,
});

const report = (r: TryResult, cmd: Command): void => {
  const json = globalFlags(cmd).json === true;
  const failed = r.outcome === 'reverted';
  if (json)
    out(
      JSON.stringify(
        {
          ok: !failed,
          action: 'try',
          title: r.title,
          outcome: r.outcome,
          ...(r.why ? { why: r.why } : {}),
          steps: r.steps,
          ...(r.verification ? { verification: r.verification } : {}),
          ...(failed ? { error: { code: r.code, message: r.why, rolledBack: r.steps } } : {}),
        },
        null,
        2,
      ),
    );
  else if (r.outcome === 'confirmed') {
    out(`confirmed: ${r.title} (${r.steps} steps kept)`);
  } else if (r.outcome === 'unchanged') {
    out(`nothing to try: ${r.title} is already in place`);
  } else {
    err(`pipefitter: reverted: ${r.why ?? ''}`);
    err(`  rolled back: ${r.steps} step(s) undone, everything is as before`);
  }
  if (failed) process.exitCode = EXIT.failed;
};

const run = async (cmd: Command, go: (o: TryOptions) => Promise<TryResult>, f: TryFlags): Promise<void> => {
  const opts = tryOptions(f);
  const tty = enterOnTty();
  try {
    const r = await go({
      ...opts,
      confirmInput: tty.confirmed,
      onWaiting: (deadline) => {
        tty.arm();
        const s = Math.round((deadline.getTime() - Date.now()) / 1000);
        err(
          `pipefitter: applied and verified; it is reverted in ${s} s unless confirmed: ` +
            `press Enter${process.stdin.isTTY ? '' : ' (on a terminal)'}, or run \`pipefitter try --confirm\` ` +
            '(`pipefitter try --revert` reverts now)',
        );
      },
    });
    report(r, cmd);
  } finally {
    tty.close();
  }
};

/** The options of an existing command (attach, apply) for its `try` form, --dry-run left out. */
const copyOptions = (program: Command, name: string, to: Command): Command => {
  const from = program.commands.find((c) => c.name() === name);
  for (const o of (from?.options ?? []) as Option[]) if (o.long !== '--dry-run') to.addOption(o);
  return to;
};

const withTryFlags = (c: Command): Command =>
  c
    .option('--timeout <seconds>', 'seconds to wait for the confirmation (1-86400)', '120')
    .option(
      '--check <command>',
      'a command line (sh -c, host namespace) that must exit 0 (repeatable)',
      collect,
      [],
    )
    .option('--ping-gateway', 'each gateway named must answer a ping from inside')
    .addHelpText('after', TRY_HELP);

export const registerTry = (program: Command): void => {
  const t = program
    .command('try')
    .description('apply an attach or a recipe, verify it, keep it only when confirmed (like netplan try)')
    .usage('attach TARGET [attach flags] | apply RECIPE [apply flags] | --confirm | --revert')
    .option('--confirm', 'keep the pending try (from another shell)')
    .option('--revert', 'revert the pending try now (also one whose process was killed)')
    .addHelpText('after', TRY_HELP)
    .action(async (f: { confirm?: boolean; revert?: boolean }, cmd: Command) => {
      if (f.confirm === f.revert)
        throw badInput(
          'E_USAGE',
          f.confirm ? '--confirm' : 'try',
          undefined,
          f.confirm ? 'cannot go with --revert' : 'needs attach, apply, --confirm or --revert',
          'e.g. pipefitter try attach web --bridge br0 --ip 192.0.2.10/24, then pipefitter try --confirm',
        );
      const { settleTry } = await import('../../api/try.js');
      const r = await settleTry(f.confirm ? 'confirm' : 'revert');
      if (globalFlags(cmd).json) out(JSON.stringify({ ok: true, action: 'try', ...r }, null, 2));
      else if (!globalFlags(cmd).quiet)
        out(`${r.outcome}: ${r.title} (pid ${r.pid}${r.byThisProcess ? ', whose process was gone' : ''})`);
    });

  withTryFlags(
    copyOptions(
      program,
      'attach',
      t.command('attach <target>').description('try an attach (the flags of pipefitter attach)'),
    ),
  ).action(async (target: string, f: AttachFlags & TryFlags, cmd: Command) => {
    const { tryAttach } = await import('../../api/try.js');
    await run(
      cmd,
      (o) =>
        tryAttach(toAttachInput(target, f), {
          ...o,
          replace: f.replace,
          force: f.force,
          allowDuplicateAddress: f.allowDuplicateAddress,
          allowHostNamespace: f.allowHostNamespace,
        }),
      f,
    );
  });

  withTryFlags(
    copyOptions(
      program,
      'apply',
      t.command('apply <recipe>').description('try a recipe apply (the flags of pipefitter apply)'),
    ),
  ).action(
    async (
      file: string,
      f: TryFlags & {
        set: string[];
        skipMissing?: boolean;
        replace?: boolean;
        allowDuplicateAddress?: boolean;
        allowHostNamespace?: boolean;
      },
      cmd: Command,
    ) => {
      const { tryApply } = await import('../../api/try.js');
      await run(
        cmd,
        (o) =>
          tryApply(file, {
            ...o,
            set: parseSets(f.set),
            skipMissing: f.skipMissing,
            replace: f.replace,
            allowDuplicateAddress: f.allowDuplicateAddress,
            allowHostNamespace: f.allowHostNamespace,
          }),
        f,
      );
    },
  );
};
