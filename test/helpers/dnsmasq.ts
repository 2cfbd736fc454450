/**
 * A throwaway dnsmasq DHCP server for the DHCP tests, in the CURRENT network namespace (the
 * test sandbox: it refuses to start anywhere else). It serves DHCP only (`--port=0`: no DNS
 * server) on one interface, reads no configuration of this machine (`--conf-file=/dev/null`,
 * no /etc/hosts, no resolv.conf) and keeps its pid file, lease file and log in its own
 * directory, /tmp/pf-dnsmasq-XXXXXX, which `stop()` removes.
 *
 * `--no-ping`: by default dnsmasq pings an address before offering it and, meanwhile, its
 * first offers to a new client do not arrive: about 3 s lost per fresh client. The tests
 * need no such check.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { startFailed, tail } from './daemon-start.js';
import type { Sandbox } from './sandbox.js';
import { sandboxSkipReason } from './sandbox.js';

export interface DnsmasqOptions {
  /** The interface to serve on; it must have an IPv4 address in the range's subnet. */
  iface: string;
  /** First and last address to lease. */
  range: readonly [string, string];
  /** Option 3; by default dnsmasq sends its own address on `iface`. */
  router?: string;
  /** Option 6; by default none (there is no DNS server). */
  dns?: readonly string[];
  /** dnsmasq's syntax, e.g. '2m' (its minimum), '1h'. Default '2m'. */
  leaseTime?: string;
  /** Where dnsmasq is looked up. @default process.env.PATH (tests of the failure reports change it) */
  path?: string;
  /** Options after ours (tests of the failure reports pass bad ones). */
  extraArgs?: readonly string[];
}

export interface Dnsmasq {
  readonly dir: string;
  readonly pid: number;
  /** The lease file: one line per lease, `expiry mac ip hostname client-id`. */
  leases(): Promise<string>;
  /** dnsmasq's log (`--log-dhcp`: every packet, with the options a client sent). */
  log(): Promise<string>;
  /** Stop it (SIGTERM, SIGKILL after 2 s) and remove its directory. Idempotent. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Is some socket in this network namespace bound to UDP port 67? */
const dhcpPortBound = async (): Promise<boolean> => {
  const udp = await readFile('/proc/self/net/udp', 'utf8').catch(() => '');
  return udp.split('\n').some((l) => /^\s*\d+:\s+[0-9A-F]{8}:0043\s/.test(l));
};

export const startDnsmasq = async (o: DnsmasqOptions): Promise<Dnsmasq> => {
  const refused = await sandboxSkipReason();
  if (refused) throw new Error(`dnsmasq is only started inside the test sandbox: ${refused}`);
  if (await dhcpPortBound()) throw new Error('UDP port 67 is already bound in this namespace');

  const dir = await mkdtemp('/tmp/pf-dnsmasq-');
  const args = [
    '--conf-file=/dev/null',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--port=0',
    '--bind-interfaces',
    `--interface=${o.iface}`,
    '--except-interface=lo',
    '--dhcp-authoritative',
    '--no-ping',
    `--dhcp-range=${o.range[0]},${o.range[1]},${o.leaseTime ?? '2m'}`,
    `--dhcp-leasefile=${dir}/leases`,
    `--pid-file=${dir}/pid`,
    `--log-facility=${dir}/log`,
    '--log-dhcp',
  ];
  if (o.router !== undefined) args.push(`--dhcp-option=option:router,${o.router}`);
  if (o.dns?.length) args.push(`--dhcp-option=option:dns-server,${o.dns.join(',')}`);

  args.push(...(o.extraArgs ?? []));

  const argv = ['dnsmasq', ...args];
  const proc = execa('dnsmasq', args, {
    reject: false,
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    ...(o.path === undefined ? {} : { env: { PATH: o.path } }),
  });
  let exited = false;
  const done = proc.then((r) => {
    exited = true;
    return r;
  });
  const pid = proc.pid;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (!exited) {
        proc.kill('SIGTERM');
        const killer = setTimeout(() => proc.kill('SIGKILL'), 2000);
        await done;
        clearTimeout(killer);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  // Ready when its DHCP socket is bound AND it has logged "started": dnsmasq binds port 67
  // before it checks its interfaces, so a bound port alone also comes from one that is about
  // to exit with "unknown interface" (CI caught that race). The pid file comes earlier still.
  const step = `serve DHCP on ${o.iface}`;
  for (let i = 0; ; i++) {
    if (exited || pid === undefined) {
      const r = await done;
      const log = tail(await readFile(`${dir}/log`, 'utf8').catch(() => ''));
      await stop();
      throw startFailed({
        daemon: 'dnsmasq',
        step,
        argv,
        exitCode: r.exitCode,
        signal: r.signal,
        enoent: (r as { code?: string }).code === 'ENOENT',
        stderr: String(r.stderr ?? ''),
        log,
      });
    }
    if (
      (await dhcpPortBound()) &&
      /\]: started, version /.test(await readFile(`${dir}/log`, 'utf8').catch(() => ''))
    )
      break;
    if (i >= 100) {
      const log = tail(await readFile(`${dir}/log`, 'utf8').catch(() => ''));
      await stop();
      throw startFailed({
        daemon: 'dnsmasq',
        step,
        argv,
        why: 'did not bind UDP port 67 and log "started" within 5 s',
        log,
      });
    }
    await sleep(50);
  }

  return {
    dir,
    pid,
    leases: () => readFile(`${dir}/leases`, 'utf8').catch(() => ''),
    log: () => readFile(`${dir}/log`, 'utf8').catch(() => ''),
    stop,
  };
};

export interface DhcpLanOptions {
  /** The bridge's name. @default sb.name('dh') cut to 15 bytes */
  readonly bridge?: string;
  /** The bridge's own address (the server's, and the router it offers). @default 192.0.2.1/24 */
  readonly address?: string;
  /** @default ['192.0.2.100', '192.0.2.150'] */
  readonly range?: readonly [string, string];
  readonly dns?: readonly string[];
}

export interface DhcpLan {
  readonly br: string;
  readonly server: Dnsmasq;
}

/**
 * The one DHCP server setup of the tests: a bridge in the sandbox with an address, and dnsmasq on
 * it. Both are the test's own (sb.own, sb.defer): the server is stopped and the bridge removed
 * after the test, before its leftovers are looked for.
 *
 * ```ts
 * const { br, server } = await dhcpLan(sb, { dns: ['192.0.2.53'] });   // leases 192.0.2.100-150
 * ```
 */
export const dhcpLan = async (sb: Sandbox, o: DhcpLanOptions = {}): Promise<DhcpLan> => {
  const br = o.bridge ?? sb.name('dh').slice(0, 15);
  sb.own(br);
  await execa('ip', ['link', 'add', 'name', br, 'type', 'bridge']);
  await execa('ip', ['addr', 'add', o.address ?? '192.0.2.1/24', 'dev', br]);
  await execa('ip', ['link', 'set', 'dev', br, 'up']);
  const server = await startDnsmasq({
    iface: br,
    range: o.range ?? ['192.0.2.100', '192.0.2.150'],
    ...(o.dns ? { dns: o.dns } : {}),
  });
  sb.defer(() => server.stop());
  return { br, server };
};
