/**
 * Issue 13 (defect 10): recipes "n-ID" and "n_ID" get nftables tables of their own; a table an
 * earlier version made (pf_n_ID for "n-ID") is still read, moved to the new name on the next
 * apply, and until then refused to "n_ID", whose name it holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cli } from '../helpers/cli.js';
import { expectState, snapshot } from '../helpers/round-trip.js';
import { runId, withSandbox } from '../helpers/sandbox.js';

const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

/** The sandbox's nftables tables of family ip, each with the recipe its comment names. */
const tables = async (): Promise<Map<string, string | undefined>> => {
  const j = JSON.parse((await execa('nft', ['-j', 'list', 'tables', 'ip'])).stdout) as {
    nftables: { table?: { name: string } }[];
  };
  const names = j.nftables.flatMap((x) => (x.table ? [x.table.name] : []));
  // nft 1.0.6 gives no table comments in JSON: read each listing's comment line
  return new Map(
    await Promise.all(
      names.map(async (n): Promise<[string, string | undefined]> => {
        const text = (await execa('nft', ['list', 'table', 'ip', n])).stdout;
        return [n, /^\s*comment "pf1:r=([^"]*)"$/m.exec(text)?.[1]];
      }),
    ),
  );
};

test("a-b and a_b: a table each; an earlier version's shared name read, moved, and refused to the other", (t) =>
  withSandbox(t, async (sb) => {
    const before = await snapshot(['sandbox']);
    const [dash, under] = [`n-${sb.id}`, `n_${sb.id}`];
    const file = (name: string, bridge: string, net: string) =>
      `version: 1\nname: ${name}\nbridges:\n  ${bridge}: { addresses: ${net}.1/24, nat: { subnet: ${net}.0/24 } }\n`;
    const [fd, fu] = [`/tmp/pf-${runId}-${sb.id}-d.yaml`, `/tmp/pf-${runId}-${sb.id}-u.yaml`];
    await writeFile(fd, file(dash, `d${sb.id}`, '198.51.100'));
    await writeFile(fu, file(under, `u${sb.id}`, '203.0.113'));
    t.after(() => Promise.all([rm(fd, { force: true }), rm(fu, { force: true })]));
    sb.defer(() => cli(['destroy', fd], NO_DOCKER));
    sb.defer(() => cli(['destroy', fu], NO_DOCKER));

    // both at once: two tables, each naming its recipe
    for (const f of [fd, fu]) assert.equal((await cli(['apply', f], NO_DOCKER)).code, 0);
    let now = await tables();
    assert.equal(now.get(`pf_${dash}`), dash);
    assert.equal(now.get(`pf_${under}`), under);
    for (const f of [fd, fu]) assert.equal((await cli(['destroy', f], NO_DOCKER)).code, 0);

    // as an earlier version left it: n-ID's rules in pf_n_ID
    assert.equal((await cli(['apply', fd], NO_DOCKER)).code, 0);
    const listing = (await execa('nft', ['list', 'table', 'ip', `pf_${dash}`])).stdout;
    await execa('nft', ['-f', '-'], {
      input: `${listing.replaceAll(`pf_${dash}`, `pf_${under}`)}\ndelete table ip pf_${dash}\n`,
    });
    assert.deepEqual(
      [...(await tables()).keys()].filter((n) => n.includes(sb.id)),
      [`pf_${under}`],
    );

    // n_ID may not take it; nothing is changed
    const mid = await snapshot(['sandbox']);
    const refused = await cli(['apply', fu], NO_DOCKER);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`nftables table pf_${under}: holds the NAT rules of recipe "${dash}"`),
    );
    assert.match(refused.stderr, new RegExp(`hint: apply \\(or destroy\\) recipe "${dash}" first`));
    await expectState(['sandbox'], mid, 'refused before any change');

    // n-ID reads its old table (in sync but for the name) and its apply moves it
    const st = await cli(['status', fd], NO_DOCKER);
    assert.match(
      st.stdout,
      new RegExp(
        `move the NAT rules of recipe "${dash}" \\(nftables table pf_${dash}\\) from nftables table pf_${under}`,
      ),
    );
    assert.equal((await cli(['apply', fd], NO_DOCKER)).code, 0);
    now = await tables();
    assert.equal(now.get(`pf_${dash}`), dash);
    assert.equal(now.has(`pf_${under}`), false);
    assert.match((await cli(['status', fd], NO_DOCKER)).stdout, /in sync/);

    // now n_ID gets its own; destroying one leaves the other's
    assert.equal((await cli(['apply', fu], NO_DOCKER)).code, 0);
    assert.equal((await tables()).get(`pf_${under}`), under);
    assert.equal((await cli(['destroy', fu], NO_DOCKER)).code, 0);
    now = await tables();
    assert.equal(now.get(`pf_${dash}`), dash);
    assert.equal(now.has(`pf_${under}`), false);
    assert.equal((await cli(['destroy', fd], NO_DOCKER)).code, 0);
    await expectState(['sandbox'], before, 'the sandbox as before');
  }));
