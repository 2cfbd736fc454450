/**
 * Shell completion. `pipefitter completion bash|zsh|fish` prints a script; the script calls back
 * `pipefitter __complete -- WORD… CURRENT`, answered here from the commander definitions (the
 * subcommands and flags `--help` shows, so they never drift) and live values (containers,
 * namespaces, bridges, host interfaces, recipe files) from api/completion.ts.
 */
import type { Command } from 'commander';
import { badInput } from '../errors.js';
import { globalFlags } from './output.js';
import type { CompletionSources, ValueKind } from '../api/completion.js';

/** The values (api/completion.ts), loaded only when completing: not on every command's start. */
const valuesOf = async (kind: ValueKind, typed: string, src: CompletionSources): Promise<string[]> =>
  (await import('../api/completion.js')).valuesOf(kind, typed, src);

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/**
 * Which kind of value follows a flag, by its long name; --mode by the link kind on the line
 * (macvlan's modes after --macvlan, ipvlan's after --ipvlan). The values are api/completion.ts's.
 */
const flagValue = (flag: string, words: readonly string[]): ValueKind | readonly ValueKind[] | undefined => {
  switch (flag) {
    case '--bridge':
    case '--ovs':
      return 'bridge';
    case '--macvlan':
    case '--ipvlan':
    case '--vlan':
    case '--phys':
      return 'host-interface';
    case '--backend':
      return 'backend';
    case '--ipvlan-flag':
      return 'ipvlan-flag';
    case '--format':
      return 'graph-format';
    case '--mode': {
      const on = (f: string) => words.some((w) => w === f || w.startsWith(`${f}=`));
      if (on('--ipvlan')) return 'ipvlan-mode';
      if (on('--macvlan')) return 'macvlan-mode';
      return ['macvlan-mode', 'ipvlan-mode'];
    }
    default:
      return undefined;
  }
};

/** The flags of a command as they can be typed, each with whether it takes a value. */
const flagsOf = (cmd: Command): { names: string[]; takesValue: boolean; long?: string }[] =>
  cmd.options
    .filter((o) => !o.hidden)
    .map((o) => ({
      names: [o.long, o.short].filter((n): n is string => n !== undefined),
      takesValue: o.required || o.optional,
      long: o.long,
    }));

const GLOBAL_EXTRA = [{ names: ['--help', '-h'], takesValue: false, long: '--help' }];

const visibleCommands = (cmd: Command): Command[] =>
  cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);

/** What a positional argument takes, by its name in the commander definition. */
const argumentValues = async (
  name: string,
  cmd: Command,
  cur: string,
  src: CompletionSources,
): Promise<string[]> => {
  if (name === 'recipe') return valuesOf('recipe-file', cur, src);
  if (name === 'shell') return [...SHELLS];
  if (name === 'command') return visibleCommands(cmd.parent ?? cmd).map((c) => c.name());
  if (name === 'target' || name === 'a' || name === 'b') return valuesOf('target', cur, src);
  return [];
};

/**
 * The candidates for the last word of `words` (the words after `pipefitter`, the last one being
 * typed, possibly empty), filtered by what is typed so far. One per line on stdout.
 */
export const complete = async (
  program: Command,
  words: readonly string[],
  src: CompletionSources,
): Promise<string[]> => {
  const cur = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  let cmd = program;
  const flags = () => [...flagsOf(cmd), ...GLOBAL_EXTRA, ...flagsOf(program)];
  let positional = 0;
  let pendingValue: string | undefined;
  for (const w of before) {
    if (pendingValue !== undefined) {
      pendingValue = undefined;
      continue;
    }
    if (w.startsWith('-')) {
      if (w.includes('=')) continue;
      const f = flags().find((x) => x.names.includes(w));
      if (f?.takesValue) pendingValue = f.long ?? w;
      continue;
    }
    const sub = visibleCommands(cmd).find((c) => c.name() === w || c.aliases().includes(w));
    if (sub && positional === 0) {
      cmd = sub;
      continue;
    }
    if (cmd === program && w === 'help') {
      cmd = program.createCommand('help').argument('[command]');
      cmd.parent = program;
      continue;
    }
    positional++;
  }
  let candidates: string[];
  let prefix = '';
  let typed = cur;
  if (pendingValue === undefined && cur.startsWith('--') && cur.includes('=')) {
    prefix = cur.slice(0, cur.indexOf('=') + 1);
    pendingValue = flags().find((x) => x.names.includes(prefix.slice(0, -1)))?.long;
    typed = cur.slice(prefix.length);
    if (pendingValue === undefined) return [];
  }
  if (pendingValue !== undefined) {
    const kinds = flagValue(pendingValue, before);
    candidates = (await Promise.all([kinds ?? []].flat().map((k) => valuesOf(k, typed, src)))).flat();
  } else if (cur.startsWith('-')) {
    candidates = flags().flatMap((f) => f.names.filter((n) => n.startsWith('--') || cur.length <= 2));
  } else {
    const subs = visibleCommands(cmd);
    if (subs.length > 0 && positional === 0)
      candidates = [...subs.map((c) => c.name()), ...(cmd === program ? ['help'] : [])];
    else {
      const arg = cmd.registeredArguments[positional];
      candidates = arg ? await argumentValues(arg.name(), cmd, cur, src) : [];
    }
  }
  return [...new Set(candidates)].filter((c) => c.startsWith(typed)).map((c) => prefix + c);
};

