/**
 * Colours, the live progress bar and tables for humans. Colours only on a terminal: a stream that
 * is a TTY, NO_COLOR unset (or empty), TERM not "dumb", and neither --json nor -q. The progress
 * bar needs stdout and stderr both on a terminal and is drawn on stderr. Plain ANSI codes.
 */
import type { Step } from '../model/step.js';

export interface StyleFlags {
  readonly json?: boolean | undefined;
  readonly quiet?: boolean | undefined;
}

interface Tty {
  readonly isTTY?: boolean | undefined;
}

/** Should text written to `stream` carry colour? */
export const colourOn = (
  stream: Tty,
  flags: StyleFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): boolean =>
  stream.isTTY === true &&
  !(env.NO_COLOR !== undefined && env.NO_COLOR !== '') &&
  env.TERM !== 'dumb' &&
  flags.json !== true &&
  flags.quiet !== true;

const sgr =
  (open: number, close: number) =>
  (on: boolean, s: string): string =>
    on ? `\x1b[${open}m${s}\x1b[${close}m` : s;

export const red = sgr(31, 39);
export const green = sgr(32, 39);
export const yellow = sgr(33, 39);
export const cyan = sgr(36, 39);
export const bold = sgr(1, 22);
export const dim = sgr(2, 22);

/** A diagnostic line for stderr, coloured by what it starts with. */
export const paintDiagnostic = (on: boolean, line: string): string => {
  if (!on) return line;
  const m = /^(\s*)(warning:|note:|not running:|hint:)(.*)$/s.exec(line);
  if (!m) return line;
  const [, lead = '', label = '', rest = ''] = m;
  const c = label === 'note:' ? cyan : label === 'hint:' ? dim : yellow;
  return `${lead}${c(on, label)}${rest}`;
};

/** An error as formatError printed it: the first line red and bold, `hint:` dimmed. */
export const paintError = (on: boolean, text: string): string => {
  if (!on) return text;
  const [first = '', ...rest] = text.split('\n');
  return [bold(on, red(on, first)), ...rest.map((l) => paintDiagnostic(on, l))].join('\n');
};

/** The visible width of a string (without its escape codes). */
export const visibleLength = (s: string): number =>
  // eslint-disable-next-line no-control-regex
  s.replace(/\x1b\[[0-9;]*m/g, '').length;

/** Rows under a header, columns padded to their widest cell. */
export const table = (header: readonly string[], rows: readonly (readonly string[])[]): string[] => {
  const widths = header.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
};

export interface Progress {
  /** The executor's afterStep: one more step done. */
  readonly step: (step: Step, index: number, total: number) => void;
  /** Clear the bar (before the result is printed, and on failure). */
  readonly end: () => void;
}

/**
 * A live bar on stderr, `label [#####-----] 12/40 step text`, redrawn in place; or undefined when
 * not on a terminal (see colourOn). Short runs (fewer than `min` steps) draw nothing.
 */
export const progressBar = (
  label: string,
  flags: StyleFlags,
  streams: { out: Tty; err: Tty & { write(s: string): unknown; columns?: number | undefined } } = {
    out: process.stdout,
    err: process.stderr,
  },
  min = 5,
): Progress | undefined => {
  if (!colourOn(streams.out, flags) || !colourOn(streams.err, flags)) return undefined;
  let drawn = false;
  return {
    step: (s, index, total) => {
      if (total < min) return;
      const done = index + 1;
      const width = 24;
      const fill = Math.round((done / total) * width);
      const bar = `${'#'.repeat(fill)}${'-'.repeat(width - fill)}`;
      const cols = streams.err.columns ?? 80;
      const head = `${label} [${bar}] ${done}/${total} `;
      const text = s.describes.slice(0, Math.max(0, cols - head.length - 1));
      streams.err.write(`\r\x1b[K${cyan(true, head)}${dim(true, text)}`);
      drawn = true;
    },
    end: () => {
      if (drawn) streams.err.write('\r\x1b[K');
      drawn = false;
    },
  };
};
