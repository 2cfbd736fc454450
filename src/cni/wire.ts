/**
 * What the launcher and `pipefitter cni serve` say to each other over the server's Unix socket,
 * so that a runtime's call is answered by a resident process instead of a node started for it.
 * Pure: bytes in, bytes out. Lines, so that the launcher writes a request with no process but nc
 * (a here-document of the shell).
 *
 * Request (the launcher writes it, then shuts its side down):
 *   `pfcni/2` LF, then `NAME=VALUE` LF for each of WIRE_KEYS, then LF, then the network
 *   configuration as the runtime gave it on stdin, then LF (the here-document's own), to the end
 *   of the stream. A value cannot hold a line break: with one the launcher does not hand over.
 * Reply: one line, then the plugin's stdout to the end of the stream. The line is the exit code
 * (`0`, `1`), or `-` when this server must not answer the call (its settings differ from the
 * launcher's): the launcher then runs the plugin itself, as it does when no server answers.
 * stdout is empty or ends with exactly one line break, which the shell's `$(...)` drops and the
 * launcher puts back.
 */

export const WIRE_MAGIC = 'pfcni/2';

/** The protocol's parameters (SPEC.md section 2) the runtime passes in the environment. */
export const CNI_KEYS = [
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
] as const;

/**
 * The settings a launcher keeps from the shell that installed it. A runtime does not always run
 * the plugin with the environment it was started with — Podman's cleanup process (started by
 * conmon) runs DEL with none of it — so a DEL would look for the ADD's record in another state
 * directory, or with another backend. Each is kept as a default: a value the runtime passes wins.
 */
export const PINNED_ENV = [
  'PIPEFITTER_STATE_DIR',
  'PIPEFITTER_RUN_DIR',
  'PIPEFITTER_BACKEND',
  'PIPEFITTER_CNI_LOG',
] as const;

/** Everything a request carries, in this order: the call, then the settings it must be run with. */
export const WIRE_KEYS = [...CNI_KEYS, ...PINNED_ENV] as const;

export interface WireRequest {
  /** WIRE_KEYS with a non-empty value (an empty one is unset, as for the plugin). */
  readonly env: Readonly<Record<string, string>>;
  /** The network configuration. */
  readonly stdin: string;
}

/**
 * The request a launcher sends, for tests and other clients; `env` values are taken as they are
 * (one with a line break is the caller's mistake: the launcher never sends one).
 */
export const encodeRequest = (env: Readonly<Record<string, string | undefined>>, stdin: string): Buffer =>
  Buffer.from(
    `${[WIRE_MAGIC, ...WIRE_KEYS.map((k) => `${k}=${env[k] ?? ''}`)].join('\n')}\n\n${stdin}\n`,
    'utf8',
  );

/** A request's bytes, or an Error saying what is wrong with them. */
export const decodeRequest = (buf: Buffer): WireRequest | Error => {
  const text = buf.toString('utf8');
  const end = text.indexOf('\n\n');
  if (end < 0) return new Error('the request ends before its parameters do');
  const [magic, ...entries] = text.slice(0, end).split('\n');
  if (magic !== WIRE_MAGIC)
    return new Error(`not a ${WIRE_MAGIC} request (it starts ${JSON.stringify(magic)})`);
  const env: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    const k = eq < 0 ? e : e.slice(0, eq);
    if (eq < 0 || !(WIRE_KEYS as readonly string[]).includes(k))
      return new Error(`unexpected parameter ${JSON.stringify(e)}`);
    const v = e.slice(eq + 1);
    if (v !== '') env[k] = v;
  }
  const rest = text.slice(end + 2);
  if (!rest.endsWith('\n')) return new Error('the request ends before its configuration does');
  return { env, stdin: rest.slice(0, -1) };
};

/**
 * The first setting of PINNED_ENV that differs between the request and the server's own
 * environment (unset and empty are the same), or undefined when all agree.
 */
export const settingDiffering = (
  request: Readonly<Record<string, string | undefined>>,
  own: Readonly<Record<string, string | undefined>>,
): string | undefined => PINNED_ENV.find((k) => (request[k] ?? '') !== (own[k] ?? ''));

/** The reply to a call this server ran: its exit code and stdout. */
export const encodeReply = (code: number, stdout: string): string => `${code}\n${stdout}`;

/** The reply that sends the launcher back to running the plugin itself. */
export const DECLINE = '-\n';
