/**
 * What the launcher and `pipefitter cni serve` say to each other over the server's Unix socket,
 * so that a runtime's call is answered by a resident process instead of a node started for it.
 * Pure: bytes in, bytes out.
 *
 * Request (the launcher writes it with printf and nc, then shuts its side down):
 *   `pfcni/1` NUL, then `NAME=VALUE` NUL for each of WIRE_KEYS, then NUL, then the network
 *   configuration as the runtime gave it on stdin, to the end of the stream.
 * Reply: one line, then the plugin's stdout to the end of the stream. The line is the exit code
 * (`0`, `1`), or `-` when this server must not answer the call (its settings differ from the
 * launcher's): the launcher then runs the plugin itself, as it does when no server answers.
 */

export const WIRE_MAGIC = 'pfcni/1';

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

/** The request a launcher sends, for tests and other clients; `env` values are taken as they are. */
export const encodeRequest = (env: Readonly<Record<string, string | undefined>>, stdin: string): Buffer =>
  Buffer.concat([
    Buffer.from(`${[WIRE_MAGIC, ...WIRE_KEYS.map((k) => `${k}=${env[k] ?? ''}`)].join('\0')}\0\0`, 'utf8'),
    Buffer.from(stdin, 'utf8'),
  ]);

/** A request's bytes, or an Error saying what is wrong with them. */
export const decodeRequest = (buf: Buffer): WireRequest | Error => {
  const end = buf.indexOf('\0\0');
  if (end < 0) return new Error('the request ends before its parameters do');
  const [magic, ...entries] = buf.subarray(0, end).toString('utf8').split('\0');
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
  return { env, stdin: buf.subarray(end + 2).toString('utf8') };
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
