/**
 * `npx tsx bench/cni-startup.ts [ROUNDS]` (no root, nothing touched): where the start-up of one
 * CNI ADD goes, in CPU time (user + system, /usr/bin/time; steadier than wall time on a shared
 * machine), median of ROUNDS, each case once per round in turn:
 *
 * - bare Node (`node -e 0`);
 * - the CNI entry as shipped answering VERSION (dist/cli-bundle/cni.js: decoding only);
 * - the entry plus the ADD operation's code loaded (its chunks imported, nothing run);
 * - the same code (entry and every operation, modules initialised) built into a V8 startup
 *   snapshot (`node --snapshot-blob B --build-snapshot`), started from the blob with a main
 *   function that does nothing: the most a snapshot could save on the JavaScript side (koffi, a
 *   native addon, cannot be in it: it loads when the first socket opens, as now).
 */
import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { $ } from 'zx';

$.verbose = false;
const ROOT = resolve(import.meta.dirname, '..');
const BUNDLE = join(ROOT, 'dist/cli-bundle');
const rounds = Number(process.argv[2] ?? 10);
const addChunk = (await readdir(BUNDLE)).find((f) => /^cni-add-.*\.js$/.test(f));
if (!addChunk) throw new Error(`no cni-add chunk in ${BUNDLE}: run npm run build`);
const dir = await mkdtemp(join(tmpdir(), 'pf-cni-startup-'));
try {
  const script = join(dir, 'cni-snap.js');
  const blob = join(dir, 'cni.blob');
  const verbs = ['cni-add', 'cni-del', 'cni-check', 'cni-status', 'cni-gc'];
  await build({
    stdin: {
      contents: [
        "import '../cni/config.js'; import '../cni/env.js'; import '../cni/version.js'; import '../cni/failure.js';",
        // the operations' modules are in the snapshot compiled, initialised when imported (at
        // run time: initialising them while building fails, some hold handles)
        `const load = () => Promise.all([${verbs.map((v) => `import('./${v}.js')`).join(', ')}]);`,
        "require('node:v8').startupSnapshot.setDeserializeMainFunction(() => void load());",
      ].join('\n'),
      resolveDir: join(ROOT, 'src/api'),
      loader: 'ts',
    },
    outfile: script,
    bundle: true,
    format: 'iife',
    platform: 'node',
    target: 'node20',
    external: ['koffi'],
    define: {
      __PF_BUNDLED__: 'true',
      __PF_FAULTS__: 'true',
      'import.meta.url': JSON.stringify(`file://${BUNDLE}/cni.js`),
    },
    logLevel: 'error',
  });
  await $`node --snapshot-blob ${blob} --build-snapshot ${script}`.quiet();
  const kinds: [string, string[]][] = [
    ['bare node (node -e 0)', ['-e', '0']],
    ['CNI entry, VERSION', [join(BUNDLE, 'cni.js')]],
    [
      'CNI entry + ADD code loaded',
      [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(join(BUNDLE, 'cni.js'))}); await import(${JSON.stringify(join(BUNDLE, addChunk))})`,
      ],
    ],
    ['all CNI code from a V8 startup snapshot, operations initialised', ['--snapshot-blob', blob]],
  ];
  const cpu: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++)
    for (const [name, args] of kinds) {
      const out = await $({
        env: { ...process.env, CNI_COMMAND: 'VERSION' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })`/usr/bin/time -f ${'%U %S'} node ${args}`.nothrow();
      const [u = 0, s = 0] = out.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      (cpu[name] ??= []).push(Math.round((u + s) * 1000));
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  console.log(`CPU ms (user + system), median of ${rounds}; load ${loadavg()[0]?.toFixed(2) ?? '?'}`);
  for (const [name] of kinds)
    console.log(`${String(median(cpu[name]!)).padStart(6)}  ${name}  [${cpu[name]!.join(' ')}]`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
