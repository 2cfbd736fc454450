/** The pipefitter command line: commander parses, the library acts, output prints, exit code is set. */
import { Command, CommanderError } from 'commander';
import { EXIT, PipefitterError, badInput } from '../errors.js';
import { printError } from './output.js';
import { registerAttach } from './commands/attach.js';
import { registerDetach } from './commands/detach.js';
import { registerLink } from './commands/link.js';
import { registerShow } from './commands/show.js';
import { registerWait } from './commands/wait.js';
import { registerRecipe } from './commands/recipe.js';
import { registerIpam } from './commands/ipam.js';
import { registerDoctor } from './commands/doctor.js';
import { registerTry } from './commands/try.js';
import { COMPAT_HELP, isPipeworkForm, mistypedCommand, runCompat } from './commands/compat.js';
import { registerCompletion, runComplete } from './completion.js';
import { registerWatch } from './commands/watch.js';
import { registerCni } from './commands/cni.js';
import { setHostNotice } from '../state/host-lock.js';

export const VERSION = '0.1.0';

/** Where commander writes help and the version: stdout, or a --json run's buffer. */
export interface ProgramOutput {
  readonly writeOut?: (s: string) => void;
}

export const buildProgram = (o: ProgramOutput = {}): Command => {
  const program = new Command('pipefitter')
    .description('Plumb extra network interfaces into running containers and namespaces')
    .version(VERSION)
    .option('--json', 'print machine-readable JSON on stdout')
    .option('-q, --quiet', 'print nothing on success')
    .option(
      '--backend <name>',
      'netlink: change namespaces in-process (default); ip: one ip/bridge process per command',
    )
    .showHelpAfterError('(run pipefitter --help for usage)')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      writeOut: o.writeOut ?? ((s) => process.stdout.write(s)),
    });
  registerAttach(program);
  registerLink(program);
  registerDetach(program);
  registerShow(program);
  registerWait(program);
  registerRecipe(program);
  registerIpam(program);
  registerDoctor(program);
  registerTry(program);
  registerCompletion(program);
  registerWatch(program);
  registerCni(program);
  program.addHelpText(
    'after',
    `
Targets: a Docker container name or ID (docker:NAME), podman:NAME, pid:N, netns:NAME, or a
namespace file path (/run/netns/NAME, /proc/N/ns/net). A bare name is a Docker container, else
a named netns.

pipework's syntax works too (pipefitter help compat maps each form):
  pipefitter br1 web 192.0.2.10/24@192.0.2.1
  pipefitter eth3 -i lan0 web 198.51.100.7/24
  pipefitter route web add 198.51.100.0/24 via 192.0.2.254

Examples:
  pipefitter attach web --bridge br-lab --ip 192.0.2.10/24 --gateway 192.0.2.1
  pipefitter attach pid:4242 --macvlan eth3 --mode bridge --ip 198.51.100.7/24 --ifname lan0
  pipefitter attach netns:r1 --phys enp5s0f1 --ifname wan0 --ip 203.0.113.2/30
  pipefitter link web:eth2 db:eth2 --ip 192.0.2.21/30 --peer-ip 192.0.2.22/30
  pipefitter detach web --ifname eth1
  pipefitter show web --json
  pipefitter attach web --bridge br-lab --ip 192.0.2.10/24 --dry-run   # print the commands

Exit codes: 0 done or nothing to do, 1 a step failed (everything undone),
2 bad input (nothing touched), 3 the rollback failed (leftovers printed),
4 status found drift (nothing changed).`,
  );
  return program;
};

/**
 * `--backend NAME` (or `--backend=NAME`), anywhere on the line — pipework's forms included —
 * taken out of argv into PIPEFITTER_BACKEND, which the runner reads.
 */
const takeBackend = (argv: readonly string[]): string[] => {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = a === '--backend' ? argv[++i] : a.startsWith('--backend=') ? a.slice(10) : undefined;
    if (value === undefined && a !== '--backend') {
      rest.push(a);
      continue;
    }
    if (value !== 'netlink' && value !== 'ip')
      throw badInput(
        'E_USAGE',
        '--backend',
        value,
        value === undefined ? 'needs a value' : 'unknown backend',
        'use --backend netlink (in-process, the default) or --backend ip (ip and bridge processes)',
      );
    process.env.PIPEFITTER_BACKEND = value;
  }
  return rest;
};

export const main = async (args: readonly string[]): Promise<number> => {
  const wantsJson = args.includes('--json');
  // the shell completion's callback: before anything reads the words (they are the user's line)
  if (args[0] === '__complete') {
    await runComplete(buildProgram(), args.slice(1)).catch(() => undefined);
    return EXIT.ok;
  }
  // with --json, help and the version come as one JSON document too
  let captured = '';
  const program = buildProgram(wantsJson ? { writeOut: (s) => void (captured += s) } : {});
  const json = (body: Record<string, unknown>): number => {
    process.stdout.write(`${JSON.stringify({ ok: true, ...body }, null, 2)}\n`);
    return EXIT.ok;
  };
  try {
    const argv = takeBackend(args);
    if (argv.filter((a) => a !== '--json')[0] === 'help' && argv.includes('compat')) {
      if (wantsJson) return json({ help: COMPAT_HELP });
      process.stdout.write(COMPAT_HELP);
      return EXIT.ok;
    }
    const commands = new Set([...program.commands.map((c) => c.name()), 'help']);
    if (isPipeworkForm(argv, commands)) {
      const typo = mistypedCommand(argv, commands);
      if (typo) throw typo;
      await runCompat(argv);
      return EXIT.ok;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.version') return wantsJson ? json({ version: VERSION }) : EXIT.ok;
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help')
        // (no command at all: commander printed the help on stderr; --json gets the program's)
        return wantsJson ? json({ help: captured || program.helpInformation() }) : EXIT.ok;
      if (wantsJson)
        printError(new PipefitterError({ code: 'E_USAGE', message: e.message.replace(/^error: /, '') }), {
          json: true,
        });
      return EXIT.usage;
    }
    return printError(e, { json: wantsJson });
  }
};

/** The bin entry: run with process.argv and set the exit code. */
export const run = (): void => {
  // a reader that went away (`pipefitter plan | head -1`, `apply … | head -0`) ends the output,
  // not the command: an apply half-way must finish or roll back, never die of an EPIPE
  for (const s of [process.stdout, process.stderr])
    s.on('error', (e: NodeJS.ErrnoException) => {
      // EIO: the terminal hung up (an ssh session gone) under a `try` that goes on
      if (e.code !== 'EPIPE' && e.code !== 'EIO') throw e;
    });
  setHostNotice((text) => process.stderr.write(`pipefitter: ${text}\n`));
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.exitCode = printError(e, {});
    },
  );
};
