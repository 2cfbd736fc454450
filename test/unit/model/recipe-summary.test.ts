/** The summary table's rows after apply: per container, its interfaces and whether it changed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../../src/addr.js';
import type { NetnsRef } from '../../../src/model/netns.js';
import { summarizeRecipe } from '../../../src/model/recipe-summary.js';
import type { Step } from '../../../src/model/step.js';
import type { ResolvedTarget } from '../../../src/model/target.js';
import { recipeFromText } from '../../../src/recipe/load.js';

const recipe = recipeFromText(
  `version: 1
name: lab
networks:
  lan: { bridge: br0, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.110 }
containers:
  web:
    target: netns:web
    interfaces:
      eth1: { network: lan, address: 192.0.2.10/24 }
  db:
    target: netns:db
    interfaces:
      eth1: { network: lan, address: auto }
      eth2: { network: lan, address: dhcp }
  cache:
    target: netns:cache
    interfaces:
      eth1: { network: lan, address: auto }
  gone:
    target: netns:gone
    interfaces:
      eth1: { network: lan }
links:
  - { a: 'web:p0', b: 'db:p0', addresses: [198.51.100.1/30, 198.51.100.2/30] }
`,
  'lab.yaml',
);

const target = (name: string): ResolvedTarget => ({
  spec: { kind: 'netns', name },
  id: `netns:${name}`,
  label: `netns:${name}`,
  netns: { kind: 'name', name },
});
const stepIn = (netns: NetnsRef) => ({ netns }) as Step;

test('changed where a step runs in its namespace, unchanged elsewhere, not running when left out', () => {
  const rows = summarizeRecipe(recipe, {
    targets: new Map(['web', 'db', 'cache'].map((n) => [n, target(n)])),
    missing: [{ container: 'gone', target: 'netns:gone' }],
    steps: [stepIn({ kind: 'host' }), stepIn({ kind: 'name', name: 'db' })],
    auto: new Map([['lab/db/eth1', parseCidr('192.0.2.100/24', 'x')]]),
  });
  assert.deepEqual(rows, [
    {
      container: 'web',
      target: 'netns:web',
      status: 'unchanged',
      interfaces: [
        { ifname: 'eth1', network: 'lan', addresses: ['192.0.2.10/24'] },
        { ifname: 'p0', network: 'link to db', addresses: ['198.51.100.1/30'] },
      ],
    },
    {
      container: 'db',
      target: 'netns:db',
      status: 'changed',
      interfaces: [
        { ifname: 'eth1', network: 'lan', addresses: ['192.0.2.100/24'] },
        { ifname: 'eth2', network: 'lan', addresses: ['dhcp'] },
        { ifname: 'p0', network: 'link to web', addresses: ['198.51.100.2/30'] },
      ],
    },
    {
      // an auto address not given (yet): said so
      container: 'cache',
      target: 'netns:cache',
      status: 'unchanged',
      interfaces: [{ ifname: 'eth1', network: 'lan', addresses: ['auto'] }],
    },
    {
      container: 'gone',
      target: 'netns:gone',
      status: 'not running',
      interfaces: [{ ifname: 'eth1', network: 'lan', addresses: [] }],
    },
  ]);
});
