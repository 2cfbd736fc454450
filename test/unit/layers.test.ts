/** Backstop for the layer rule (STYLE.md 7.1): reads every import under src/ and checks the arrows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');
const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replaceAll('\\', '/'));

const importsOf = (file: string): string[] =>
  [
    ...readFileSync(join(SRC, file), 'utf8').matchAll(
      /^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm,
    ),
  ].map((m) => (m[1] ?? m[2] ?? m[3]) as string);

const target = (file: string, spec: string): string | undefined =>
  spec.startsWith('.')
    ? relative(SRC, resolve(dirname(join(SRC, file)), spec)).replace(/\.js$/, '.ts')
    : undefined;

const PURE =
  /^(model\/|plan\/|render\/|compat\/|cni\/(?!main\.ts$)|ipam\/pool\.ts$|names\.ts$|addr\.ts$|values\.ts$|errors\.ts$|tools\.ts$)/;
const EFFECTS = /^(exec\/|observe\/|targets\/|ipam\/store)/;
const IO_MODULES = new Set([
  'execa',
  'zx',
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:http',
  'node:https',
  'node:child_process',
  'node:dgram',
]);

test('pure layers import no I/O and no effect layer', () => {
  const bad: string[] = [];
  for (const f of files.filter((x) => PURE.test(x)))
    for (const s of importsOf(f)) {
      const t = target(f, s);
      if (IO_MODULES.has(s) || (t && EFFECTS.test(t))) bad.push(`${f} -> ${s}`);
    }
  assert.deepEqual(bad, []);
});

test('execa only in exec/runner.ts; child_process nowhere; exec/ does not import plan/', () => {
  const bad: string[] = [];
  for (const f of files)
    for (const s of importsOf(f)) {
      if (s === 'execa' && f !== 'exec/runner.ts') bad.push(`${f} -> execa`);
      if (s === 'koffi' && f !== 'netlink/socket.ts')
        bad.push(`${f} -> koffi (only netlink/socket.ts calls native code)`);
      if (s === 'node:child_process' || s === 'child_process') bad.push(`${f} -> child_process`);
      const t = target(f, s);
      if (f.startsWith('exec/') && t?.startsWith('plan/')) bad.push(`${f} -> ${s}`);
      if (f.startsWith('cli/') && t?.startsWith('exec/'))
        bad.push(`${f} -> ${s} (the CLI goes through api/)`);
      if (t?.startsWith('cli/') && !f.startsWith('cli/'))
        bad.push(`${f} -> ${s} (only the CLI imports cli/)`);
    }
  assert.deepEqual(bad, []);
});

test('namespaces are read only by observe/: its in-process reader is imported nowhere else', () => {
  // a caller that wants links alone asks observe/links.ts (readLinks), never the reader itself
  const bad: string[] = [];
  for (const f of files)
    for (const s of importsOf(f))
      if (target(f, s) === 'observe/netlink.ts' && !f.startsWith('observe/')) bad.push(`${f} -> ${s}`);
  assert.deepEqual(bad, []);
});

test('no import cycles under src/', () => {
  const graph = new Map(
    files.map((f) => [
      f,
      importsOf(f)
        .map((s) => target(f, s))
        .filter((t): t is string => t !== undefined && files.includes(t)),
    ]),
  );
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
});
