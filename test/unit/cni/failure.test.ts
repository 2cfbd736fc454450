import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cniErrorOf } from '../../../src/cni/failure.js';
import { CniError } from '../../../src/cni/types.js';
import { PipefitterError, badInput } from '../../../src/errors.js';

test('a CniError passes through unchanged', () => {
  const e = new CniError(7, 'x: bad', 'fix it');
  assert.equal(cniErrorOf(e), e);
});

test("pipefitter's codes map onto the spec's, keeping message and hint", () => {
  const m = (code: PipefitterError['code']) =>
    cniErrorOf(new PipefitterError({ code, message: 'm', hint: 'h' }));
  assert.equal(m('E_TARGET_NOT_FOUND').code, 3);
  assert.equal(m('E_TARGET_CHANGED').code, 11);
  assert.equal(m('E_NOT_ROOT').code, 50);
  assert.equal(m('E_TOOL_MISSING').code, 50);
  assert.equal(m('E_CONFLICT').code, 7);
  assert.equal(m('E_STEP_FAILED').code, 101);
  assert.equal(m('E_ROLLBACK_FAILED').code, 102);
  const b = cniErrorOf(badInput('E_BAD_MAC', 'mac', 'zz', 'not a MAC address', 'write six hex pairs'));
  assert.deepEqual([b.code, b.message, b.details], [7, 'mac "zz": not a MAC address', 'write six hex pairs']);
});

test('a failed step names its command; leftovers are listed', () => {
  const e = cniErrorOf(
    new PipefitterError({
      code: 'E_ROLLBACK_FAILED',
      message: 'boom',
      failure: {
        step: 's',
        netns: 'host',
        command: 'ip link add x',
        exitCode: 2,
        stderr: '',
        reason: 'other',
      },
      leftovers: ['ip link del x'],
    }),
  );
  assert.equal(e.details, 'command: ip link add x; left over: ip link del x');
});

test('anything else is an internal error (code 101) with its message', () => {
  const e = cniErrorOf(new TypeError('oops'));
  assert.equal(e.code, 101);
  assert.match(e.message, /^internal error: oops/);
  assert.equal(cniErrorOf('str').message, 'internal error: str');
});

test('the error object carries the version in use and leaves out empty details', () => {
  assert.deepEqual(new CniError(4, 'CNI_IFNAME: not set').toObject('1.0.0'), {
    cniVersion: '1.0.0',
    code: 4,
    msg: 'CNI_IFNAME: not set',
  });
});
