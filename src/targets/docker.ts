/**
 * Docker targets through the Engine API on its unix socket (DOCKER_HOST honoured; tcp:// works
 * without TLS). GET /containers/{id}/json resolves a target; GET /containers/json lists the
 * running containers' names for shell completion.
 */
import { request } from 'node:http';
import { refuse } from '../errors.js';

export interface DockerContainer {
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  readonly paused: boolean;
  readonly pid: number;
}

export interface DockerEndpoint {
  readonly socketPath?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly text: string;
}

export const dockerEndpoint = (env: NodeJS.ProcessEnv = process.env): DockerEndpoint => {
  const h = env.DOCKER_HOST;
  if (!h) return { socketPath: '/var/run/docker.sock', text: 'unix:///var/run/docker.sock' };
  if (h.startsWith('unix://')) return { socketPath: h.slice('unix://'.length), text: h };
  if (h.startsWith('tcp://')) {
    const u = new URL(`http://${h.slice('tcp://'.length)}`);
    return { host: u.hostname, port: Number(u.port || 2375), text: h };
  }
  return { socketPath: h, text: h };
};

type Reply = { status: number; body: string } | { error: NodeJS.ErrnoException };

const get = (ep: DockerEndpoint, path: string, timeoutMs = 5000): Promise<Reply> =>
  new Promise((resolve) => {
    const req = request(
      {
        socketPath: ep.socketPath,
        host: ep.host,
        port: ep.port,
        path,
        method: 'GET',
        timeout: timeoutMs,
        headers: { Host: 'docker' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    req.end();
  });

/** Undefined: no such container. Throws when Docker cannot be asked at all and `required`. */
export const inspectContainer = async (
  ref: string,
  opts: { required: boolean; endpoint?: DockerEndpoint },
): Promise<DockerContainer | undefined | 'unreachable' | 'ambiguous'> => {
  const ep = opts.endpoint ?? dockerEndpoint();
  const r = await get(ep, `/containers/${encodeURIComponent(ref)}/json`);
  if ('error' in r) {
    if (!opts.required) return 'unreachable';
    throw refuse(
      'E_TARGET_NOT_FOUND',
      `docker:${ref}`,
      `cannot reach Docker at ${ep.text} (${r.error.code ?? r.error.message})`,
      'start dockerd, or set DOCKER_HOST to its socket (e.g. unix:///run/docker.sock)',
    );
  }
  if (r.status === 404) return /multiple|ambiguous/i.test(r.body) ? 'ambiguous' : undefined;
  if (r.status !== 200) {
    if (/multiple/i.test(r.body)) return 'ambiguous';
    throw refuse(
      'E_TARGET_NOT_FOUND',
      `docker:${ref}`,
      `Docker answered ${r.status}: ${r.body.trim().slice(0, 200)}`,
    );
  }
  let j: unknown;
  try {
    j = JSON.parse(r.body);
  } catch {
    throw refuse('E_TARGET_NOT_FOUND', `docker:${ref}`, 'Docker sent a reply that is not JSON');
  }
  const o = j as {
    Id?: unknown;
    Name?: unknown;
    State?: { Running?: unknown; Paused?: unknown; Pid?: unknown };
  };
  return {
    id: typeof o.Id === 'string' ? o.Id : ref,
    name: typeof o.Name === 'string' ? o.Name.replace(/^\//, '') : ref,
    running: o.State?.Running === true,
    paused: o.State?.Paused === true,
    pid: typeof o.State?.Pid === 'number' ? o.State.Pid : 0,
  };
};

/**
 * The names of the running containers, for shell completion: a short timeout, and an empty list
 * when Docker cannot be asked (no dockerd, no socket, an answer that is not a list).
 */
export const listContainerNames = async (
  opts: { endpoint?: DockerEndpoint; timeoutMs?: number } = {},
): Promise<string[]> => {
  const r = await get(opts.endpoint ?? dockerEndpoint(), '/containers/json', opts.timeoutMs ?? 500);
  if ('error' in r || r.status !== 200) return [];
  try {
    const j: unknown = JSON.parse(r.body);
    if (!Array.isArray(j)) return [];
    return j.flatMap((c: { Names?: unknown }) =>
      Array.isArray(c.Names)
        ? c.Names.filter((n): n is string => typeof n === 'string').map((n) => n.replace(/^\//, ''))
        : [],
    );
  } catch {
    return [];
  }
};

/** A container event from GET /events: `start`, `die` or `destroy`, with the container's full id. */
export interface DockerEvent {
  readonly action: string;
  readonly id: string;
  /** Nanoseconds since the epoch, as Docker stamps it. */
  readonly timeNano?: number | undefined;
}

/**
 * Follow Docker's container events (start, die, destroy) until the stream ends (dockerd stopped
 * or restarted), `stop` is called, or it cannot connect: resolves then, with why.
 */
export const followDockerEvents = (
  onEvent: (e: DockerEvent) => void,
  opts: { endpoint?: DockerEndpoint | undefined; onOpen?: () => void } = {},
): { done: Promise<string>; stop: () => void } => {
  const ep = opts.endpoint ?? dockerEndpoint();
  const filters = JSON.stringify({ type: ['container'], event: ['start', 'die', 'destroy'] });
  let stop = (): void => undefined;
  const done = new Promise<string>((resolve) => {
    const req = request(
      {
        socketPath: ep.socketPath,
        host: ep.host,
        port: ep.port,
        path: `/events?filters=${encodeURIComponent(filters)}`,
        method: 'GET',
        headers: { Host: 'docker' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve(`Docker answered ${res.statusCode ?? 0} to /events`);
          return;
        }
        opts.onOpen?.();
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              const j = JSON.parse(line) as {
                Action?: unknown;
                status?: unknown;
                id?: unknown;
                Actor?: { ID?: unknown };
                timeNano?: unknown;
              };
              const action = typeof j.Action === 'string' ? j.Action : j.status;
              const id = typeof j.Actor?.ID === 'string' ? j.Actor.ID : j.id;
              if (typeof action === 'string' && typeof id === 'string')
                onEvent({ action, id, timeNano: typeof j.timeNano === 'number' ? j.timeNano : undefined });
            } catch {
              // not an event: skip it
            }
          }
        });
        res.on('end', () => resolve('the event stream ended (dockerd stopped or restarted?)'));
        res.on('error', (e) => resolve(`the event stream broke (${e.message})`));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve(`cannot reach Docker at ${ep.text} (${e.code ?? e.message})`),
    );
    req.end();
    stop = () => {
      req.destroy();
      resolve('stopped');
    };
  });
  return { done, stop };
};
