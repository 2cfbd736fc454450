/**
 * pipework parity: every IPv4 address pipefitter adds below /31 carries its broadcast address
 * (`ip addr add A brd B`), as pipework's and Docker's do — attach, the pipework form, a `link`
 * pair, the bridge's own address — and `show` and `--dry-run` say so. Read back from the kernel.
 * (Recipes: recipes.test.ts checks theirs.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attach, detach } from '../../src/api/attach.js';
import { cli } from '../helpers/cli.js';
import { broadcasts } from '../helpers/read-back.js';
import { withSandbox } from '../helpers/sandbox.js';

test('IPv4 addresses get their broadcast: attach, bridge address, pipework form, link pair; /31 and IPv6 none', (t) =>
  withSandbox(t, async (sb) => {
    const a = await sb.container();
    const b = await sb.container();
    const br = sb.name('bc');
    await attach({
      target: `pid:${a.pid}`,
      bridge: br,
      bridgeIp: '192.0.2.1/24',
      ip: ['192.0.2.10/24', '198.51.100.10/23', '2001:db8::10/64'],
    });
    assert.deepEqual(await broadcasts({ pid: a.pid }, 'eth1'), {
      '192.0.2.10/24': '192.0.2.255',
      '198.51.100.10/23': '198.51.101.255',
    });
    assert.deepEqual(await broadcasts('sandbox', br), { '192.0.2.1/24': '192.0.2.255' });

    // the pipework form, through the CLI
    const pw = await cli([br, '-i', 'eth2', `pid:${b.pid}`, '192.0.2.11/25@192.0.2.1']);
    assert.equal(pw.code, 0, pw.stderr);
    assert.deepEqual(await broadcasts({ pid: b.pid }, 'eth2'), { '192.0.2.11/25': '192.0.2.127' });

    // a pair: /30 has a broadcast, /31 has none (RFC 3021)
    const pair = await cli([
      'link',
      `pid:${a.pid}:p0`,
      `pid:${b.pid}:p0`,
      '--ip',
      '203.0.113.1/30',
      '--peer-ip',
      '203.0.113.2/30',
    ]);
    assert.equal(pair.code, 0, pair.stderr);
    assert.deepEqual(await broadcasts({ pid: a.pid }, 'p0'), { '203.0.113.1/30': '203.0.113.3' });
    assert.deepEqual(await broadcasts({ pid: b.pid }, 'p0'), { '203.0.113.2/30': '203.0.113.3' });
    const p31 = await cli([
      'link',
      `pid:${a.pid}:p1`,
      `pid:${b.pid}:p1`,
      '--ip',
      '203.0.113.8/31',
      '--peer-ip',
      '203.0.113.9/31',
    ]);
    assert.equal(p31.code, 0, p31.stderr);
    assert.deepEqual(await broadcasts({ pid: a.pid }, 'p1'), { '203.0.113.8/31': '' });

    // show names it; the dry run prints it
    const shown = await cli(['show', `pid:${a.pid}`, '--json']);
    const eth1 = (
      JSON.parse(shown.stdout) as {
        interfaces: { name: string; addresses: { address: string; broadcast?: string }[] }[];
      }
    ).interfaces.find((i) => i.name === 'eth1');
    assert.equal(eth1?.addresses.find((x) => x.address === '192.0.2.10')?.broadcast, '192.0.2.255');
    assert.equal(eth1?.addresses.find((x) => x.address === '2001:db8::10')?.broadcast, undefined);
    assert.match((await cli(['show', `pid:${a.pid}`])).stdout, /192\.0\.2\.10\/24 brd 192\.0\.2\.255/);
    const dry = await cli([
      'attach',
      `pid:${a.pid}`,
      '--bridge',
      br,
      '-i',
      'eth3',
      '--ip',
      '192.0.2.12/24',
      '-n',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /ip addr add 192\.0\.2\.12\/24 brd 192\.0\.2\.255 dev eth3/);

    for (const [target, ifname] of [
      [`pid:${a.pid}`, 'p0'],
      [`pid:${a.pid}`, 'p1'],
      [`pid:${b.pid}`, 'eth2'],
      [`pid:${a.pid}`, 'eth1'],
    ] as const)
      await detach({ target, ifname });
  }));
