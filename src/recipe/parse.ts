/**
 * Recipe text → validated document, with every problem located at file:line:col.
 * YAML (JSON is YAML too) is parsed once with positions; `${name}` variables are filled in;
 * the shape is checked by the valibot schema; the values and cross-references by rules.ts.
 * Pure: the caller reads the file.
 */
import * as v from 'valibot';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Alias, Node as YamlNode, Document } from 'yaml';
import { PipefitterError } from '../errors.js';
import type { RecipeIssue } from '../errors.js';
import { RecipeSchema } from './schema.js';
import type { RecipeDoc } from './schema.js';

type Path = readonly (string | number)[];
/** Where a key and its value start (offsets into the text). */
interface Where {
  readonly key?: number | undefined;
  readonly value?: number | undefined;
}

/**
 * How far anchors and aliases may grow a document: the nodes aliases add, all expansions counted,
 * may be at most 100,000 or 10 per node written, whichever is larger. A recipe repeating an anchor
 * per container (`<<: *app`) adds a few nodes per node it writes; "billion laughs" (9 aliases of 9
 * aliases of …) adds millions to a file of a few hundred bytes.
 */
export const ALIAS_LIMIT = { floor: 100_000, perNode: 10 } as const;

/** How deep collections may nest, aliases expanded (a recipe needs about 8 levels). */
export const MAX_NESTING = 64;
const tooDeep = {
  message: `nested more than ${MAX_NESTING} levels deep`,
  hint: 'a recipe nests a few levels: look for an unclosed [ or {, or an alias repeated inside itself',
};

interface YamlProblem {
  readonly at: number;
  readonly message: string;
  readonly hint: string;
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Resolve every alias the way YAML does (the last anchor of its name before it), measure the
 * document it would expand to, and only then, when that is within ALIAS_LIMIT and no alias is
 * inside its own anchor or without one, replace each alias by its anchor's node. One pass in
 * document order with an explicit stack (deep nesting and long alias chains need no recursion);
 * an anchor's expanded size is known before any alias to it, so nothing is expanded to measure.
 * yaml's own resolution searches the document for every alias (quadratic), and its alias count
 * applies while expanding.
 */
const expandAliases = (doc: Document, lc: LineCounter): YamlProblem[] => {
  const anchors = new Map<string, YamlNode>();
  const size = new Map<unknown, number>();
  const problems: YamlProblem[] = [];
  // each alias: where it stands (to replace it), what it adds
  const uses: { alias: Alias; target: YamlNode; set: (n: YamlNode) => void; adds: number }[] = [];
  let written = 0;
  const at = (n: { range?: readonly number[] | null | undefined }): number => n.range?.[0] ?? 0;
  interface Frame {
    readonly node: unknown;
    readonly kids: [unknown, (n: YamlNode) => void][];
    next: number;
    total: number;
    /** Collections from the root down to this node, itself included. */
    readonly level: number;
    /** The most collections below it on one path, aliases expanded. */
    height: number;
  }
  const isCollection = (node: unknown): boolean => isMap(node) || isSeq(node);
  let deep = false;
  const enter = (node: unknown, parentLevel: number): Frame => {
    const kids: Frame['kids'] = [];
    if (isMap(node) || isSeq(node))
      node.items.forEach((item, i) => kids.push([item, (n) => (node.items[i] = n as never)]));
    else if (isPair(node))
      kids.push([node.key, (n) => (node.key = n)], [node.value, (n) => (node.value = n)]);
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor && !isAlias(node)) anchors.set(anchor, node as YamlNode);
    const level = parentLevel + (isCollection(node) ? 1 : 0);
    if (level > MAX_NESTING && !deep) {
      deep = true;
      problems.push({ at: at(node as YamlNode), ...tooDeep });
    }
    return { node, kids, next: 0, total: isPair(node) || node == null ? 0 : 1, level, height: 0 };
  };
  const heights = new Map<unknown, number>();
  // the document itself: its contents may be an alias too
  const stack: Frame[] = [
    {
      node: null,
      kids: [[doc.contents, (n) => (doc.contents = n as never)]],
      next: 0,
      total: 0,
      level: 0,
      height: 0,
    },
  ];
  while (stack.length) {
    const top = stack.at(-1)!;
    const kid = top.kids[top.next++];
    if (kid) {
      const [node, set] = kid;
      if (!isAlias(node)) {
        stack.push(enter(node, top.level));
        continue;
      }
      written++;
      const target = anchors.get(node.source);
      const s = target && size.get(target);
      if (!target)
        problems.push({
          at: at(node),
          message: `alias *${node.source} has no anchor &${node.source} before it`,
          hint: `write &${node.source} on the node to repeat, before *${node.source}`,
        });
      else if (s === undefined) {
        problems.push({
          at: at(node),
          message: `alias *${node.source} is inside its own anchor &${node.source} (${lc.linePos(at(target)).line}:${lc.linePos(at(target)).col})`,
          hint: 'an alias repeats a complete node written before it; write this part out',
        });
      } else {
        uses.push({ alias: node, target, set, adds: s - 1 });
        top.total += s;
        const h = heights.get(target) ?? 0;
        top.height = Math.max(top.height, h);
        if (top.level + h > MAX_NESTING && !deep) {
          deep = true;
          problems.push({ at: at(node), ...tooDeep });
        }
      }
      continue;
    }
    stack.pop();
    if (top.node != null && !isPair(top.node)) written++;
    const height = top.height + (isCollection(top.node) ? 1 : 0);
    if ((top.node as { anchor?: string } | null)?.anchor) {
      size.set(top.node, top.total);
      heights.set(top.node, height);
    }
    const parent = stack.at(-1);
    if (parent) {
      parent.total += top.total;
      parent.height = Math.max(parent.height, height);
    }
  }
  if (problems.length) return problems;
  const limit = Math.max(ALIAS_LIMIT.floor, ALIAS_LIMIT.perNode * written);
  let added = 0;
  for (const u of uses) {
    added += u.adds;
    if (added > limit) {
      const all = uses.reduce((sum, x) => sum + x.adds, 0);
      return [
        {
          at: at(u.alias),
          message: `aliases would add ${count(all)} nodes to a document of ${count(written)} (past the limit here, at *${u.alias.source}); the limit is ${count(ALIAS_LIMIT.floor)} or ${ALIAS_LIMIT.perNode} per node written, whichever is larger`,
          hint: 'an anchor repeated by aliases that repeat anchors grows exponentially: write the repeated parts out, or repeat fewer',
        },
      ];
    }
  }
  for (const u of uses) u.set(u.target);
  return [];
};

