/** Do mounts under /run/netns reach the machine's mount namespace? (defect 7 of issue 13) */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mountOf, mountsReach, parseMountinfo } from '../../../src/targets/mounts.js';
import { statFlags } from '../../../src/targets/nsfile.js';

// read on a test machine: PID 1's mount namespace, and `ip netns exec X cat /proc/self/mountinfo`
const INIT = parseMountinfo(
  [
    '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '21 26 0:20 / /proc rw,relatime - proc proc rw',
    '44 26 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw',
    '45 44 0:4 net:[4026532177] /run/netns/sb rw shared:2 - nsfs nsfs rw',
  ].join('\n'),
);
const IP_NETNS_EXEC = parseMountinfo(
  [
    '48 47 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '68 48 254:0 /run/netns /run/netns rw,relatime master:1 - ext4 /dev/vda rw',
    '51 48 0:39 / /sys rw,relatime - sysfs sb rw',
  ].join('\n'),
);

test('mountinfo: mount ID, mount point (unescaped), peer group and master', () => {
  assert.deepEqual(parseMountinfo('44 26 254:0 /a /run/my\\040dir rw shared:3 master:1 - ext4 /dev/vda rw'), [
    { id: 44, mountPoint: '/run/my dir', shared: 3, master: 1 },
  ]);
  assert.deepEqual(parseMountinfo('garbage\n\n'), []);
});

test('the mount that holds a directory: the longest mount point above it, the last on one point', () => {
  assert.equal(mountOf(INIT, '/run/netns')?.id, 44);
  assert.equal(mountOf(INIT, '/run/netnsx')?.id, 26);
  assert.equal(mountOf(INIT, '/run')?.id, 26);
  const over = parseMountinfo(
    '1 0 0:1 / / rw - ext4 a rw\n2 1 0:2 / /run rw - tmpfs b rw\n3 1 0:3 / /run rw - tmpfs c rw',
  );
  assert.equal(mountOf(over, '/run/netns')?.id, 3);
});

test('same mount namespace (one mount ID): reaches; under ip netns exec (master only): does not', () => {
  assert.equal(mountsReach(INIT, INIT, '/run/netns'), true);
  assert.equal(mountsReach(IP_NETNS_EXEC, INIT, '/run/netns'), false);
  // a private copy made shared again by `ip netns add` in it: a new peer group, still not the machine's
  const reshared = parseMountinfo(
    '68 48 254:0 /run/netns /run/netns rw shared:9 master:1 - ext4 /dev/vda rw',
  );
  assert.equal(mountsReach(reshared, INIT, '/run/netns'), false);
  // a container given /run/netns with rshared propagation: one peer group, or its slave
  const peer = parseMountinfo('70 60 254:0 /run/netns /run/netns rw shared:1 - ext4 /dev/vda rw');
  assert.equal(mountsReach(peer, INIT, '/run/netns'), true);
  const slaveThere = parseMountinfo('44 26 254:0 /run/netns /run/netns rw master:1 - ext4 /dev/vda rw');
  assert.equal(mountsReach(peer, slaveThere, '/run/netns'), true);
  assert.equal(mountsReach([], INIT, '/run/netns'), undefined, 'unknown: not refused');
});

test("kthreadd's flags from /proc/2/stat (PF_KTHREAD), a comm with spaces and parentheses too", () => {
  assert.equal(statFlags('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0'), 2129984);
  assert.equal(statFlags('77 (a) b (c) S 1 77 77 0 -1 4194560 0'), 4194560);
  assert.equal(statFlags('nonsense'), undefined);
});
