import type { Command } from 'commander';
import type { RecipeOptions, RecipeReport, StatusReport } from '../../api/recipe.js';

// The recipe machinery (YAML, schema, IPAM) loads only for the commands that use it.
const recipes = () => import('../../api/recipe.js');
const loader = () => import('../../recipe/load.js');
import { EXIT, badInput } from '../../errors.js';
import { netnsKey } from '../../model/netns.js';
import { globalFlags } from '../output.js';
import { bold, colourOn, dim, green, paintDiagnostic, progressBar, table, yellow } from '../style.js';
import { ALLOW_DUPLICATE_ADDRESS, ALLOW_HOST_NAMESPACE, collect } from './attach.js';

interface RecipeFlags {
  set: string[];
  skipMissing?: boolean;
  replace?: boolean;
  allowDuplicateAddress?: boolean;
  dryRun?: boolean;
  allowHostNamespace?: boolean;
}

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const err = (s: string): void => {
  const line = paintDiagnostic(colourOn(process.stderr), s);
  process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
};

export const parseSets = (sets: readonly string[]): Record<string, string> => {
  const o: Record<string, string> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw badInput('E_USAGE', '--set', s, 'not NAME=VALUE', 'e.g. --set prefix=lab-');
    o[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return o;
};

const options = (f: RecipeFlags): RecipeOptions => ({
  set: parseSets(f.set),
  skipMissing: f.skipMissing,
  replace: f.replace,
  allowDuplicateAddress: f.allowDuplicateAddress,
  dryRun: f.dryRun,
  allowHostNamespace: f.allowHostNamespace,
});

/** Steps grouped per namespace, for humans. */
const printSteps = (r: RecipeReport, verb: string): void => {
  let last = '';
  for (const s of r.plan.steps) {
    const where = netnsKey(s.netns);
    if (where !== last) out(`  ${where}:`);
    last = where;
    out(`    ${verb === 'plan' ? '+' : '✓'} ${s.describes}`);
  }
};

const printReport = (r: RecipeReport, verb: 'plan' | 'apply' | 'destroy', cmd: Command): void => {
  const g = globalFlags(cmd);
  if (g.json)
    return out(
      JSON.stringify(
        {
          ok: true,
          action: verb,
          recipe: r.recipe,
          changed: r.applied,
          steps: r.plan.steps.map((s) => ({ netns: netnsKey(s.netns), describes: s.describes })),
          notes: r.plan.notes,
          missing: r.missing,
          addresses: r.addresses,
          processes: r.processes,
          changeProcesses: r.changeProcesses,
          durationMs: r.durationMs,
          ...(r.carrier ? { interfaces: r.carrier } : {}),
        },
        null,
        2,
      ),
    );
  for (const c of r.carrier ?? [])
    if (!c.carrier) err(`warning: ${c.target} ${c.ifname} has no carrier: ${c.why ?? 'unknown'}`);
  for (const m of r.missing)
    err(
      m.released
        ? `removed: ${m.container} (${m.target}) — its part was released at ${m.released.at}; left out until it is back`
        : `not running: ${m.container} (${m.target}) — ${verb === 'plan' ? 'apply will refuse unless --skip-missing' : 'left out'}`,
    );
  if (r.plan.steps.length === 0) return out(`${r.recipe}: no changes`);
  if (g.quiet) return;
  const tty = colourOn(process.stdout, g);
  out(
    (verb === 'plan' ? (t: string) => t : (t: string) => green(tty, t))(
      `${r.recipe}: ${verb === 'plan' ? `${r.plan.steps.length} changes` : verb === 'apply' ? `applied ${r.plan.steps.length} changes` : `removed (${r.plan.steps.length} steps)`}${r.durationMs ? ` in ${r.durationMs.toFixed(0)} ms` : ''}, ${r.processes} processes`,
    ),
  );
  if (verb === 'plan') printSteps(r, verb);
  for (const a of r.addresses) out(`  ${a.key}: ${a.address}`);
  if (verb === 'apply') printSummary(r, tty);
  for (const n of r.plan.notes) err(`note: ${n}`);
};

/** After apply: per container, its interfaces, addresses and whether it changed. */
const printSummary = (r: RecipeReport, tty: boolean): void => {
  const rows = (r.containers ?? []).flatMap((c) => {
    const status =
      c.status === 'changed'
        ? green(tty, c.status)
        : c.status === 'unchanged'
          ? dim(tty, c.status)
          : yellow(tty, c.status);
    const ifs = c.interfaces.length ? c.interfaces : [{ ifname: '-', network: '', addresses: [] }];
    return ifs.map((i, k) => [
      k === 0 ? c.container : '',
      k === 0 ? c.target : '',
      i.ifname,
      i.network,
      i.addresses.join(' ') || '-',
      k === 0 ? status : '',
    ]);
  });
  if (rows.length === 0) return;
  out('');
  const [head, ...body] = table(['CONTAINER', 'TARGET', 'INTERFACE', 'NETWORK', 'ADDRESSES', 'STATUS'], rows);
  out(bold(tty, head ?? ''));
  for (const l of body) out(l);
};

/**
 * Progress on long applies and destroys: a live bar on a terminal (style.ts), else a line on
 * stderr every 25 steps; nothing with --json or -q.
 */
const progress = (cmd: Command, verb: string) => {
  const g = globalFlags(cmd);
  if (g.json || g.quiet) return { onStep: undefined, end: () => undefined };
  const bar = progressBar(verb, g);
  if (bar) return { onStep: bar.step, end: bar.end };
  let n = 0;
  return { onStep: () => void (++n % 25 === 0 && err(`  … ${n} steps done`)), end: () => undefined };
};

const withRecipeFlags = (c: Command): Command =>
  c.option('--set <name=value>', 'a value for ${name} in the recipe (repeatable)', collect, []);
const withTargetFlags = (c: Command): Command =>
  withRecipeFlags(c).option('--allow-host-namespace', ALLOW_HOST_NAMESPACE);

export const registerRecipe = (program: Command): void => {
  withTargetFlags(
    program
      .command('plan <recipe>')
      .description('what apply would change, per container and bridge; nothing is touched'),
  )
    .option('--skip-missing', 'leave out containers that are not running')
    .option('--allow-duplicate-address', ALLOW_DUPLICATE_ADDRESS)
    .action(async (file: string, f: RecipeFlags, cmd: Command) =>
      printReport(await (await recipes()).plan(file, options(f)), 'plan', cmd),
    );

  withTargetFlags(
    program
      .command('apply <recipe>')
      .description('make the machine match the recipe (all or nothing; again: no changes)'),
  )
    .option('--skip-missing', 'leave out containers that are not running instead of refusing')
    .option('--replace', 'replace interfaces of the same name that have other settings')
    .option('--allow-duplicate-address', ALLOW_DUPLICATE_ADDRESS)
    .option('-n, --dry-run', 'print the plan as a shell script; change nothing')
    .action(async (file: string, f: RecipeFlags, cmd: Command) => {
      const p = progress(cmd, 'apply');
      const r = await (await recipes()).apply(file, { ...options(f), onStep: p.onStep }).finally(p.end);
      if (f.dryRun && !globalFlags(cmd).json) return out(r.script);
      printReport(r, 'apply', cmd);
    });

  withTargetFlags(
    program
      .command('status <recipe>')
      .description('in sync (exit 0) or drifted (exit 4), with each difference'),
  )
    .option('--skip-missing', 'do not count containers that are not running')
    .option('--allow-duplicate-address', ALLOW_DUPLICATE_ADDRESS)
    .addHelpText(
      'after',
      '\nExit codes: 0 in sync, 4 drift found (each difference printed; nothing changed),\n2 bad input, 1 the machine could not be read.',
    )
    .action(async (file: string, f: RecipeFlags, cmd: Command) => {
      const s: StatusReport = await (await recipes()).status(file, options(f));
      // drift is an answer, not a failure: ok stays true, and scripts branch on exit code 4
      if (!s.inSync) process.exitCode = EXIT.drift;
      if (globalFlags(cmd).json) return out(JSON.stringify({ ok: true, ...s }, null, 2));
      out(`${s.recipe}: ${s.inSync ? 'in sync' : 'drifted'}`);
      for (const d of s.drift) out(`  ${d.where}: ${d.what}`);
      for (const m of s.missing)
        out(
          m.released
            ? `  removed: ${m.container} (${m.target}), its part released at ${m.released.at}`
            : `  not running: ${m.container} (${m.target})`,
        );
    });

  withTargetFlags(
    program.command('destroy <recipe>').description('remove everything the recipe made, and nothing else'),
  )
    .option('-n, --dry-run', 'print the plan as a shell script; change nothing')
    .action(async (file: string, f: RecipeFlags, cmd: Command) => {
      const p = progress(cmd, 'destroy');
      const r = await (await recipes()).destroy(file, { ...options(f), onStep: p.onStep }).finally(p.end);
      if (f.dryRun && !globalFlags(cmd).json) return out(r.script);
      printReport(r, 'destroy', cmd);
    });

  withRecipeFlags(
    program
      .command('validate <recipe>')
      .description('check the recipe (schema and cross-references); needs no root'),
  ).action(async (file: string, f: RecipeFlags, cmd: Command) => {
    const r = await (await loader()).loadRecipe(file, { set: parseSets(f.set) });
    if (globalFlags(cmd).json)
      return out(
        JSON.stringify(
          {
            ok: true,
            recipe: r.name,
            containers: r.containers.length,
            networks: r.networks.length,
            bridges: r.bridges.length,
            links: r.links.length,
          },
          null,
          2,
        ),
      );
    out(
      `${file}: valid (recipe "${r.name}": ${r.containers.length} containers, ${r.networks.length} networks, ${r.bridges.length} bridges, ${r.links.length} links)`,
    );
  });

  withRecipeFlags(
    program
      .command('graph <recipe>')
      .description('draw the topology')
      .option('--format <fmt>', 'mermaid, dot, or svg (needs Graphviz)', 'mermaid'),
  ).action(async (file: string, f: RecipeFlags & { format: string }, cmd: Command) => {
    const r = await (await loader()).loadRecipe(file, { set: parseSets(f.set) });
    const { graph } = await import('../../api/graph.js');
    const text = await graph(r, f.format);
    if (globalFlags(cmd).json)
      return out(JSON.stringify({ ok: true, recipe: r.name, format: f.format, graph: text }, null, 2));
    out(text);
  });
};
