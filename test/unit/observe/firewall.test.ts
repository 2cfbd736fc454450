/** observeFirewall: an iptables that cannot be read is recorded per family (FirewallState.unknown), never read as "accepts". */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { observeFirewall } from '../../../src/observe/firewall.js';
import type { Runner } from '../../../src/exec/runner.js';
import { RecordingRunner } from '../../helpers/recording-runner.js';

// the machine's br_netfilter decides which families are read at all
const on = (name: string): boolean => {
  try {
    return readFileSync(`/proc/sys/net/bridge/${name}`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
};

test('routed (a recipe with NAT): iptables failing is unknown for IPv4, with the reason', async () => {
  const stderr = "iptables v1.8.9 (legacy): can't initialize iptables table `filter': Permission denied";
  const fw = await observeFirewall(new RecordingRunner(0, stderr), true);
  assert.equal(fw.unknown?.[4], stderr);
  assert.equal(fw.forwardDrop[4], false);
});

test('routed, iptables not installed: unknown only where br_netfilter sends bridged frames to it', async () => {
  const notInstalled: Runner = {
    spawned: 0,
    run: () =>
      Promise.resolve({
        command: 'iptables -w -S',
        exitCode: 127,
        stdout: '',
        stderr: '',
        failed: true,
        reason: 'tool-missing',
        missing: ['iptables'],
      }),
  };
  const fw = await observeFirewall(notInstalled, true);
  // br_netfilter off: no iptables, so no iptables FORWARD policy drops routed traffic either
  assert.equal(fw.unknown?.[4], on('bridge-nf-call-iptables') ? 'not installed' : undefined);
  assert.equal(fw.unknown?.[6], on('bridge-nf-call-ip6tables') ? 'not installed' : undefined);
});

test('iptables read: nothing unknown', async () => {
  const fw = await observeFirewall(new RecordingRunner(), true);
  assert.equal(fw.unknown, undefined);
});
