/**
 * The man page, pipefitter(1), in roff, from the same commander definitions as `--help`:
 * every subcommand with its usage, description and flags, then the text that ends the root
 * help (targets, pipework's forms, examples, exit codes). scripts/man.mjs writes it to
 * man/pipefitter.1 at build time; a unit test holds the committed file to this output.
 */
import type { Command, Option } from 'commander';
import { COMPAT_HELP } from './commands/compat.js';

/** Text for roff: backslashes escaped, a line never starting with a control character. */
export const roffText = (s: string): string =>
  s
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');

const bold = (s: string): string => `\\fB${roffText(s)}\\fR`;

const flagsText = (o: Option): string =>
  o.flags
    .split(/(<[^>]+>|\[[^\]]+\])/)
    .map((part) => (/^[<[]/.test(part) ? `\\fI${roffText(part)}\\fR` : bold(part)))
    .join('');

const optionText = (o: Option): string => {
  const def =
    o.defaultValue === undefined ||
    o.negate ||
    o.defaultValue === false ||
    (Array.isArray(o.defaultValue) && o.defaultValue.length === 0)
      ? ''
      : ` (default: ${JSON.stringify(o.defaultValue)})`;
  return `.TP\n${flagsText(o)}\n${roffText(`${o.description}${def}`)}`;
};

const isHidden = (c: Command): boolean => (c as unknown as { _hidden?: boolean })._hidden === true;

/** Each leaf command with its full name (`ipam ls`), depth first, in definition order. */
export const manCommands = (program: Command): { path: string; cmd: Command }[] => {
  const out: { path: string; cmd: Command }[] = [];
  const visit = (c: Command, prefix: string): void => {
    for (const sub of c.commands) {
      if (isHidden(sub)) continue;
      const path = `${prefix}${sub.name()}`;
      out.push({ path, cmd: sub });
      visit(sub, `${path} `);
    }
  };
  visit(program, '');
  return out;
};

/** The root help's closing text (after the commands): what addHelpText('after') printed. */
const helpAfter = (program: Command): string => {
  let text = '';
  const saved = program.configureOutput();
  program.configureOutput({ ...saved, writeOut: (s) => (text += s) });
  program.outputHelp();
  program.configureOutput(saved);
  return text.slice(program.helpInformation().length).trim();
};

/** Paragraphs of the closing text: a heading line ends with ":" or a blank line splits. */
const freeText = (text: string): string =>
  text
    .split(/\n\s*\n/)
    .map((para) => {
      const lines = para.split('\n');
      const indented = lines.slice(1).every((l) => l.startsWith('  '));
      if (lines.length > 1 && indented)
        return `.PP\n${roffText(lines[0] ?? '')}\n.RS 4\n.nf\n${lines
          .slice(1)
          .map((l) => roffText(l.slice(2)))
          .join('\n')}\n.fi\n.RE`;
      return `.PP\n${roffText(lines.join(' ').replace(/\s+/g, ' '))}`;
    })
    .join('\n');

export const renderMan = (program: Command, version: string): string => {
  const name = program.name();
  const lines: string[] = [
    `.\\" generated from pipefitter's command definitions by scripts/man.mjs; do not edit`,
    `.TH ${name.toUpperCase()} 1 "" "${name} ${version}" "User Commands"`,
    '.SH NAME',
    `${name} \\- ${roffText(program.description().replace(/^./, (c) => c.toLowerCase()))}`,
    '.SH SYNOPSIS',
  ];
  const commands = manCommands(program);
  for (const { path, cmd } of commands)
    if (cmd.commands.length === 0) lines.push(`.br\n${bold(name)} ${bold(path)} ${roffText(cmd.usage())}`);
  lines.push(`.br\n${bold(name)} \\fIhostinterface\\fR ... (pipework's forms; see \\fBPIPEWORK FORMS\\fR)`);
  lines.push('.SH GLOBAL OPTIONS');
  for (const o of program.options) lines.push(optionText(o));
  lines.push('.SH COMMANDS');
  for (const { path, cmd } of commands) {
    lines.push(
      `.SS "${roffText(`${name} ${path}`)}${cmd.commands.length ? '' : ` ${roffText(cmd.usage())}`}"`,
    );
    lines.push(roffText(cmd.description()));
    const opts = cmd.options.filter((o) => !o.hidden);
    if (opts.length) lines.push('.RS 4', ...opts.map(optionText), '.RE');
  }
  lines.push('.SH NOTES', freeText(helpAfter(program)));
  lines.push('.SH PIPEWORK FORMS', '.nf', roffText(COMPAT_HELP.trimEnd()), '.fi');
  lines.push(
    '.SH ENVIRONMENT',
    '.TP',
    bold('PIPEFITTER_BACKEND'),
    roffText('netlink or ip, as --backend.'),
    '.TP',
    bold('DOCKER_HOST'),
    roffText('the Docker Engine API to ask for docker: targets (default unix:///var/run/docker.sock).'),
    '.TP',
    bold('NO_COLOR'),
    roffText('set: no colours on a terminal.'),
    '.SH SEE ALSO',
    '\\fBip\\fR(8), \\fBbridge\\fR(8), \\fBip\\-netns\\fR(8)',
  );
  return `${lines.join('\n')}\n`;
};
