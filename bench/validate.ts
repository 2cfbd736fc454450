/**
 * Validation time against recipe size (issue 13, "Input bounds"): recipes of 1k, 10k and 100k
 * containers on one bridge network with static addresses, parsed and checked by recipeFromText
 * (pure: nothing is read or changed; the addresses exist only in the generated text). Prints each
 * time and the ratios 10k/1k and 100k/10k (linear ≈ 10). No root.
 *
 *   npx tsx bench/validate.ts            # 1k, 10k, 100k; plain and with a merge key per container
 *   npx tsx bench/validate.ts 1000 5000  # other sizes
 */
import { recipeFromText } from '../src/recipe/load.js';

/** The n-th address of 198.18.0.0/15 (RFC 2544 benchmarking range), skipping .0 and the gateway .1. */
const addr = (i: number): string => {
  const n = i + 2;
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
};

export const bigRecipe = (n: number, merge: boolean): string => {
  const lines = [
    'version: 1',
    'networks:',
    '  lan: { bridge: bench-br, subnet: 198.18.0.0/15, gateway: 198.18.0.1 }',
    'containers:',
  ];
  if (merge)
    lines.push(
      '  c0: &c',
      '    target: netns:bench-c0',
      '    interfaces: { eth1: { network: lan, gateway: true } }',
    );
  for (let i = merge ? 1 : 0; i < n; i++) {
    if (merge) lines.push(`  c${i}: { <<: *c, target: 'netns:bench-c${i}' }`);
    else {
      lines.push(`  c${i}:`, `    target: netns:bench-c${i}`, '    interfaces:');
      lines.push(`      eth1: { network: lan, address: ${addr(i)}, gateway: true }`);
    }
  }
  return lines.join('\n') + '\n';
};

/** Wall and CPU milliseconds of one recipeFromText (the machine may be shared: CPU time is steadier). */
const time = (text: string): { wall: number; cpu: number } => {
  const t = performance.now();
  const c = process.cpuUsage();
  const r = recipeFromText(text, 'bench.yaml');
  const u = process.cpuUsage(c);
  if (r.containers.length === 0) throw new Error('no containers');
  return { wall: performance.now() - t, cpu: (u.user + u.system) / 1000 };
};

const sizes = process.argv.slice(2).map(Number);
const ns = sizes.length ? sizes : [1_000, 10_000, 100_000];
time(bigRecipe(1000, false)); // warm up the JIT and the module graph
for (const merge of [false, true]) {
  const label = merge ? 'merge key' : 'plain    ';
  const ms = ns.map((n) => {
    const text = bigRecipe(n, merge);
    const t = time(text);
    console.log(
      `${label}  ${String(n).padStart(7)} containers  ${(text.length / 1e6).toFixed(1).padStart(5)} MB  ${t.wall.toFixed(0).padStart(7)} ms wall  ${t.cpu.toFixed(0).padStart(7)} ms cpu`,
    );
    return t;
  });
  const ratios = ms
    .slice(1)
    .map(
      (t, i) =>
        `${ns[i + 1]! / 1000}k/${ns[i]! / 1000}k ${(t.wall / ms[i]!.wall).toFixed(1)} wall, ${(t.cpu / ms[i]!.cpu).toFixed(1)} cpu`,
    );
  if (ratios.length) console.log(`${label}  ratios: ${ratios.join('; ')}`);
}
