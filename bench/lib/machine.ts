/** What the results were measured on, for the JSON file. */
import { loadavg, cpus, availableParallelism, release } from 'node:os';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { exec } from './proc.js';

const out = async (file: string, ...args: string[]) => {
  const r = await exec({ file, args });
  return r.exitCode === 0 ? r.stdout.trim() : `unknown (${file} exit ${r.exitCode})`;
};

const ROOT = resolve(import.meta.dirname, '../..');

export const machineInfo = async () => {
  const dist = await stat(resolve(ROOT, 'dist/cli-bundle/pipefitter.js')).catch(() => undefined);
  const pkgVersion = (p: string) => out('dpkg-query', '-W', '-f', '${Version}', p);
  return {
    date: new Date().toISOString(),
    kernel: release(),
    cpu: cpus()[0]?.model ?? 'unknown',
    nproc: availableParallelism(),
    loadavgAtStart: loadavg(),
    node: process.version,
    iproute2: await out('ip', '-V'),
    cniPlugins: await pkgVersion('containernetworking-plugins'),
    dockerIo: await pkgVersion('docker.io'),
    pipefitter: {
      commit: await out('git', '-C', ROOT, 'rev-parse', 'HEAD'),
      // the bench runs the built CLI (dist/); uncommitted src/ changes count only once built
      uncommittedSrc: (await out('git', '-C', ROOT, 'status', '--porcelain', '--', 'src'))
        .split('\n')
        .filter(Boolean).length,
      distBuiltAt: dist?.mtime.toISOString() ?? 'missing',
    },
  };
};
