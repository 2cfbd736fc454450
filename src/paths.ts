/**
 * Where pipefitter keeps its state: one root, two lifetimes. Every file pipefitter writes outside
 * the kernel is under one of these two directories, and nowhere else.
 *
 *   $PIPEFITTER_STATE_DIR            persistent (default /var/lib/pipefitter)
 *     recipes/NAME.json              what a recipe made (targets, namespaces) — src/state/recipes.ts
 *     recipes/parsed/SHA256.json     the parsed text of an applied recipe
 *     ipam/allocations.json          `auto` addresses, and allocations.lock while one is changed
 *     attachments/HASH.json          what attach/link/pipework's forms made, for watch — state/attachments.ts
 *     parents/IFNAME.json            host interfaces brought up for a macvlan/ipvlan/VLAN
 *     host.lock                      the host lock (flock) of every changing run — state/host-lock.ts
 *     journal/run-PID-ID.json        an apply's write-ahead journal while it runs — exec/journal.ts
 *   $PIPEFITTER_RUN_DIR              runtime, gone at reboot with the namespaces it describes
 *                                    (default /run/pipefitter; $PIPEFITTER_STATE_DIR/run when only
 *                                    PIPEFITTER_STATE_DIR is set, so that one variable moves all)
 *     dhcp/HASH/                     a DHCP client's lease, PID and log (libexec/pipefitter-dhcp)
 *
 * Relative values are taken from the working directory (the DHCP runner needs absolute paths);
 * an empty value is unset. Read at each use, not at import.
 */
import { resolve } from 'node:path';

const fromEnv = (name: string): string | undefined => {
  const v = process.env[name];
  return v ? resolve(v) : undefined;
};

/** The persistent root: `$PIPEFITTER_STATE_DIR`, or /var/lib/pipefitter. */
export const stateRoot = (): string => fromEnv('PIPEFITTER_STATE_DIR') ?? '/var/lib/pipefitter';

/** The runtime root: `$PIPEFITTER_RUN_DIR`, else `$PIPEFITTER_STATE_DIR/run`, else /run/pipefitter. */
export const runRoot = (): string => {
  const run = fromEnv('PIPEFITTER_RUN_DIR');
  if (run !== undefined) return run;
  const state = fromEnv('PIPEFITTER_STATE_DIR');
  return state !== undefined ? `${state}/run` : '/run/pipefitter';
};