/**
 * Positions of every key and value, by path (merge keys `<<` contribute their source's; aliases
 * are already replaced by their anchors' nodes, see expandAliases), and the
 * offsets of keys repeated within one mapping. The duplicate check is here, one Set per mapping,
 * because yaml's own (`uniqueKeys`) compares each key with every earlier one: quadratic, 0.3 s
 * for a 500-container recipe.
 */
const indexPositions = (doc: Document): { positions: Map<string, Where>; duplicates: number[] } => {
  const out = new Map<string, Where>();
  const duplicates: number[] = [];
  const startOf = (n: unknown): number | undefined =>
    n && typeof n === 'object' && 'range' in n ? (n as YamlNode).range?.[0] : undefined;
  const walk = (node: unknown, key: string): void => {
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
          const src = pair.value;
          if (isSeq(src)) for (const item of src.items) walk(item, key);
          else walk(src, key);
          continue;
        }
        const p = keyOf(key, isScalar(k) ? String(k.value) : String(k));
        if (!out.has(p)) out.set(p, { key: startOf(k), value: startOf(pair.value) });
        walk(pair.value, p);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const p = keyOf(key, i);
        out.set(p, { value: startOf(item) });
        walk(item, p);
      });
    }
  };
  walk(doc.contents, '');
  return { positions: out, duplicates };
};

/** A path as a Map key, built one step at a time: a mapping's key or a sequence's index. */
const keyOf = (parent: string, step: string | number): string =>
  typeof step === 'number' ? `${parent}\u0001${step}` : `${parent}\u0000${step}`;

export interface Located {
  readonly file: string;
  /** Where a path is: its value (or key, for unknown keys); the nearest parent when absent. */
  at(path: Path, which?: 'key' | 'value'): { line: number; col: number };
}

const makeLocator = (file: string, positions: Map<string, Where>, lc: LineCounter): Located => ({
  file,
  at(path, which = 'value') {
    const keys = [''];
    for (const step of path) keys.push(keyOf(keys.at(-1)!, step));
    for (let n = path.length; n >= 0; n--) {
      const w = positions.get(keys[n]!);
      const r = (which === 'key' && n === path.length ? w?.key : undefined) ?? w?.value ?? w?.key;
      if (r !== undefined) return lc.linePos(r);
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
  // before anything that follows an alias (the positions, toJS)
  const aliases = expandAliases(yamlDoc, lc);
  // a document refused for its aliases is located by their offsets, and not walked
  const { positions, duplicates } = aliases.length
    ? { positions: new Map<string, Where>(), duplicates: [] }
    : indexPositions(yamlDoc);
  const where = makeLocator(file, positions, lc);
  const issues = new Issues(where);
  const syntaxHint = 'fix the YAML syntax (indentation, quoting, unique keys)';
  const syntax = [
    // yaml's parser recurses: a deep nest overflows its stack, which it reports as an error
    ...yamlDoc.errors.map((e) =>
      /call stack/i.test(e.message)
        ? { at: e.pos[0], ...tooDeep }
        : { at: e.pos[0], message: e.message.split('\n')[0] ?? e.message, hint: syntaxHint },
    ),
    ...duplicates.map((at) => ({ at, message: 'Map keys must be unique', hint: syntaxHint })),
    ...aliases,
  ]
    .sort((a, b) => a.at - b.at)
    // a deep nest is one problem, however many times the parser ran out of stack
    .filter(
      (e, i, all) =>
        e.message !== tooDeep.message || all.findIndex((x) => x === e || x.message === e.message) === i,
    );
  for (const e of syntax) {
    const pos = lc.linePos(e.at);
    issues.list.push({ file, line: pos.line, col: pos.col, path: '', message: e.message, hint: e.hint });
  }
  issues.throwIfAny();
  try {
    // no alias is left (expandAliases): nothing for yaml's alias count to count
    return { raw: yamlDoc.toJS(), where };
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
