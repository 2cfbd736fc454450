/**
 * `pipefitter cni serve`: a resident process that answers the CNI calls the launcher hands it
 * over a Unix socket (cni/wire.ts), so a runtime's ADD no longer waits for a node to start and
 * load the attach code — the reference `dhcp` plugin's daemon, for the whole plugin. A call is
 * run exactly as the plugin executable runs it (api/cni-run.ts), concurrently with the others;
 * the host lock orders what changes the host.
 *
 * The launcher uses the server only when it runs in the same network namespace (the host side
 * of an attachment is made where the plugin runs) and with the same settings; otherwise, or
 * when no server answers, it starts the plugin itself. A server is never required.
 */
import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { badInput, refuse } from '../errors.js';
import { runRoot } from '../paths.js';
import { writeFileAtomic } from '../state/atomic.js';
import { DECLINE, decodeRequest, encodeReply, settingDiffering } from '../cni/wire.js';
import type { CniShared } from '../cni/verb.js';
import type { FirewallState } from '../model/observed.js';
import { brNetfilterNow } from '../observe/firewall.js';
import type { FirewallSource } from '../observe/snapshot.js';
import { firewallReusable } from '../plan/watch.js';
import { runCniCall, VERBS } from './cni-run.js';

/** The socket a launcher looks for: `$PIPEFITTER_RUN_DIR/cni.sock`. */
export const defaultCniSocket = (): string => `${runRoot()}/cni.sock`;

/** The file with the server's process ID, beside its socket (the launcher compares namespaces with it). */
export const pidFileOf = (socket: string): string => `${socket}.pid`;

export type CniServeEvent =
  | { readonly event: 'listening'; readonly socket: string; readonly pid: number }
  | {
      readonly event: 'call';
      readonly command: string;
      readonly containerId: string;
      readonly code: number;
      readonly ms: number;
    }
  | { readonly event: 'declined'; readonly why: string }
  | { readonly event: 'stopped'; readonly served: number };

export interface CniServeOptions {
  /** @default defaultCniSocket() */
  readonly socket?: string | undefined;
  /** Stop after this long with no call (0: never). @default 0 */
  readonly idleTimeoutMs?: number | undefined;
  readonly onEvent?: ((e: CniServeEvent) => void) | undefined;
}

export interface CniServeResult {
  readonly socket: string;
  /** Calls answered (declined ones not counted). */
  readonly served: number;
}

/**
 * How long ADDs plan on one reading of the host's firewall (iptables and ip6tables: two processes,
 * otherwise started for every ADD onto a bridge while br_netfilter is on). A reading is reused
 * only for a bridge it shows needing no change (no FORWARD DROP where br_netfilter is on, or the
 * bridge's accept rule there), and only while br_netfilter is as it was read: an ADD that must
 * add a rule plans on a fresh reading. Someone else's change of the policy or of a rule is seen
 * by the ADDs that start this long after it; a call of the server's own that may change the
 * firewall (an ADD that added a rule, any DEL or GC) drops the reading at once.
 */
export const FIREWALL_REUSE_MS = 2000;

/** Whether an ADD onto `bridge` would change nothing of the firewall `fw` shows. */
export const firewallSettled = (fw: FirewallState, bridge: string): boolean =>
  ([4, 6] as const).every(
    (f) =>
      !fw.brNetfilter[f] ||
      !fw.forwardDrop[f] ||
      fw.bridgeRules.some((r) => r.family === f && r.bridge === bridge),
  );

/** The reading ADDs share (see FIREWALL_REUSE_MS). */
export const firewallMemo = (
  maxAgeMs = FIREWALL_REUSE_MS,
  now: () => number = Date.now,
  brNow: () => Readonly<Record<4 | 6, boolean>> = brNetfilterNow,
): Required<CniShared> => {
  let last: { fw: FirewallState; at: number } | undefined;
  let generation = 0;
  const fresh: FirewallSource = async (read) => {
    const asked = generation;
    const at = now();
    const fw = await read();
    // a reading that a change of ours may have overtaken is used once, not kept
    if (asked === generation) last = { fw, at };
    return fw;
  };
  return {
    firewallFor: (bridge) => async (read) => {
      const kept = last;
      if (
        bridge !== undefined &&
        kept &&
        now() - kept.at < maxAgeMs &&
        firewallReusable(kept.fw, brNow()) &&
        firewallSettled(kept.fw, bridge)
      )
        return kept.fw;
      return fresh(read);
    },
    firewallTouched: () => {
      generation++;
      last = undefined;
    },
  };
};

/** sun_path holds 108 bytes with the terminating NUL. */
const SUN_PATH_MAX = 107;

