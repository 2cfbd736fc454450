/** The completion engine against the commander definitions, with fixed live values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { complete } from '../../../src/cli/completion.js';
import { buildProgram } from '../../../src/cli/main.js';
import type { CompletionSources } from '../../../src/api/completion.js';
import { parseAttachInput } from '../../../src/model/input.js';
import { IPVLAN_FLAGS, IPVLAN_MODES, MACVLAN_MODES } from '../../../src/values.js';

const src: CompletionSources = {
  containers: () => Promise.resolve(['web', 'db']),
  podman: () => Promise.resolve(['pod1']),
  namespaces: () => Promise.resolve(['r1', 'r2']),
  bridges: () => Promise.resolve(['br-lab', 'docker0']),
  hostInterfaces: () => Promise.resolve(['eth0', 'eth3', 'br-lab']),
  recipeFiles: () => Promise.resolve(['lab.yaml', 'net.json']),
};
const program = buildProgram();
const c = (...words: string[]) => complete(program, words, src);

test('subcommands at the first word, filtered by what is typed', async () => {
  const all = await c('');
  for (const cmd of program.commands) assert.ok(all.includes(cmd.name()), cmd.name());
  assert.ok(all.includes('help'));
  assert.deepEqual(await c('at'), ['attach']);
  assert.deepEqual(await c('de'), ['detach', 'destroy']);
  assert.deepEqual(await c('--json', 'sh'), ['show']);
  assert.deepEqual(await c('--backend', 'ip', 'gr'), ['graph']);
});

test("every subcommand's every flag is offered after a dash (from commander, so it cannot drift)", async () => {
  const visit = async (cmd: Command, path: string[]) => {
    if (cmd.commands.length) {
      for (const sub of cmd.commands) await visit(sub, [...path, sub.name()]);
      if (path.length)
        assert.deepEqual(
          await c(...path, ''),
          cmd.commands.map((s) => s.name()),
        );
      return;
    }
    const offered = await c(...path, '--');
    for (const o of cmd.options)
      if (o.long) assert.ok(offered.includes(o.long), `${path.join(' ')} ${o.long}`);
    for (const g of ['--json', '--quiet', '--backend', '--help'])
      assert.ok(offered.includes(g), `${path.join(' ')} ${g}`);
  };
  await visit(program, []);
  assert.ok((await c('attach', 'web', '-')).includes('-i'));
});

test('live values after flags', async () => {
  assert.deepEqual(await c('attach', 'web', '--bridge', ''), ['br-lab', 'docker0']);
  assert.deepEqual(await c('attach', 'web', '--ovs', 'b'), ['br-lab']);
  assert.deepEqual(await c('attach', 'web', '--macvlan', 'eth'), ['eth0', 'eth3']);
  assert.deepEqual(await c('attach', 'web', '--phys', ''), ['eth0', 'eth3', 'br-lab']);
  assert.deepEqual(await c('attach', 'web', '--ipvlan', 'e'), ['eth0', 'eth3']);
  assert.deepEqual(await c('--backend', ''), ['netlink', 'ip']);
  assert.deepEqual(await c('show', 'web', '--backend', 'n'), ['netlink']);
  assert.deepEqual(await c('attach', 'web', '--backend=i'), ['--backend=ip']);
  assert.deepEqual(await c('attach', 'web', '--bridge=br'), ['--bridge=br-lab']);
  assert.deepEqual(await c('graph', 'lab.yaml', '--format', ''), ['mermaid', 'dot', 'svg']);
  // a flag whose value is free text: nothing (the shell falls back to files)
  assert.deepEqual(await c('attach', 'web', '--ip', ''), []);
});

test('targets: containers, podman, namespaces, and the prefixes', async () => {
  assert.deepEqual(await c('attach', ''), [
    'web',
    'db',
    'podman:pod1',
    'netns:r1',
    'netns:r2',
    'docker:',
    'podman:',
    'netns:',
    'pid:',
  ]);
  assert.deepEqual(await c('attach', 'netns:'), ['netns:r1', 'netns:r2']);
  assert.deepEqual(await c('detach', 'docker:w'), ['docker:web']);
  assert.deepEqual(await c('show', 'podman:'), ['podman:pod1']);
  assert.deepEqual(await c('attach', 'pid:'), []);
  // after a flag with a value, the target is still the first positional
  assert.deepEqual(await c('attach', '--ip', '192.0.2.1/24', 'w'), ['web']);
  assert.deepEqual(await c('link', 'web:eth2', 'd'), ['db', 'docker:']);
  // attach takes one target: nothing after it
  assert.deepEqual(await c('attach', 'web', ''), []);
});

test('recipe files, shells, help topics', async () => {
  for (const cmd of ['plan', 'apply', 'status', 'destroy', 'validate', 'graph'])
    assert.deepEqual(await c(cmd, ''), ['lab.yaml', 'net.json'], cmd);
  assert.deepEqual(await c('apply', '--set', 'a=b', 'l'), ['lab.yaml']);
  assert.deepEqual(await c('completion', ''), ['bash', 'zsh', 'fish']);
  assert.deepEqual(await c('help', 'at'), ['attach']);
  assert.deepEqual(await c('ipam', ''), ['ls', 'release', 'gc']);
});

test('--mode and --ipvlan-flag offer exactly what attach accepts, by the link kind on the line', async () => {
  const macvlan = await c('attach', 'web', '--macvlan', 'eth0', '--mode', '');
  assert.deepEqual(macvlan, [...MACVLAN_MODES]);
  for (const mode of macvlan) parseAttachInput({ target: 'web', macvlan: 'eth0', mode });
  const ipvlan = await c('attach', 'web', '--ipvlan=eth0', '--mode', '');
  assert.deepEqual(ipvlan, [...IPVLAN_MODES]);
  for (const mode of ipvlan) parseAttachInput({ target: 'web', ipvlan: 'eth0', mode });
  const flags = await c('attach', 'web', '--ipvlan', 'eth0', '--ipvlan-flag', '');
  assert.deepEqual(flags, [...IPVLAN_FLAGS]);
  for (const ipvlanFlag of flags) parseAttachInput({ target: 'web', ipvlan: 'eth0', ipvlanFlag });
  // no link kind yet: either kind's modes, and nothing no parser takes
  assert.deepEqual(
    (await c('attach', 'web', '--mode', '')).sort(),
    [...MACVLAN_MODES, ...IPVLAN_MODES].sort(),
  );
});

test('a source that fails gives nothing, not an error: the other sources still answer', async () => {
  const fail = () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock'));
  const broken: CompletionSources = { ...src, containers: fail, bridges: fail };
  assert.deepEqual(await complete(program, ['attach', 'w'], broken), []);
  assert.deepEqual(await complete(program, ['attach', ''], broken), [
    'podman:pod1',
    'netns:r1',
    'netns:r2',
    'docker:',
    'podman:',
    'netns:',
    'pid:',
  ]);
  assert.deepEqual(await complete(program, ['attach', 'docker:'], broken), []);
  assert.deepEqual(await complete(program, ['attach', 'web', '--bridge', ''], broken), []);
});
