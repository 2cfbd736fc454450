/**
 * `show` reports each interface's carrier (LOWER_UP) and operstate, as the kernel has them, in
 * human and --json form; `show host` (or `show --host`) reads the host's own namespace — here
 * the sandbox, where the CLI runs — and changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { ipJson } from '../helpers/read-back.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import type { Ns } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';

const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

interface Shown {
  target: string;
  netns: string;
  interfaces: { name: string; up: boolean; carrier: boolean; operstate: string; managed: boolean }[];
}

/** The kernel's own word on a link: LOWER_UP and operstate, read with ip -j. */
const kernelLink = async (ns: Ns, dev: string): Promise<{ carrier: boolean; operstate: string }> => {
  const [l] = (await ipJson(ns, ['link', 'show', 'dev', dev])) as { flags: string[]; operstate: string }[];
  return { carrier: l!.flags.includes('LOWER_UP'), operstate: l!.operstate };
};

const showJson = async (args: string[]): Promise<Shown> => {
  const r = await cli(['show', ...args, '--json'], NO_DOCKER);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Shown;
};

test('show: carrier and operstate of each interface; a veth whose peer is down has no carrier (operstate as the kernel says)', async (t) => {
  await withSandbox(t, async (sb) => {
    const c = await sb.container();
    const br = sb.name('sc');
    const target = `pid:${c.pid}`;
    const a = await cli(['attach', target, '--bridge', br, '--ip', '192.0.2.10/24'], NO_DOCKER);
    assert.equal(a.code, 0, a.stderr);
    t.after(async () => void (await cli(['detach', target, '--ifname', 'eth1'], NO_DOCKER)));

    const up = await showJson([target]);
    const eth1 = up.interfaces.find((i) => i.name === 'eth1');
    assert.ok(eth1, JSON.stringify(up));
    assert.deepEqual(
      { carrier: eth1.carrier, operstate: eth1.operstate },
      await kernelLink({ pid: c.pid }, 'eth1'),
    );
    assert.deepEqual([eth1.up, eth1.carrier, eth1.operstate], [true, true, 'UP']);
    assert.match((await cli(['show', target], NO_DOCKER)).stdout, /eth1 +veth +UP +carrier +UP /);

    // the host side (the veth's peer) down by hand: eth1 stays up but loses carrier
    const hostSide = (await ipJson('sandbox', ['link', 'show', 'master', br])) as { ifname: string }[];
    assert.equal(hostSide.length, 1);
    await execa('ip', ['link', 'set', hostSide[0]!.ifname, 'down']);
    const down = (await showJson([target])).interfaces.find((i) => i.name === 'eth1')!;
    assert.deepEqual(
      { carrier: down.carrier, operstate: down.operstate },
      await kernelLink({ pid: c.pid }, 'eth1'),
    );
    // (across namespaces the kernel says DOWN; a pair in one namespace says LOWERLAYERDOWN, below)
    assert.deepEqual([down.up, down.carrier], [true, false]);
    assert.notEqual(down.operstate, 'UP');
    assert.match(
      (await cli(['show', target], NO_DOCKER)).stdout,
      new RegExp(`eth1 +veth +UP +no-carrier +${down.operstate} `),
    );
    await execa('ip', ['link', 'set', hostSide[0]!.ifname, 'up']);
  });
});

test("show host / show --host: the host's own namespace, read only; changing it is still refused", async (t) => {
  await withSandbox(t, async (sb) => {
    const nic = await sb.hostNic('h');
    const peer = `pp${sb.id}h`.slice(0, 15);
    await execa('ip', ['link', 'set', peer, 'down']);
    const before = await snapshot(['sandbox']);

    const shown = await showJson(['host']);
    assert.deepEqual([shown.target, shown.netns], ['host', 'host']);
    const kernel = (await ipJson('sandbox', ['link', 'show'])) as { ifname: string }[];
    assert.deepEqual(
      shown.interfaces.map((i) => i.name).sort(),
      kernel.map((l) => l.ifname).sort(),
      'every link of the namespace the CLI runs in',
    );
    for (const dev of [nic, peer, 'lo']) {
      const i = shown.interfaces.find((x) => x.name === dev);
      assert.ok(i, dev);
      assert.deepEqual({ carrier: i.carrier, operstate: i.operstate }, await kernelLink('sandbox', dev), dev);
    }
    assert.deepEqual(
      shown.interfaces.find((i) => i.name === nic)!.operstate,
      'LOWERLAYERDOWN',
      'the NIC whose far end is down',
    );
    assert.deepEqual(await showJson(['--host']), shown, 'show --host is show host');
    const human = await cli(['show', 'host'], NO_DOCKER);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`${nic} +veth +UP +no-carrier +LOWERLAYERDOWN`));

    const both = await cli(['show', 'web', '--host', '--json'], NO_DOCKER);
    assert.equal(both.code, 2);
    assert.equal((JSON.parse(both.stdout) as { ok: boolean }).ok, false);
    // "host" is a word for show only: attach still resolves it as a container, and refuses
    const attach = await cli(
      ['attach', 'host', '--bridge', sb.name('hb'), '--ip', '192.0.2.9/24'],
      NO_DOCKER,
    );
    assert.equal(attach.code, 2, attach.stderr);
    await expectState(['sandbox'], before, 'show host changes nothing');
  });
});