const checkSocketPath = (socket: string): void => {
  if (!socket.startsWith('/'))
    throw badInput(
      'E_BAD_VALUE',
      '--socket',
      socket,
      'not an absolute path',
      'give e.g. /run/pipefitter/cni.sock',
    );
  if (Buffer.byteLength(socket) > SUN_PATH_MAX)
    throw badInput(
      'E_BAD_VALUE',
      '--socket',
      socket,
      `longer than a Unix socket's ${SUN_PATH_MAX} bytes`,
      'give a shorter path, e.g. /run/pipefitter/cni.sock',
    );
};

/** Whether something accepts connections on `socket` now. */
const answers = (socket: string): Promise<boolean> =>
  new Promise((done) => {
    const c = createConnection(socket);
    c.once('connect', () => {
      c.destroy();
      done(true);
    });
    c.once('error', () => done(false));
  });

const readPid = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

const removeQuietly = (file: string): void => {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
};

/** Every byte of a connection until the launcher shuts its side down. */
const readAll = (conn: Socket): Promise<Buffer> =>
  new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    conn.on('data', (c: Buffer) => chunks.push(c));
    conn.once('end', () => done(Buffer.concat(chunks)));
    conn.once('error', fail);
  });

/**
 * Serve until `signal` aborts (or the idle timeout passes), then finish the calls under way,
 * remove the socket and the PID file, and resolve.
 * @example await serveCni({ socket: '/run/pipefitter/cni.sock' }, ac.signal)
 */
export const serveCni = async (opts: CniServeOptions = {}, signal?: AbortSignal): Promise<CniServeResult> => {
  const socket = opts.socket ?? defaultCniSocket();
  checkSocketPath(socket);
  const pidFile = pidFileOf(socket);
  if (await answers(socket))
    throw refuse(
      'E_CONFLICT',
      socket,
      `another \`pipefitter cni serve\` answers there (process ${readPid(pidFile) ?? 'unknown'})`,
      'stop it first, or give this one another --socket',
    );
  mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
  removeQuietly(socket); // a socket left by a server that was killed
  // every operation's code loaded now, not on the first call a runtime waits on
  await Promise.all(Object.values(VERBS).map((load) => load()));

  let served = 0;
  let running = 0;
  const shared = firewallMemo();
  let idle: NodeJS.Timeout | undefined;
  const emit = (e: CniServeEvent): void => opts.onEvent?.(e);
  const stop = new AbortController();
  const armIdle = (): void => {
    if (idle) clearTimeout(idle);
    if (opts.idleTimeoutMs && running === 0) idle = setTimeout(() => stop.abort(), opts.idleTimeoutMs);
  };

  const handle = async (conn: Socket): Promise<void> => {
    running++;
    if (idle) clearTimeout(idle);
    try {
      const req = decodeRequest(await readAll(conn));
      const differing = req instanceof Error ? undefined : settingDiffering(req.env, process.env);
      if (req instanceof Error || differing !== undefined) {
        emit({ event: 'declined', why: req instanceof Error ? req.message : `${differing} differs` });
        conn.end(DECLINE);
        return;
      }
      const started = performance.now();
      let out = '';
      const code = await runCniCall({
        env: req.env,
        stdin: () => Promise.resolve(req.stdin),
        out: (text) => {
          out += text;
        },
        err: (text) => void process.stderr.write(text),
        by: `serve:${process.pid}`,
        shared,
      });
      served++;
      conn.end(encodeReply(code, out));
      emit({
        event: 'call',
        command: req.env.CNI_COMMAND ?? '-',
        containerId: req.env.CNI_CONTAINERID ?? '-',
        code,
        ms: Math.round(performance.now() - started),
      });
    } catch {
      conn.destroy(); // the launcher gone mid-request: nothing was run for it
    } finally {
      running--;
      armIdle();
    }
  };

  const server = createServer({ allowHalfOpen: true }, (conn) => void handle(conn));
  const mask = process.umask(0o177); // the socket is the root's alone from its first moment
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(socket, done);
    });
  } finally {
    process.umask(mask);
  }
  await writeFileAtomic(pidFile, `${process.pid}\n`);
  emit({ event: 'listening', socket, pid: process.pid });
  armIdle();
  const onAbort = (): void => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) stop.abort();
  try {
    await new Promise<void>((done) => stop.signal.addEventListener('abort', () => done(), { once: true }));
    // no new calls; those under way finish and get their replies
    await new Promise<void>((done) => server.close(() => done()));
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (idle) clearTimeout(idle);
    if (readPid(pidFile) === String(process.pid)) removeQuietly(pidFile);
    removeQuietly(socket);
  }
  emit({ event: 'stopped', served });
  return { socket, served };
};
