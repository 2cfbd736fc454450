/** The harness's rule for the IPv6 link-local addresses the kernel makes (test/helpers/kernel-state.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKernelLinkLocal } from '../helpers/kernel-state.js';

test('an EUI-64 link-local address is the kernel’s, also when its first group is 0 (a MAC 02:00:…)', () => {
  // MAC 8e:3a:11:34:fe:3d, and 02:00:8c:34:fe:3d (pipefitter's own MACs start 02:00)
  assert.ok(isKernelLinkLocal('fe80::8c3a:11ff:fe34:fe3d', 64));
  assert.ok(isKernelLinkLocal('fe80::8cff:fe34:fe3d', 64));
  // an address someone gave, or another prefix: state
  assert.ok(!isKernelLinkLocal('fe80::1', 64));
  assert.ok(!isKernelLinkLocal('fe80::8cff:fe34:fe3d', 80));
  assert.ok(!isKernelLinkLocal('2001:db8::8cff:fe34:fe3d', 64));
});
