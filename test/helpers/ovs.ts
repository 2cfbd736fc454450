/** Open vSwitch for tests in the kernel VM lane: both daemons with every file in a directory. */
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';

/** ovsdb-server and ovs-vswitchd with every file in `dir`; stop() ends both and the datapath. */
export const startOvs = async (dir: string) => {
  const env = {
    OVS_RUNDIR: dir,
    OVS_LOGDIR: dir,
    OVS_DBDIR: dir,
    OVS_SYSCONFDIR: dir,
    OVS_PKGDATADIR: '/usr/share/openvswitch',
  };
  const db = `unix:${dir}/db.sock`;
  const run = (cmd: string, args: string[]) => execa(cmd, args, { env, timeout: 60_000 });
  await run('ovsdb-tool', ['create', `${dir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema']);
  const daemon = (name: string) => [
    '--detach',
    '--no-chdir',
    `--pidfile=${dir}/${name}.pid`,
    `--log-file=${dir}/${name}.log`,
    `--unixctl=${dir}/${name}.ctl`,
  ];
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
    // The kernel datapath outlives the daemon unless removed.
    await execa('ovs-dpctl', ['del-dp', 'ovs-system'], { reject: false });
  };
  try {
    await run('ovsdb-server', [`${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, ...daemon('ovsdb-server')]);
    await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'init']);
    await run('ovs-vswitchd', [db, ...daemon('ovs-vswitchd')]);
  } catch (e) {
    await stop();
    throw e;
  }
  const vsctl = async (...args: string[]) =>
    (await run('ovs-vsctl', [`--db=${db}`, '--timeout=30', ...args])).stdout;
  return { vsctl, stop, env };
};
