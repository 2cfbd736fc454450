import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST } from '../../../src/model/netns.js';
import type { FirewallState } from '../../../src/model/observed.js';
import { PlanContext } from '../../../src/plan/context.js';
import { planOrphanFirewallRemoval } from '../../../src/plan/firewall.js';
import { lines, nic, nsState, observed } from '../../helpers/plan-fixtures.js';

const fw: FirewallState = {
  brNetfilter: { 4: true, 6: false },
  forwardDrop: { 4: true, 6: false },
  dockerUser: { 4: true, 6: false },
  bridgeRules: [
    { family: 4, chain: 'DOCKER-USER', bridge: 'gone' },
    { family: 4, chain: 'DOCKER-USER', bridge: 'here' },
    { family: 4, chain: 'DOCKER-USER', bridge: 'theirs' },
  ],
};

test("the accept rule of a recipe's bridge that is gone is removed; one whose bridge is there stays", () => {
  const ctx = new PlanContext(observed({ ...nsState([nic('here', { kind: 'bridge' })]), firewall: fw }));
  planOrphanFirewallRemoval(ctx, HOST, ['gone', 'here']);
  assert.deepEqual(lines(ctx.finish()), [
    'host: iptables -w -D DOCKER-USER -i gone -o gone -m comment --comment pf1:bridge=gone -j ACCEPT',
  ]);
});
