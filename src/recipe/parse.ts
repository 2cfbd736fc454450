/**
 * Recipe text → validated document, with every problem located at file:line:col.
 * YAML (JSON is YAML too) is parsed once with positions; `${name}` variables are filled in;
 * the shape is checked by the valibot schema; the values and cross-references by rules.ts.
 * Pure: the caller reads the file.
 */
import * as v from 'valibot';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node as YamlNode, Document } from 'yaml';
import { PipefitterError } from '../errors.js';
import type { RecipeIssue } from '../errors.js';
import { RecipeSchema } from './schema.js';
import type { RecipeDoc } from './schema.js';

type Path = readonly (string | number)[];
interface Where {
  readonly key?: readonly [number, number] | undefined;
  readonly value?: readonly [number, number] | undefined;
}

/**
 * Positions of every key and value, by path (merge keys `<<` contribute their source's), and the
 * offsets of keys repeated within one mapping. The duplicate check is here, one Set per mapping,
 * because yaml's own (`uniqueKeys`) compares each key with every earlier one: quadratic, 0.3 s
 * for a 500-container recipe.
 */
const indexPositions = (doc: Document): { positions: Map<string, Where>; duplicates: number[] } => {
  const out = new Map<string, Where>();
  const duplicates: number[] = [];
  const walk = (node: unknown, path: Path, seen: Set<unknown>): void => {
    if (isAlias(node)) {
      if (seen.has(node)) return;
      return walk(node.resolve(doc), path, new Set([...seen, node]));
    }
    if (isMap(node)) {
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        const k = pair.key;
        if (isScalar(k) && typeof k.value !== 'symbol') {
          if (keys.has(k.value)) duplicates.push(k.range?.[0] ?? 0);
          keys.add(k.value);
        }
        if (isScalar(k) && typeof k.value === 'symbol') {
          // `<<: *anchor` (or a list of them): the merged keys live where the anchor is.
          const src = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
          if (isSeq(src)) for (const item of src.items) walk(item, path, seen);
          else walk(src, path, seen);
          continue;
        }
        const name = isScalar(k) ? String(k.value) : String(k);
        const p = [...path, name];
        const keyRange = isScalar(k) && k.range ? ([k.range[0], k.range[1]] as const) : undefined;
        const vnode = pair.value as YamlNode | null;
        const valueRange =
          vnode && 'range' in vnode && vnode.range ? ([vnode.range[0], vnode.range[1]] as const) : undefined;
        if (!out.has(JSON.stringify(p))) out.set(JSON.stringify(p), { key: keyRange, value: valueRange });
        walk(vnode, p, seen);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const p = [...path, i];
        const n = item as YamlNode | null;
        const r = n && 'range' in n && n.range ? ([n.range[0], n.range[1]] as const) : undefined;
        out.set(JSON.stringify(p), { value: r });
        walk(item, p, seen);
      });
    }
  };
  walk(doc.contents, [], new Set());
  return { positions: out, duplicates };
};

export interface Located {
  readonly file: string;
  /** Where a path is: its value (or key, for unknown keys); the nearest parent when absent. */
  at(path: Path, which?: 'key' | 'value'): { line: number; col: number };
}

const makeLocator = (file: string, positions: Map<string, Where>, lc: LineCounter): Located => ({
  file,
  at(path, which = 'value') {
    for (let n = path.length; n >= 0; n--) {
      const w = positions.get(JSON.stringify(path.slice(0, n)));
      const r = (which === 'key' && n === path.length ? w?.key : undefined) ?? w?.value ?? w?.key;
      if (r) return lc.linePos(r[0]);
    }
    return { line: 1, col: 1 };
  },
});

/** Collects located problems; the parse fails when any was found. */
export class Issues {
  readonly list: RecipeIssue[] = [];
  constructor(readonly where: Located) {}
  add(path: Path, message: string, hint?: string, which: 'key' | 'value' = 'value'): void {
    const { line, col } = this.where.at(path, which);
    this.list.push({ file: this.where.file, line, col, path: pathText(path), message, hint });
  }
  throwIfAny(): void {
    if (this.list.length === 0) return;
    const first = this.list[0]!;
    throw new PipefitterError({
      code: 'E_RECIPE',
      message: `${first.file}:${first.line}:${first.col}: ${first.path ? `${first.path}: ` : ''}${first.message}${this.list.length > 1 ? ` (and ${this.list.length - 1} more)` : ''}`,
      hint: first.hint,
      issues: this.list,
    });
  }
}

export const pathText = (path: Path): string =>
  path
    .map((p, i) =>
      typeof p === 'number'
        ? `[${p}]`
        : /^[A-Za-z_][\w-]*$/.test(p)
          ? `${i ? '.' : ''}${p}`
          : `[${JSON.stringify(p)}]`,
    )
    .join('');

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\$/g;

