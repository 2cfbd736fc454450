/** "Did you mean": which words are taken for a typo of a subcommand, and which stay pipework's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestCommand, editDistance, unknownCommand } from '../../../src/cli/suggest.js';
import { buildProgram } from '../../../src/cli/main.js';
import { mistypedCommand, isPipeworkForm } from '../../../src/cli/commands/compat.js';

const commands = new Set([...buildProgram().commands.map((c) => c.name()), 'help']);

test('edit distance counts a transposition as one edit', () => {
  assert.equal(editDistance('atach', 'attach'), 1);
  assert.equal(editDistance('shwo', 'show'), 1);
  assert.equal(editDistance('detahc', 'detach'), 1);
  assert.equal(editDistance('', 'ab'), 2);
  assert.equal(editDistance('br1', 'try'), 2);
});

test('near misses and prefixes name the subcommand', () => {
  for (const [typo, want] of [
    ['atach', 'attach'],
    ['attahc', 'attach'],
    ['shwo', 'show'],
    ['detatch', 'detach'],
    ['aply', 'apply'],
    ['destory', 'destroy'],
    ['validat', 'validate'],
    ['stauts', 'status'],
    ['lnik', 'link'],
    ['doc', 'doctor'],
    ['val', 'validate'],
    ['Attach', 'attach'],
  ] as const)
    assert.equal(closestCommand(typo, commands), want, typo);
});

test('host interface names stay pipework words', () => {
  for (const w of [
    'br0',
    'br1',
    'eth0',
    'eth3',
    'enp5s0f1',
    'lan0',
    'docker0',
    'virbr0',
    'bond0',
    'wlan0',
    'br-lab',
  ])
    assert.equal(closestCommand(w, commands), undefined, w);
});

test('a typo that does not parse as pipework is refused with the suggestion', () => {
  const e = mistypedCommand(['atach', 'netns:X', '--bridge', 'br0'], commands);
  assert.equal(e?.code, 'E_USAGE');
  assert.equal(e?.message, 'unknown command "atach": did you mean "attach"?');
  assert.equal(e?.field, 'command');
  assert.equal(e?.value, 'atach');
  assert.equal(
    mistypedCommand(['--json', 'shwo', 'web'], commands)?.message,
    'unknown command "shwo": did you mean "show"?',
  );
  assert.equal(mistypedCommand(['atach'], commands)?.value, 'atach');
});

test('a word close to a subcommand that parses as a pipework form stays pipework', () => {
  // a bridge really named show1 or plan0: the full pipework line wins
  for (const argv of [
    ['show1', 'web', '192.0.2.10/24'],
    ['plan0', 'web', '192.0.2.10/24@192.0.2.1'],
    ['wait0', '-i', 'lan0', 'web', 'dhcp'],
    ['link1', 'web', '198.51.100.7/24', '02:00:00:00:00:07'],
  ]) {
    assert.equal(isPipeworkForm(argv, commands), true, argv.join(' '));
    assert.equal(mistypedCommand(argv, commands), undefined, argv.join(' '));
  }
});

test('pipework forms and subcommands are never refused as typos', () => {
  for (const argv of [
    ['br1', 'web', '192.0.2.10/24@192.0.2.1'],
    ['eth3', '-i', 'lan0', 'web', '198.51.100.7/24'],
    ['route', 'web', 'add', '198.51.100.0/24', 'via', '192.0.2.254'],
    ['rule', 'web'],
    ['tc', 'web', 'qdisc'],
    ['--wait', '-i', 'eth1'],
    ['br0', 'web'], // malformed pipework: keeps pipework's own error
    ['attach', 'web'],
  ])
    assert.equal(mistypedCommand(argv, commands), undefined, argv.join(' '));
  assert.equal(unknownCommand('-x', ['-x'], commands), undefined);
});
