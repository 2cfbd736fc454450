/**
 * Docker's event stream, against a fake Engine on a unix socket: events are parsed line by line
 * (split across chunks too), the end of the stream is told, and `watch` reconnects after it
 * (dockerd restarted), then checks everything again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { followDockerEvents } from '../../../src/targets/docker.js';
import type { DockerEvent } from '../../../src/targets/docker.js';
import { watch } from '../../../src/api/watch.js';
import type { WatchEvent } from '../../../src/api/watch.js';
import { tempStateDir } from '../../helpers/state-dir.js';

const fakeEngine = async (
  t: { after: (fn: () => Promise<void>) => void },
  onEvents: (res: ServerResponse, n: number, url: string) => void,
): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${process.env.PF_RUN_ID ?? 'x'}-dockerev-`);
  const socketPath = `${dir}/docker.sock`;
  let n = 0;
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/events')) {
      open.add(res);
      res.on('close', () => open.delete(res));
      onEvents(res, n++, req.url);
      return;
    }
    res.writeHead(404).end('{"message":"no such container"}');
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  t.after(async () => {
    for (const res of open) res.destroy();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return socketPath;
};

test('events are parsed across chunks; the filter asks for container start, die, destroy; the end is told', async (t) => {
  let url = '';
  const socketPath = await fakeEngine(t, (res, _n, u) => {
    url = u;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const line = JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: 'abc' }, timeNano: 5e15 });
    res.write(line.slice(0, 10));
    setTimeout(() => {
      res.write(`${line.slice(10)}\n{"status":"die","id":"def"}\nnot json\n`);
      res.end();
    }, 20);
  });
  const seen: DockerEvent[] = [];
  const f = followDockerEvents((e) => seen.push(e), {
    endpoint: { socketPath, text: `unix://${socketPath}` },
  });
  assert.match(await f.done, /the event stream ended/);
  assert.deepEqual(seen, [
    { action: 'start', id: 'abc', timeNano: 5e15 },
    { action: 'die', id: 'def', timeNano: undefined },
  ]);
  assert.deepEqual(JSON.parse(decodeURIComponent(url.split('filters=')[1] ?? '')), {
    type: ['container'],
    event: ['start', 'die', 'destroy'],
  });
  const none = followDockerEvents(() => undefined, {
    endpoint: { socketPath: `${socketPath}.none`, text: 'unix:///none' },
  });
  assert.match(await none.done, /cannot reach Docker at unix:\/\/\/none \(ENOENT\)/);
});

test('watch reconnects when the stream ends (dockerd restarted) and checks everything again; abort stops it', async (t) => {
  await tempStateDir(t, 'dockerev');
  const socketPath = await fakeEngine(t, (res, n) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('\n');
    if (n === 0) setTimeout(() => res.end(), 50); // the first daemon goes away
  });
  const lines: WatchEvent[] = [];
  const stop = new AbortController();
  let reconnected: () => void = () => undefined;
  const back = new Promise<void>((r) => (reconnected = r));
  const running = watch(
    {
      docker: { socketPath, text: `unix://${socketPath}` },
      intervalMs: 60_000,
      onEvent: (e) => {
        lines.push(e);
        if (e.message.startsWith('reconnected')) reconnected();
      },
    },
    stop.signal,
  );
  await back;
  stop.abort();
  await running;
  assert.deepEqual(
    lines.map((l) => [l.event, l.message]),
    [
      ['started', 'watching 0 target(s)'],
      ['docker', 'the event stream ended (dockerd stopped or restarted?)'],
      ['docker', 'reconnected to Docker: checking everything again'],
      ['stopped', 'watch stopped'],
    ],
  );
});
