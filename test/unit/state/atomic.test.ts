/**
 * State files are replaced atomically through `.NAME.PID.RANDOM.tmp`; one left by a writer killed
 * before its rename (kill -9) is removed by the next write to that directory, and never read.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { removeStaleTemps, tempFileFor, writeFileAtomic } from '../../../src/state/atomic.js';
import { listRecipeStates, writeRecipeState } from '../../../src/state/recipes.js';

const tempDir = async (t: TestContext): Promise<string> => {
  const dir = await mkdtemp(`/tmp/pf-${process.env.PF_RUN_ID ?? 'x'}-atomic-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

/** A writer that made its temporary file and was killed (SIGKILL) before renaming it. */
const killedWriter = async (dir: string, name: string): Promise<string> => {
  const child = execa(
    process.execPath,
    [
      '-e',
      `const f = require('path').join(process.argv[1], '.' + process.argv[2] + '.' + process.pid + '.0badf00d.tmp');
       require('fs').writeFileSync(f, '{"half":');
       console.log(f);
       setInterval(() => {}, 1000);`,
      dir,
      name,
    ],
    { reject: false, buffer: false },
  );
  const file = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d) => resolve(String(d).trim())),
  );
  child.kill('SIGKILL');
  await child;
  return file;
};

const ago = async (file: string, ms: number): Promise<void> => {
  const t = new Date(Date.now() - ms);
  await utimes(file, t, t);
};

test("a killed writer's temporary file is removed by the next write there, once it is not from the last minute", async (t) => {
  const dir = await tempDir(t);
  const left = await killedWriter(dir, 'lab.json');
  assert.match(left, /\/\.lab\.json\.\d+\.0badf00d\.tmp$/);
  // a minute's grace (a writer in another PID namespace looks dead from here)
  await writeFileAtomic(`${dir}/other.json`, '{}\n');
  assert.ok((await readdir(dir)).includes(left.slice(dir.length + 1)), 'young: kept');
  await ago(left, 120_000);
  await writeFileAtomic(`${dir}/other.json`, '{"v":2}\n');
  assert.deepEqual(await readdir(dir), ['other.json']);
  assert.equal(await readFile(`${dir}/other.json`, 'utf8'), '{"v":2}\n');
});

test("a live writer's temporary file is kept, whatever its age; earlier versions' NAME.PID.tmp go too", async (t) => {
  const dir = await tempDir(t);
  const mine = tempFileFor(`${dir}/a.json`); // this process: alive
  const parent = `${dir}/.a.json.${process.ppid}.12345678.tmp`;
  const oldStyle = `${dir}/b.json.${await deadPid()}.tmp`;
  const other = `${dir}/notes.tmp`; // not named as ours: never touched
  for (const f of [mine, parent, oldStyle, other]) {
    await writeFile(f, 'x');
    await ago(f, 3_600_000);
  }
  assert.deepEqual(await removeStaleTemps(dir), [oldStyle.slice(dir.length + 1)]);
  assert.deepEqual(
    (await readdir(dir)).sort(),
    [mine, parent, other].map((f) => f.slice(dir.length + 1)).sort(),
  );
  // a temporary file whose mtime is in the future (clock set back) is not young for ever
  const future = `${dir}/.c.json.${await deadPid()}.abcdef01.tmp`;
  await writeFile(future, 'x');
  await ago(future, -3_600_000);
  assert.deepEqual(await removeStaleTemps(dir), [future.slice(dir.length + 1)]);
});

test('recipe states: a stale temporary file is never listed as a state, and the next write removes it', async (t) => {
  const dir = await tempDir(t);
  const saved = process.env.PIPEFITTER_STATE_DIR;
  process.env.PIPEFITTER_STATE_DIR = dir;
  t.after(() => {
    if (saved === undefined) delete process.env.PIPEFITTER_STATE_DIR;
    else process.env.PIPEFITTER_STATE_DIR = saved;
  });
  const state = {
    version: 1 as const,
    name: 'lab',
    file: '/tmp/lab.yaml',
    targets: [],
    createdNamespaces: [],
    appliedAt: '2026-01-01T00:00:00.000Z',
  };
  await writeRecipeState(state);
  const left = await killedWriter(`${dir}/recipes`, 'lab.json');
  await ago(left, 120_000);
  assert.deepEqual(
    (await listRecipeStates()).map((s) => s.name),
    ['lab'],
  );
  await writeRecipeState({ ...state, name: 'web' });
  assert.deepEqual((await readdir(`${dir}/recipes`)).sort(), ['lab.json', 'web.json']);
});

/** The PID of a process that has exited. */
const deadPid = async (): Promise<number> => {
  const c = execa('true');
  await c;
  return c.pid!;
};

test('writeFileAtomic fsyncs the file and its directory by default, and neither with durable: false; both rename', async (t) => {
  const dir = await tempDir(t);
  const probe = await open(`${dir}/probe`, 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  let syncs = 0;
  const real = proto.sync;
  proto.sync = function (this: unknown) {
    syncs++;
    return real.call(this);
  };
  t.after(() => {
    proto.sync = real;
  });
  await writeFileAtomic(`${dir}/durable.json`, '{"a":1}\n');
  assert.equal(syncs, 2, 'the file, then its directory');
  await writeFileAtomic(`${dir}/record.json`, '{"b":2}\n', { durable: false });
  assert.equal(syncs, 2, 'no fsync');
  assert.equal(await readFile(`${dir}/record.json`, 'utf8'), '{"b":2}\n');
  assert.deepEqual(
    (await readdir(dir)).sort(),
    ['durable.json', 'probe', 'record.json'],
    'no temporary file left',
  );
});
