/**
 * `npx tsx bench/startup.ts [ROUNDS]`: what start-up costs the CLI, and what a V8 startup
 * snapshot of it would give (issue 12). CPU time (user + system, from /usr/bin/time) of
 * `--help`, which loads the CLI and prints without touching any namespace, for: bare Node
 * (`node -e 0`), the CLI as shipped (ESM bundle, commands' modules loaded on demand), and the
 * whole CLI bundled into one script and built into a startup snapshot (`node --snapshot-blob`).
 * CPU time, not wall time, so a busy machine blurs it less. Needs no root; writes only to a
 * temporary directory it removes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { $ } from 'zx';

$.verbose = false;
const ROOT = resolve(import.meta.dirname, '..');
const rounds = Number(process.argv[2] ?? 10);
const dir = await mkdtemp(join(tmpdir(), 'pf-startup-'));
try {
  const script = join(dir, 'cli.js');
  const blob = join(dir, 'cli.blob');
  await build({
    entryPoints: [join(ROOT, 'src/cli/main.ts')],
    outfile: script,
    bundle: true,
    format: 'iife',
    globalName: 'PF',
    platform: 'node',
    target: 'node20',
    // native code cannot be in a snapshot: koffi loads when first used, as it does anyway
    external: ['koffi'],
    define: { __PF_BUNDLED__: 'false', 'import.meta.url': JSON.stringify(`file://${ROOT}/src/cli/main.js`) },
    footer: { js: "require('node:v8').startupSnapshot.setDeserializeMainFunction(() => PF.run());" },
    logLevel: 'error',
  });
  await $`node --snapshot-blob ${blob} --build-snapshot ${script}`.quiet();
  const kinds: [string, string[]][] = [
    ['bare node (node -e 0)', ['-e', '0']],
    ['CLI as shipped (--help)', [join(ROOT, 'bin/pipefitter.js'), '--help']],
    ['CLI from a startup snapshot (--help)', ['--snapshot-blob', blob, '--', '--help']],
  ];
  const cpu: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++)
    for (const [name, args] of kinds) {
      const out = await $`/usr/bin/time -f ${'%U %S'} node ${args}`.nothrow().quiet();
      const [u = 0, s = 0] = out.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      (cpu[name] ??= []).push(Math.round((u + s) * 1000));
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  console.log(`CPU ms (user + system), median of ${rounds}; load ${loadavg()[0]?.toFixed(2) ?? '?'}`);
  for (const [name] of kinds) console.log(`${String(median(cpu[name]!)).padStart(6)}  ${name}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
