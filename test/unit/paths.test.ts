/** One state root (src/paths.ts): every directory pipefitter writes follows PIPEFITTER_STATE_DIR / _RUN_DIR. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultIpamDir } from '../../src/ipam/store.js';
import { runRoot, stateRoot } from '../../src/paths.js';
import { dhcpStateDir } from '../../src/plan/dhcp.js';

const withEnv = (env: Record<string, string | undefined>, f: () => void): void => {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const set = (e: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(e))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  };
  set(env);
  try {
    f();
  } finally {
    set(saved);
  }
};

test('defaults: /var/lib/pipefitter for what lasts, /run/pipefitter for what a reboot ends', () =>
  withEnv({ PIPEFITTER_STATE_DIR: undefined, PIPEFITTER_RUN_DIR: undefined }, () => {
    assert.equal(stateRoot(), '/var/lib/pipefitter');
    assert.equal(runRoot(), '/run/pipefitter');
    assert.equal(defaultIpamDir(), '/var/lib/pipefitter/ipam');
    assert.match(dhcpStateDir('netns:a', 'eth1'), /^\/run\/pipefitter\/dhcp\/[0-9a-z]+$/);
  }));

test('PIPEFITTER_STATE_DIR alone moves everything, DHCP state included (it ignored it before)', () =>
  withEnv({ PIPEFITTER_STATE_DIR: '/tmp/pf-s', PIPEFITTER_RUN_DIR: undefined }, () => {
    assert.equal(stateRoot(), '/tmp/pf-s');
    assert.equal(runRoot(), '/tmp/pf-s/run');
    assert.equal(defaultIpamDir(), '/tmp/pf-s/ipam');
    assert.ok(dhcpStateDir('netns:a', 'eth1').startsWith('/tmp/pf-s/run/dhcp/'));
  }));

test('PIPEFITTER_RUN_DIR still moves the runtime state on its own; relative values become absolute; empty is unset', () => {
  withEnv({ PIPEFITTER_STATE_DIR: '/tmp/pf-s', PIPEFITTER_RUN_DIR: '/tmp/pf-r' }, () => {
    assert.equal(runRoot(), '/tmp/pf-r');
    assert.ok(dhcpStateDir('netns:a', 'eth1').startsWith('/tmp/pf-r/dhcp/'));
  });
  withEnv({ PIPEFITTER_STATE_DIR: 'rel/state', PIPEFITTER_RUN_DIR: '' }, () => {
    assert.equal(stateRoot(), `${process.cwd()}/rel/state`);
    assert.equal(runRoot(), `${process.cwd()}/rel/state/run`);
  });
  withEnv({ PIPEFITTER_STATE_DIR: '', PIPEFITTER_RUN_DIR: undefined }, () => {
    assert.equal(stateRoot(), '/var/lib/pipefitter');
    assert.equal(runRoot(), '/run/pipefitter');
  });
});
