import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PINNED_ENV, launcherText, pinnedEnv } from '../../../src/api/cni-install.js';

test('pinnedEnv keeps the set, non-empty settings in a fixed order and nothing else', () => {
  assert.deepEqual(
    pinnedEnv({
      PIPEFITTER_CNI_LOG: '/tmp/x.log',
      PIPEFITTER_STATE_DIR: '/srv/pf',
      PIPEFITTER_RUN_DIR: '',
      PIPEFITTER_LOCK_WAIT: '5',
      HOME: '/root',
    }),
    [
      ['PIPEFITTER_STATE_DIR', '/srv/pf'],
      ['PIPEFITTER_CNI_LOG', '/tmp/x.log'],
    ],
  );
  assert.deepEqual(pinnedEnv({}), []);
  assert.ok(PINNED_ENV.includes('PIPEFITTER_BACKEND'));
});

test('launcherText with no settings is the bare exec line', () => {
  assert.equal(
    launcherText('/usr/bin/node', '/opt/pf/dist/cli-bundle/cni.js'),
    '#!/bin/sh\n# pipefitter\'s CNI plugin (written by `pipefitter cni install`)\nexec /usr/bin/node /opt/pf/dist/cli-bundle/cni.js "$@"\n',
  );
});

test('the launcher, run by sh: pinned settings are defaults a runtime can override, odd characters survive, arguments pass through', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pf-unit-launcher-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const entry = join(dir, 'entry.mjs');
  await writeFile(
    entry,
    'process.stdout.write(JSON.stringify({ args: process.argv.slice(2), state: process.env.PIPEFITTER_STATE_DIR, log: process.env.PIPEFITTER_CNI_LOG, backend: process.env.PIPEFITTER_BACKEND }))',
  );
  const odd = `/srv/it's "a" $HOME \`x\` }dir`;
  const launcher = join(dir, 'pipefitter');
  await writeFile(
    launcher,
    launcherText(process.execPath, entry, [
      ['PIPEFITTER_STATE_DIR', odd],
      ['PIPEFITTER_CNI_LOG', '/tmp/cni.log'],
    ]),
  );
  await chmod(launcher, 0o755);
  // a runtime that passes none of the settings (Podman's cleanup process): the pinned values
  const launch = (args: string[], env: Record<string, string>) =>
    execa(launcher, args, { env: { PATH: '/usr/bin:/bin', ...env }, extendEnv: false });
  const bare = await launch(['a b', ''], {});
  assert.deepEqual(JSON.parse(bare.stdout), { args: ['a b', ''], state: odd, log: '/tmp/cni.log' });
  // a runtime that passes its own: they win; one not pinned passes through untouched
  const own = await launch([], { PIPEFITTER_STATE_DIR: '/var/lib/other', PIPEFITTER_BACKEND: 'ip' });
  assert.deepEqual(JSON.parse(own.stdout), {
    args: [],
    state: '/var/lib/other',
    log: '/tmp/cni.log',
    backend: 'ip',
  });
});
