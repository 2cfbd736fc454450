#!/usr/bin/env node
// Bundles the CLI into dist/cli-bundle/ (esbuild, ESM with code splitting): one file to load
// at start-up instead of hundreds, and the recipe machinery (YAML, schema, IPAM) in chunks that
// load only for the commands that use them. bin/pipefitter.js runs it. The library entry
// (dist/index.js, with types) stays tsc's output.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/cli-bundle', { recursive: true, force: true });

await build({
  // cni: the CNI plugin's entry (src/cni/main.ts), sharing chunks with the CLI
  entryPoints: { pipefitter: 'src/cli/main.ts', cni: 'src/cni/main.ts' },
  outdir: 'dist/cli-bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  sourcemap: false,
  logLevel: 'warning',
  // PIPEFITTER_RELEASE=1: the fault injection of the reliability tests (exec/apply.ts) compiled out
  define: {
    __PF_BUNDLED__: 'true',
    __PF_FAULTS__: process.env.PIPEFITTER_RELEASE === '1' ? 'false' : 'true',
  },
  // proper-lockfile and its deps are CommonJS and call require(); give the ESM bundle one
  banner: {
    js: "import { createRequire as __pfRequire } from 'node:module'; const require = __pfRequire(import.meta.url);",
  },
});
