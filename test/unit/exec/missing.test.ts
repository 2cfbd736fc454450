import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notInstalled } from '../../../src/exec/missing.js';
import { programsOf } from '../../../src/render/enter.js';

const RUNNER = '/usr/lib/node_modules/pipefitter/libexec/pipefitter-dhcp';

test('the program that is not installed, from each way its absence shows', () => {
  const cases: [
    string,
    readonly string[],
    { exitCode: number | undefined; stderr: string; enoent: boolean },
    string[] | undefined,
  ][] = [
    [
      'started directly (ENOENT)',
      ['nft', '-f', '-'],
      { exitCode: undefined, stderr: '', enoent: true },
      ['nft'],
    ],
    [
      'a bash script',
      ['/x/run-nft', '-f', '-'],
      {
        exitCode: 127,
        stderr: '/x/run-nft: line 29: nft: command not found\n',
        enoent: false,
      },
      ['nft'],
    ],
    [
      'behind nsenter',
      ['nsenter', '--net=/proc/42/ns/net', '--', 'tc', 'qdisc'],
      { exitCode: 127, stderr: 'nsenter: failed to execute tc: No such file or directory\n', enoent: false },
      ['tc'],
    ],
    [
      'behind unshare',
      ['unshare', '--net', '--', 'ip', '-batch', '-'],
      { exitCode: 127, stderr: 'unshare: failed to execute ip: No such file or directory\n', enoent: false },
      ['ip'],
    ],
    [
      'a dash script',
      ['sh', '-c', 'arping -U x'],
      { exitCode: 127, stderr: 'sh: 1: arping: not found\n', enoent: false },
      ['arping'],
    ],
    [
      "a dash script's exec",
      ['sh', '-c', 'exec "$@"', 'x', 'dockerd'],
      { exitCode: 127, stderr: '/tmp/x: 6: exec: dockerd: not found\n', enoent: false },
      ['dockerd'],
    ],
    [
      'env',
      ['env', 'A=1', 'dnsmasq'],
      { exitCode: 127, stderr: "env: 'dnsmasq': No such file or directory\n", enoent: false },
      ['dnsmasq'],
    ],
    [
      'the DHCP runner: one client',
      ['nsenter', '--net=/proc/42/ns/net', '--', 'unshare', '--mount', '--', RUNNER, 'run', '/s', 'dhcpcd'],
      { exitCode: 3, stderr: 'pipefitter-dhcp: dhcpcd is not installed\n', enoent: false },
      ['dhcpcd'],
    ],
    [
      'the DHCP runner: no client at all',
      [RUNNER, 'run', '/s', 'dhcp'],
      {
        exitCode: 3,
        stderr: 'pipefitter-dhcp: no DHCP client installed (udhcpc, dhclient or dhcpcd)\n',
        enoent: false,
      },
      ['udhcpc', 'dhclient', 'dhcpcd'],
    ],
    [
      'the DHCP runner: no unshare',
      [RUNNER, 'run', '/s', 'udhcpc'],
      { exitCode: 4, stderr: 'pipefitter-dhcp: unshare (util-linux) is missing\n', enoent: false },
      ['unshare'],
    ],
    // not a missing program
    [
      'a plain failure',
      ['ip', 'link', 'del', 'x'],
      { exitCode: 1, stderr: 'Cannot find device "x"\n', enoent: false },
      undefined,
    ],
    [
      'exit 3 of another program',
      ['nft', '-f', '-'],
      { exitCode: 3, stderr: 'pipefitter-dhcp: udhcpc is not installed\n', enoent: false },
      undefined,
    ],
    [
      'nsenter that cannot enter',
      ['nsenter', '--net=/proc/42/ns/net', '--', 'ip', 'a'],
      {
        exitCode: 1,
        stderr: 'nsenter: cannot open /proc/42/ns/net: No such file or directory\n',
        enoent: false,
      },
      undefined,
    ],
  ];
  for (const [what, argv, ended, want] of cases) assert.deepEqual(notInstalled(argv, ended), want, what);
});

test('the programs a command starts, wrappers included', () => {
  assert.deepEqual(programsOf(['ip', 'link']), ['ip']);
  assert.deepEqual(programsOf(['nsenter', '--net=/proc/1/ns/net', '--', 'nft', '-f', '-']), [
    'nsenter',
    'nft',
  ]);
  assert.deepEqual(
    programsOf([
      'nsenter',
      '--net=/p',
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      RUNNER,
      'run',
    ]),
    ['nsenter', 'unshare', RUNNER],
  );
  assert.deepEqual(programsOf(['unshare', '--net']), ['unshare']);
});
