/**
 * The type of each input field. The CLI always gives strings, but a library caller in JavaScript,
 * or an attachment record read back (state/attachments.ts), may give anything: each field's type
 * is checked before it is parsed (input.ts), so the error names the field and what it takes
 * instead of surfacing as a TypeError deep in a parser.
 */
import { badInput } from '../errors.js';

export type Shape = 'string' | 'strings' | 'boolean' | 'string-or-number' | 'string-or-boolean' | 'trunk';

const SHAPE_TEXT: Record<Shape, [string, string]> = {
  string: ['a string', 'e.g. "br-lab"'],
  strings: ['a string or a list of strings', 'e.g. ["192.0.2.10/24"]'],
  boolean: ['true or false', 'e.g. true'],
  'string-or-number': ['a number or a string', 'e.g. 1500'],
  'string-or-boolean': ['true or a string', 'e.g. true or "udhcpc"'],
  trunk: ['a string or a list of numbers or strings', 'e.g. [10, 20] or "10,20"'],
};

const fits = (v: unknown, s: Shape): boolean => {
  switch (s) {
    case 'string':
      return typeof v === 'string';
    case 'strings':
      return typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    case 'boolean':
      return typeof v === 'boolean';
    case 'string-or-number':
      return typeof v === 'string' || typeof v === 'number';
    case 'string-or-boolean':
      return typeof v === 'string' || typeof v === 'boolean';
    case 'trunk':
      return (
        typeof v === 'string' ||
        (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number'))
      );
  }
};

/** The flag a field is given with on the command line (`dhcpOption` → `--dhcp-option`). */
const flagOf = (key: string): string =>
  key === 'target' || key === 'a' || key === 'b'
    ? key
    : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export const checkShape = (
  input: unknown,
  shape: Readonly<Record<string, Shape>>,
  required: readonly string[],
): void => {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw badInput('E_BAD_VALUE', 'input', undefined, 'not an object', `give { ${required.join(', ')}, … }`);
  const o = input as Record<string, unknown>;
  for (const k of required)
    if (o[k] === undefined) throw badInput('E_USAGE', flagOf(k), undefined, 'missing', `give ${k}`);
  for (const [k, s] of Object.entries(shape)) {
    const v = o[k];
    if (v === undefined || fits(v, s)) continue;
    const [what, example] = SHAPE_TEXT[s];
    throw badInput(
      'E_BAD_VALUE',
      flagOf(k),
      JSON.stringify(v),
      `expected ${what}, got ${Array.isArray(v) ? 'a list of other values' : v === null ? 'null' : typeof v}`,
      `give ${what}, ${example}`,
    );
  }
};