const BASH = `# bash completion for pipefitter (pipefitter completion bash)
_pipefitter() {
  local line="\${COMP_LINE:0:COMP_POINT}"
  local -a words
  read -r -a words <<< "$line"
  if [[ "$line" =~ [[:space:]]$ ]]; then words+=(""); fi
  local cur="\${words[\${#words[@]}-1]}"
  local IFS=$'\\n'
  COMPREPLY=($("\${COMP_WORDS[0]}" __complete -- "\${words[@]:1}" 2>/dev/null))
  # bash splits words at : and = (COMP_WORDBREAKS): give back only what follows the last one
  local broken="\${cur%"\${cur##*[:=]}"}"
  if [[ -n "$broken" && "$COMP_WORDBREAKS" == *"\${broken: -1}"* ]]; then
    COMPREPLY=("\${COMPREPLY[@]#"$broken"}")
  fi
  if [[ \${#COMPREPLY[@]} -eq 1 && "\${COMPREPLY[0]}" == *: ]]; then compopt -o nospace 2>/dev/null; fi
  return 0
}
complete -o default -F _pipefitter pipefitter
`;

const ZSH = `#compdef pipefitter
# zsh completion for pipefitter (pipefitter completion zsh > "\${fpath[1]}/_pipefitter")
_pipefitter() {
  local -a candidates
  candidates=("\${(@f)$(\${words[1]} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=(\${candidates:#})
  if (( \${#candidates} )); then
    compadd -Q -S '' -- \${(M)candidates:#*:}
    compadd -Q -- \${candidates:#*:}
  else
    _files
  fi
}
if [[ "\${funcstack[1]}" = _pipefitter ]]; then
  _pipefitter "$@"
else
  compdef _pipefitter pipefitter
fi
`;

const FISH = `# fish completion for pipefitter (pipefitter completion fish > ~/.config/fish/completions/pipefitter.fish)
function __pipefitter_complete
    set -l tokens (commandline -opc)
    set -e tokens[1]
    pipefitter __complete -- $tokens (commandline -ct) 2>/dev/null
end
complete -c pipefitter -f -a '(__pipefitter_complete)'
`;

export const completionScript = (shell: Shell): string =>
  shell === 'bash' ? BASH : shell === 'zsh' ? ZSH : FISH;

export const registerCompletion = (program: Command): void => {
  program
    .command('completion <shell>')
    .description('print the shell completion script for bash, zsh or fish')
    .addHelpText(
      'after',
      `
  bash:  source <(pipefitter completion bash)    (or save it in /etc/bash_completion.d/pipefitter)
  zsh:   pipefitter completion zsh > "\${fpath[1]}/_pipefitter"   (or source <(pipefitter completion zsh))
  fish:  pipefitter completion fish > ~/.config/fish/completions/pipefitter.fish`,
    )
    .action((shell: string, _o: unknown, cmd: Command) => {
      if (!(SHELLS as readonly string[]).includes(shell))
        throw badInput(
          'E_USAGE',
          'shell',
          shell,
          'not a shell pipefitter completes',
          'use bash, zsh or fish',
        );
      const script = completionScript(shell as Shell);
      if (globalFlags(cmd).json)
        process.stdout.write(`${JSON.stringify({ ok: true, shell, script }, null, 2)}\n`);
      else process.stdout.write(script);
    });
};

/** `pipefitter __complete -- WORD… CURRENT`: the candidates, one a line; never fails. */
export const runComplete = async (program: Command, args: readonly string[]): Promise<void> => {
  const words = args[0] === '--' ? args.slice(1) : args;
  const { liveSources } = await import('../api/completion.js');
  const src = liveSources();
  try {
    const found = await complete(program, words.length ? words : [''], src);
    if (found.length) process.stdout.write(`${found.join('\n')}\n`);
  } finally {
    src.close();
  }
};
