import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locate } from '../../../src/observe/tools.js';

test('a program is looked up on PATH as the runner starts it; one only in an sbin directory off PATH is said so', async () => {
  assert.equal((await locate('sh', '/usr/bin:/bin'))?.offPath, undefined);
  assert.ok((await locate('sh', '/usr/bin:/bin'))?.at.endsWith('/sh'));
  assert.equal(await locate('pf-no-such-tool', '/usr/bin:/bin'), undefined);
  assert.equal(await locate('sh', '/nonexistent'), undefined);
  // ip (iproute2) lives in /usr/sbin on Debian
  assert.deepEqual(await locate('ip', '/nonexistent'), { at: '/usr/sbin/ip', offPath: true });
  assert.deepEqual(await locate('/bin/sh'), { at: '/bin/sh' });
  assert.equal(await locate('/nonexistent/sh'), undefined);
});
