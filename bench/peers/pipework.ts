/**
 * jpetazzo/pipework, run as its users run it (arping and all), for the single attach. It is
 * fetched at bench time, never committed: $PIPEWORK, else the local mirror of the public
 * repository. pipework finds a guest with `docker inspect`; for plain namespaces a `docker` shim
 * first on PATH answers its three lookups from a fixed table with shell builtins only — faster
 * than the real docker CLI, so the shim can only favour pipework.
 */
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../lib/proc.js';
import type { Env, Net, Target } from '../lib/types.js';
import { bridgePorts, deletePortsCmd } from '../lib/verify.js';
import type { Tool } from './tool.js';

export const PIPEWORK_MIRROR = '/work/.mirror/jpetazzo+pipework/repo';

/** Writes pipework to `dest`; returns its path and origin, or why there is none. */
export const obtainPipework = async (
  dest: string,
): Promise<{ path: string; origin: string } | { skip: string }> => {
  const given = process.env.PIPEWORK;
  if (given) {
    const ok = await access(given).then(
      () => true,
      () => false,
    );
    return ok ? { path: given, origin: `$PIPEWORK=${given}` } : { skip: `$PIPEWORK=${given} does not exist` };
  }
  const show = await exec({ file: 'git', args: ['-C', PIPEWORK_MIRROR, 'show', 'HEAD:pipework'] });
  if (show.exitCode !== 0)
    return { skip: `no $PIPEWORK and no mirror at ${PIPEWORK_MIRROR} (git clone needs a network here)` };
  const rev = await exec({ file: 'git', args: ['-C', PIPEWORK_MIRROR, 'rev-parse', 'HEAD'] });
  await writeFile(dest, show.stdout + '\n');
  await chmod(dest, 0o755);
  return { path: dest, origin: `jpetazzo/pipework@${rev.stdout.trim().slice(0, 12)}` };
};

const shimText = (targets: readonly Target[]): string =>
  [
    '#!/bin/sh',
    "# bench shim: answers pipework's docker inspect --format lookups; builtins only",
    'case "$2" in *State.Pid*) f=pid ;; *.ID*) f=id ;; *.Name*) f=name ;; *) echo "shim: $*" >&2; exit 1 ;; esac',
    'case "$3" in',
    ...targets.map((t) => `  ${t.name}) pid=${t.pid} ;;`),
    '  *) echo "<no value>"; exit 1 ;;',
    'esac',
    'case $f in pid) echo "$pid" ;; id) echo "bench-$3" ;; name) echo "/$3" ;; esac',
    '',
  ].join('\n');

export const pipework = (env: Env & { pipework: string }): Tool => {
  const shimDir = join(env.tmp, 'docker-shim');
  return {
    name: 'pipework',
    destroys: false,
    async prepare(targets) {
      await mkdir(shimDir, { recursive: true });
      await writeFile(join(shimDir, 'docker'), shimText(targets), { mode: 0o755 });
    },
    attach: (targets, net: Net) =>
      targets.map((t) => ({
        file: env.pipework,
        args: [net.bridge, t.name, `${t.address}/${net.prefix}@${net.gateway}`],
        env: { PATH: `${shimDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
      })),
    teardown: async (_t, net) => [deletePortsCmd((await bridgePorts(net.bridge)).map((p) => p.ifname))],
  };
};
