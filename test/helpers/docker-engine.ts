/**
 * A tiny Docker Engine API client for the test harness: node:http over the daemon's unix socket.
 * The harness talks to the API rather than to a `docker` CLI because PATH holds two clients
 * (/usr/local/bin/docker is v28, /usr/bin/docker is 20.10) and the API needs neither.
 */
import { request } from 'node:http';

/** API version of dockerd 20.10; pinned so that a newer daemon answers in the same shape. */
const API = '/v1.41';

export interface EngineReply {
  readonly status: number;
  readonly body: string;
}

export class EngineError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    body: string,
  ) {
    super(`docker ${method} ${path}: ${status} ${engineMessage(body)}`);
    this.name = 'EngineError';
  }
}

const engineMessage = (body: string): string => {
  try {
    const j = JSON.parse(body) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.trim().slice(0, 300);
};

export interface EngineRequest {
  readonly method?: 'GET' | 'POST' | 'DELETE';
  readonly body?: unknown;
  /** Raw body (e.g. a tar stream) with its content type; wins over `body`. */
  readonly raw?: { readonly data: Uint8Array; readonly type: string };
  readonly timeoutMs?: number;
  /** Only for /_ping: no version prefix. */
  readonly unversioned?: boolean;
}

/** One request; never throws on an HTTP status, only on a transport error. */
export const engineCall = (socketPath: string, path: string, o: EngineRequest = {}): Promise<EngineReply> =>
  new Promise((resolve, reject) => {
    const payload = o.raw
      ? o.raw.data
      : o.body === undefined
        ? undefined
        : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string | number> = { Host: 'docker' };
    if (payload) {
      headers['Content-Type'] = o.raw ? o.raw.type : 'application/json';
      headers['Content-Length'] = payload.byteLength;
    }
    const req = request(
      {
        socketPath,
        path: o.unversioned ? path : API + path,
        method: o.method ?? 'GET',
        headers,
        timeout: o.timeoutMs ?? 30_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`docker ${o.method ?? 'GET'} ${path}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });

/** A request that must succeed (2xx, or one of `alsoOk`); returns the parsed JSON body, if any. */
export const engine = async (
  socketPath: string,
  path: string,
  o: EngineRequest & { readonly alsoOk?: readonly number[] } = {},
): Promise<unknown> => {
  const r = await engineCall(socketPath, path, o);
  if ((r.status < 200 || r.status > 299) && !o.alsoOk?.includes(r.status)) {
    throw new EngineError(o.method ?? 'GET', path, r.status, r.body);
  }
  if (!r.body.trim()) return undefined;
  try {
    return JSON.parse(r.body) as unknown;
  } catch {
    return r.body;
  }
};

/**
 * POST /images/create?fromSrc=- with a tar body (what `docker import` does). The reply is a
 * stream of JSON progress lines with status 200 even on failure, so each line is checked.
 */
export const importImage = async (
  socketPath: string,
  tar: Uint8Array,
  repo: string,
  tag: string,
): Promise<void> => {
  const path = `/images/create?fromSrc=-&repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`;
  const r = await engineCall(socketPath, path, {
    method: 'POST',
    raw: { data: tar, type: 'application/x-tar' },
    timeoutMs: 60_000,
  });
  if (r.status !== 200) throw new EngineError('POST', path, r.status, r.body);
  for (const line of r.body.split('\n')) {
    if (!line.trim()) continue;
    const j = JSON.parse(line) as { error?: unknown };
    if (j.error !== undefined) throw new EngineError('POST', path, r.status, line);
  }
};

/** The part of GET /containers/{id}/json the tests read; everything else is there but untyped. */
export interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly Paused: boolean;
    readonly Pid: number;
    readonly ExitCode: number;
  };
  readonly HostConfig: { readonly NetworkMode: string };
  readonly NetworkSettings: {
    readonly SandboxKey: string;
    readonly Networks: Readonly<
      Record<string, { readonly IPAddress: string; readonly Gateway: string; readonly MacAddress: string }>
    >;
  };
  readonly [key: string]: unknown;
}
