/** POSIX shell quoting for commands printed to humans and rendered into scripts. */
const SAFE = /^[A-Za-z0-9_\-.,:/@%+=]+$/;

export const shellQuote = (s: string): string =>
  s !== '' && SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;

export const shellJoin = (argv: readonly string[]): string => argv.map(shellQuote).join(' ');
