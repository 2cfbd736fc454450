import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { renderScript } from '../../../src/render/script.js';
import { planAttach } from '../../../src/plan/attach.js';
import { planDetach } from '../../../src/plan/detach.js';
import { parseAttachInput } from '../../../src/model/input.js';
import { encodeTag } from '../../../src/model/owner.js';
import { nic, nsState, observed, pidTarget, route } from '../../helpers/plan-fixtures.js';

const golden = (name: string, actual: string): void => {
  const url = new URL(`../../fixtures/golden/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(url, actual);
  assert.equal(
    actual,
    readFileSync(url, 'utf8'),
    `golden file ${name} differs (UPDATE_GOLDEN=1 rewrites it)`,
  );
};

const t = pidTarget(4242);

test('dry run of attach: a POSIX sh script, byte for byte', () => {
  const req = parseAttachInput({
    target: 'x',
    bridge: 'br-lab',
    ip: ['192.0.2.10/24', '2001:db8::10/64'],
    gateway: '192.0.2.1',
    mac: '02:00:00:00:00:10',
    mtu: 1400,
    route: '198.51.100.0/24:192.0.2.254',
  });
  if (req.link.kind === 'pair') throw new Error();
  const p = planAttach(
    [{ target: t, iface: req.iface, link: req.link }],
    observed(nsState(), [
      t,
      nsState(
        [nic('eth0', { kind: 'veth' })],
        [route({ dst: 'default', gateway: '172.17.0.1', dev: 'eth0' })],
      ),
    ]),
  );
  golden('attach-bridge.sh', renderScript(p, { title: 'pipefitter attach pid:4242 --bridge br-lab' }));
});

test('dry run of a physical device detach names the host through the shell PID', () => {
  const tag = encodeTag({ kind: 'phys', target: 'pid:4242', ifname: 'wan0', origName: 'enp5s0f1' });
  const s = renderScript(
    planDetach(
      { target: t, ifname: 'wan0' as never, force: false },
      observed(nsState(), [t, nsState([nic('wan0', { alias: tag })])]),
    ),
  );
  assert.match(
    s,
    /nsenter --net=\/proc\/4242\/ns\/net -- ip link set dev enp5s0f1 netns "\/proc\/\$\$\/ns\/net"\n/,
  );
  golden('detach-phys.sh', s);
});

test('an empty plan renders a script that does nothing', () => {
  assert.match(
    renderScript({ steps: [], noops: ['x is in place'], notes: [] }),
    /set -eu\n: nothing to do\n$/,
  );
});
