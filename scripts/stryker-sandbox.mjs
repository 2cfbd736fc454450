#!/usr/bin/env node
// Two helpers for Stryker's sandbox (stryker.config.mjs); neither is used outside it.
//
// `build` (Stryker's buildCommand, after the mutants are instrumented): every .ts file under
// src/ and test/ gets a .js twin next to it, so the unit tests run on plain `node` instead of
// `node --import tsx`. Relative imports already name `.js` files, so nothing else changes. tsx
// itself transpiles with esbuild (same tsconfig), so the code under test is the same; what is
// saved is tsx's start-up in each of the thousands of test-file processes a run starts (about
// 0.4 s each on an idle 2-core machine, several times that under load).
//
// `run FILE.test.ts` (the file the TAP runner names): imports FILE.test.js, the twin, in this
// process, where Stryker's hook counts coverage. Tests keep their .ts names, so incremental
// mode compares the real test sources between runs.
//
// Both refuse to run outside a Stryker sandbox: the .js twins must never land in the repository.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

if (!process.cwd().split(sep).includes('.stryker-tmp')) {
  console.error(`stryker-sandbox: only for Stryker's sandbox (.stryker-tmp/sandbox-*), not ${process.cwd()}`);
  process.exit(2);
}

const [mode, file] = process.argv.slice(2);
if (mode === 'run' && file?.endsWith('.ts')) {
  await import(pathToFileURL(resolve(file.replace(/\.ts$/, '.js'))).href);
} else if (mode === 'build') {
  const { transform } = await import('esbuild');
  const { compilerOptions } = JSON.parse(await readFile('tsconfig.json', 'utf8'));
  let count = 0;
  for (const dir of ['src', 'test']) {
    for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
      const ts = join(e.parentPath ?? e.path, e.name);
      const out = await transform(await readFile(ts, 'utf8'), {
        loader: 'ts',
        format: 'esm',
        target: `node${process.versions.node}`, // as tsx does
        sourcefile: ts,
        tsconfigRaw: { compilerOptions },
      });
      await writeFile(ts.replace(/\.ts$/, '.js'), out.code);
      count++;
    }
  }
  console.log(`stryker-sandbox: ${count} files transpiled`);
} else {
  console.error('usage: stryker-sandbox.mjs build | run FILE.test.ts');
  process.exit(2);
}
