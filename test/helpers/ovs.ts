/**
 * Open vSwitch for tests: both daemons with every file in a directory. The kernel VM lane runs
 * the whole switch; on a host without the openvswitch module, ovsdb-server still starts, and
 * the reports of what did not start are tested there (test/integration/daemon-start.test.ts).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { startFailed, tail } from './daemon-start.js';
import { runId } from './sandbox.js';
import { needTools } from './tools.js';

export interface OvsOptions {
  /** Where the OVS programs are looked up. @default process.env.PATH */
  readonly path?: string | undefined;
  /** The database schema. @default /usr/share/openvswitch/vswitch.ovsschema */
  readonly schema?: string | undefined;
  /** More ovsdb-server options (tests of the failure reports pass bad ones). */
  readonly serverArgs?: readonly string[] | undefined;
  /** Start ovsdb-server only (no ovs-vsctl init, no ovs-vswitchd: a host without the switch). */
  readonly dbOnly?: boolean | undefined;
}

/**
 * ovsdb-server and ovs-vswitchd with every file in `dir`; stop() ends both and the datapath.
 * Throws, after stopping what it started, saying which step failed and why: the program that is
 * not installed (with its package), the exit code, stderr, the daemon's log.
 */
export const startOvs = async (dir: string, o: OvsOptions = {}) => {
  const env = {
    OVS_RUNDIR: dir,
    OVS_LOGDIR: dir,
    OVS_DBDIR: dir,
    OVS_SYSCONFDIR: dir,
    OVS_PKGDATADIR: '/usr/share/openvswitch',
    ...(o.path === undefined ? {} : { PATH: o.path }),
  };
  const db = `unix:${dir}/db.sock`;
  const run = (cmd: string, args: string[]) => execa(cmd, args, { env, timeout: 60_000 });
  /** One step: a command that must exit 0; its failure says what and why. */
  const step = async (what: string, cmd: string, args: string[], logOf?: string): Promise<string> => {
    const r = await execa(cmd, args, { env, timeout: 60_000, reject: false });
    if (!r.failed) return r.stdout;
    const log = logOf ? tail(await readFile(`${dir}/${logOf}.log`, 'utf8').catch(() => '')) : undefined;
    throw startFailed({
      daemon: logOf ?? cmd,
      step: what,
      argv: [cmd, ...args],
      exitCode: r.exitCode,
      signal: r.signal,
      enoent: (r as { code?: string }).code === 'ENOENT',
      stderr: String(r.stderr ?? ''),
      log,
      why: r.timedOut ? 'timed out after 60 s' : undefined,
    });
  };
  const daemon = (name: string) => [
    '--detach',
    '--no-chdir',
    `--pidfile=${dir}/${name}.pid`,
    `--log-file=${dir}/${name}.log`,
    `--unixctl=${dir}/${name}.ctl`,
  ];
  let switchStarted = false;
  const stop = async () => {
    await run('ovs-appctl', ['-t', `${dir}/ovs-vswitchd.ctl`, 'exit', '--cleanup']).catch(() => undefined);
    await run('ovs-appctl', ['-t', `${dir}/ovsdb-server.ctl`, 'exit']).catch(() => undefined);
    for (const name of ['ovs-vswitchd', 'ovsdb-server']) {
      const pid = Number((await readFile(`${dir}/${name}.pid`, 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // The kernel datapath outlives the daemon unless removed: only one our ovs-vswitchd made.
    if (switchStarted) await execa('ovs-dpctl', ['del-dp', 'ovs-system'], { reject: false });
  };
  try {
    await step('create the database (ovsdb-tool create)', 'ovsdb-tool', [
      'create',
      `${dir}/conf.db`,
      o.schema ?? '/usr/share/openvswitch/vswitch.ovsschema',
    ]);
    await step(
      'start ovsdb-server',
      'ovsdb-server',
      [`${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, ...daemon('ovsdb-server'), ...(o.serverArgs ?? [])],
      'ovsdb-server',
    );
    if (!o.dbOnly) {
      await step('initialise the database (ovs-vsctl init)', 'ovs-vsctl', [
        `--db=${db}`,
        '--no-wait',
        'init',
      ]);
      switchStarted = true;
      await step('start ovs-vswitchd', 'ovs-vswitchd', [db, ...daemon('ovs-vswitchd')], 'ovs-vswitchd');
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const vsctl = async (...args: string[]) =>
    (await run('ovs-vsctl', [`--db=${db}`, '--timeout=30', ...args])).stdout;
  return { vsctl, stop, env };
};

/**
 * Open vSwitch for one test, in a directory of this run, found by pipefitter's ovs-vsctl through
 * OVS_RUNDIR as ovs-vsctl itself does (and passed on to the CNI plugin by cni-invoke's
 * harnessEnv): process.env.OVS_RUNDIR is its directory until the test ends, then it is put back
 * and the switch stopped and removed. A missing Open vSwitch fails here, naming its package
 * (never a skip).
 */
export const ovsForTest = async (t: { after: (fn: () => unknown) => void }) => {
  await needTools('ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-appctl', 'ovs-dpctl');
  const dir = await mkdtemp(`/tmp/pf-${runId}-ovs-`);
  const ovs = await startOvs(dir).catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  const saved = process.env.OVS_RUNDIR;
  process.env.OVS_RUNDIR = dir;
  t.after(async () => {
    if (saved === undefined) delete process.env.OVS_RUNDIR;
    else process.env.OVS_RUNDIR = saved;
    await ovs.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return ovs;
};