/** Fill in ${name} everywhere; a string that is one whole ${name} takes the value's type. */
const interpolate = (
  value: unknown,
  vars: ReadonlyMap<string, string | number | boolean>,
  path: Path,
  issues: Issues,
): unknown => {
  if (typeof value === 'string') {
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
    if (whole) {
      const got = vars.get(whole[1]!);
      if (got === undefined)
        issues.add(
          path,
          `unknown variable \${${whole[1]!}}`,
          'define it under vars, or pass --set NAME=VALUE',
        );
      return got ?? value;
    }
    return value.replace(VAR, (m, name: string | undefined) => {
      if (m === '$$') return '$';
      const got = vars.get(name!);
      if (got === undefined) {
        issues.add(path, `unknown variable \${${name!}}`, 'define it under vars, or pass --set NAME=VALUE');
        return m;
      }
      return String(got);
    });
  }
  if (Array.isArray(value)) return value.map((x, i) => interpolate(x, vars, [...path, i], issues));
  if (value && typeof value === 'object')
    // keys too (bridge names are keys): `${p}-lan: {}`
    return Object.fromEntries(
      Object.entries(value).map(([k, x]) => [
        k.includes('$') ? String(interpolate(k, vars, [...path, k], issues)) : k,
        interpolate(x, vars, [...path, k], issues),
      ]),
    );
  return value;
};

export interface ParsedRecipe {
  readonly doc: RecipeDoc;
  readonly where: Located;
  /** The document as YAML gave it (before variables), to keep for the next run (recipe/load.ts). */
  readonly raw: unknown;
}

/** Parse the YAML with positions; syntax errors (and duplicate keys) throw, located. */
const parseYaml = (text: string, file: string): { raw: unknown; where: Located } => {
  const lc = new LineCounter();
  const yamlDoc = parseDocument(text, {
    lineCounter: lc,
    merge: true,
    uniqueKeys: false,
    prettyErrors: false,
  });
  const { positions, duplicates } = indexPositions(yamlDoc);
  const where = makeLocator(file, positions, lc);
  const issues = new Issues(where);
  const syntax = [
    ...yamlDoc.errors.map((e) => ({ at: e.pos[0], message: e.message.split('\n')[0] ?? e.message })),
    ...duplicates.map((at) => ({ at, message: 'Map keys must be unique' })),
  ].sort((a, b) => a.at - b.at);
  for (const e of syntax) {
    const pos = lc.linePos(e.at);
    issues.list.push({
      file,
      line: pos.line,
      col: pos.col,
      path: '',
      message: e.message,
      hint: 'fix the YAML syntax (indentation, quoting, unique keys)',
    });
  }
  issues.throwIfAny();
  try {
    return { raw: yamlDoc.toJS({ maxAliasCount: 10_000 }), where };
  } catch (e) {
    issues.add([], `cannot read the document: ${(e as Error).message}`, 'simplify its anchors and aliases');
    issues.throwIfAny();
    throw e;
  }
};

/**
 * Where things are in a text whose document came from elsewhere (a cached parse): the YAML is
 * parsed only when a problem needs a line and column.
 */
const lazyLocator = (text: string, file: string): Located => {
  let real: Located | undefined;
  return {
    file,
    at(path, which) {
      real ??= parseYaml(text, file).where;
      return real.at(path, which);
    },
  };
};

/**
 * Parse and shape-check a recipe. `raw`: the document of this very text from an earlier parse
 * (recipe/load.ts keeps it), which skips the YAML parser — 0.3 s of CPU for 500 containers.
 * @example parseRecipeText('version: 1\n', 'lab.yaml', { set: { prefix: 'pf-' } })
 */
export const parseRecipeText = (
  text: string,
  file: string,
  opts: { set?: Readonly<Record<string, string>>; raw?: unknown } = {},
): ParsedRecipe => {
  const { raw, where } =
    opts.raw !== undefined ? { raw: opts.raw, where: lazyLocator(text, file) } : parseYaml(text, file);
  const issues = new Issues(where);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    issues.add([], 'a recipe is a mapping with at least "version: 1"', 'start the file with: version: 1');
    issues.throwIfAny();
  }
  const obj = raw as Record<string, unknown>;
  const declared =
    obj.vars && typeof obj.vars === 'object' ? (obj.vars as Record<string, string | number | boolean>) : {};
  const vars = new Map<string, string | number | boolean>([
    ...Object.entries(declared),
    ...Object.entries(opts.set ?? {}),
  ]);
  const filled = interpolate({ ...obj, vars: undefined }, vars, [], issues) as Record<string, unknown>;
  if (obj.vars !== undefined) filled.vars = obj.vars;
  else delete filled.vars;
  issues.throwIfAny();

  const result = v.safeParse(RecipeSchema, filled);
  if (!result.success) {
    for (const i of result.issues) {
      const path = (i.path ?? []).map((p) => p.key as string | number);
      if (i.type === 'strict_object' && i.expected === 'never') {
        issues.add(
          path,
          `unknown key "${String(path.at(-1))}"`,
          'remove it or fix its spelling (see recipes/schema.json)',
          'key',
        );
      } else if (i.received === 'undefined') {
        issues.add(path, `"${String(path.at(-1))}" is required`, `add ${String(path.at(-1))}`);
      } else if (i.type === 'literal' && path.join('.') === 'version') {
        issues.add(path, `unsupported version ${i.received}`, 'this pipefitter reads version: 1');
      } else {
        issues.add(
          path,
          `expected ${i.expected ?? 'something else'}, got ${i.received}`,
          i.message.startsWith('Invalid') ? undefined : i.message,
        );
      }
    }
    issues.throwIfAny();
  }
  return { doc: (result as { output: RecipeDoc }).output, where, raw };
};
