/** Human and --json output: data on stdout, diagnostics on stderr. */
import type { Command } from 'commander';
import type { Outcome } from '../api/engine.js';
import { commandText } from '../render/ip.js';
import { netnsKey } from '../model/netns.js';
import type { ShowView } from '../model/view.js';
import { exitCodeFor, formatError, isPipefitterError } from '../errors.js';
import { colourOn, green, paintDiagnostic, paintError } from './style.js';

export interface GlobalFlags {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** The root program's flags, from any subcommand. */
export const globalFlags = (cmd: Command): GlobalFlags => {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c.opts<GlobalFlags>();
};

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const err = (s: string): void => {
  const line = paintDiagnostic(colourOn(process.stderr), s);
  process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
};

export const outcomeJson = (verb: string, o: Outcome, dryRun: boolean): Record<string, unknown> => ({
  ok: true,
  action: verb,
  dryRun,
  changed: o.applied,
  targets: o.targets.map((t) => ({ target: t.label, id: t.id, netns: netnsKey(t.netns) })),
  steps: o.plan.steps.map((s) => ({
    id: s.id,
    netns: netnsKey(s.netns),
    describes: s.describes,
    command: commandText(s),
  })),
  noops: o.plan.noops,
  notes: o.plan.notes,
  processes: o.processes,
  leases: o.leases ?? [],
  ...(o.carrier ? { interfaces: o.carrier } : {}),
  durationMs: o.report ? Math.round(o.report.durationMs * 10) / 10 : 0,
  ...(dryRun ? { script: o.script } : {}),
});

export const printOutcome = (
  verb: string,
  o: Outcome,
  flags: GlobalFlags & { dryRun?: boolean },
  summary: string,
): void => {
  const dryRun = flags.dryRun === true;
  if (flags.json) return out(JSON.stringify(outcomeJson(verb, o, dryRun), null, 2));
  if (dryRun) {
    out(o.script);
    return;
  }
  if (flags.quiet) return;
  if (!o.applied) {
    out(`nothing to do: ${summary} is already in place`);
    for (const n of o.plan.noops) err(`  ${n}`);
    return;
  }
  const r = o.report;
  const ok = (t: string) => out(green(colourOn(process.stdout, flags), t));
  ok(
    `${verb === 'detach' ? 'detached' : verb === 'link' ? 'linked' : 'attached'}: ${summary} (${o.plan.steps.length} steps, ${o.processes} processes, ${r ? r.durationMs.toFixed(0) : '?'} ms)`,
  );
  for (const l of o.leases ?? [])
    out(
      `  ${l.target} ${l.ifname}: leased ${l.lease.ip}${l.lease.router ? `, router ${l.lease.router}` : ''}${l.lease.dns.length ? `, dns ${l.lease.dns.join(' ')}` : ''}`,
    );
  for (const c of o.carrier ?? [])
    if (!c.carrier) err(`warning: ${c.target} ${c.ifname} has no carrier: ${c.why ?? 'unknown'}`);
  for (const n of o.plan.notes) err(`note: ${n}`);
  for (const n of o.report?.notes ?? []) err(`note: ${n}`);
};

/**
 * A pass-through command (`pipefitter route web show`, `… add …`). Human mode: the tool's stdout
 * exactly as it printed it; a change adds pipefitter's own line after it (not with -q). --json:
 * the usual outcome with `output` — the tool's parsed JSON for a read when it has JSON for it
 * (`outputFormat: "json"`), else its text.
 */
export const printPassthrough = (
  tool: string,
  o: Outcome,
  flags: GlobalFlags & { dryRun?: boolean },
): void => {
  const dryRun = flags.dryRun === true;
  const readOnly = o.plan.steps.every((s) => s.readOnly === true);
  const target = o.targets[0]?.label ?? '';
  if (flags.json) {
    const json = o.output?.json;
    return out(
      JSON.stringify(
        {
          ...outcomeJson(tool, o, dryRun),
          readOnly,
          target,
          ...(o.output
            ? {
                command: o.output.command,
                outputFormat: json === undefined ? 'text' : 'json',
                output: json === undefined ? o.output.stdout : json,
              }
            : {}),
        },
        null,
        2,
      ),
    );
  }
  if (dryRun) return out(o.script);
  if (o.output?.stdout) process.stdout.write(o.output.stdout);
  if (readOnly || flags.quiet) return;
  const r = o.report;
  const processes = `${o.processes} process${o.processes === 1 ? '' : 'es'}`;
  out(
    `done: ${o.plan.steps.map((s) => s.describes).join('; ')} in ${target} (${processes}, ${r ? r.durationMs.toFixed(0) : '?'} ms)`,
  );
  for (const n of o.plan.notes) err(`note: ${n}`);
};

export const printShow = (v: ShowView, flags: GlobalFlags): void => {
  if (flags.json) return out(JSON.stringify({ ok: true, ...v }, null, 2));
  out(`${v.target} (${v.netns})`);
  for (const i of v.interfaces) {
    const owner = i.managed
      ? `  [pipefitter: ${i.owner?.kind ?? '?'}${i.owner?.bridge ? ` on ${i.owner.bridge}` : i.owner?.parent ? ` on ${i.owner.parent}` : ''}${i.hostSide ? `, host side ${i.hostSide.name}` : ''}]`
      : '';
    const state = `${i.up ? 'UP  ' : 'DOWN'} ${i.carrier ? 'carrier   ' : 'no-carrier'} ${i.operstate.padEnd(14)}`;
    out(`  ${i.name.padEnd(15)} ${i.kind.padEnd(8)} ${state} mtu ${i.mtu} ${i.mac}${owner}`);
    for (const a of i.addresses)
      out(
        `      ${a.address}/${a.prefix}${a.broadcast !== undefined ? ` brd ${a.broadcast}` : ''}${a.scope !== 'global' ? ` (${a.scope})` : ''}`,
      );
  }
  if (v.routes.length) out('  routes:');
  for (const r of v.routes)
    out(
      `    ${r.dst}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.metric ? ` metric ${r.metric}` : ''}`,
    );
};

/** `wait --json` (and pipework's --wait): the interface is ready. Human mode prints nothing. */
export const printWaited = (target: string | undefined, ifname: string, waitedMs: number): void =>
  out(
    JSON.stringify(
      {
        ok: true,
        action: 'wait',
        target: target ?? 'host',
        ifname,
        ready: true,
        waitedMs: Math.round(waitedMs),
      },
      null,
      2,
    ),
  );

/** Print an error the CLI's way and return the exit code. */
export const printError = (e: unknown, flags: GlobalFlags): number => {
  const code = exitCodeFor(e);
  if (flags.json) {
    const body = isPipefitterError(e)
      ? e.toJSON()
      : { code: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
    out(JSON.stringify({ ok: false, error: body }, null, 2));
  } else err(paintError(colourOn(process.stderr, flags), formatError(e)));
  return code;
};
