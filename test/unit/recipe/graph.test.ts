/** `pipefitter graph`: each example recipe as Mermaid and as Graphviz dot, against golden files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GRAPH_FORMATS, renderGraph } from '../../../src/recipe/graph.js';
import { recipeFromText } from '../../../src/recipe/load.js';
import { golden } from '../../helpers/plan-dump.js';

const EXAMPLES = ['router', 'shared-bridge-nat', 'chain', 'macvlan', 'vlan-trunk', 'docker-web'] as const;

const load = (name: string) =>
  recipeFromText(
    readFileSync(new URL(`../../../recipes/${name}.yaml`, import.meta.url), 'utf8'),
    `recipes/${name}.yaml`,
  );

for (const name of EXAMPLES)
  test(`recipes/${name}.yaml as a graph`, () => {
    golden(`graph-${name}.mmd`, renderGraph(load(name), 'mermaid'));
    golden(`graph-${name}.dot`, renderGraph(load(name), 'dot'));
  });

test('graph formats: mermaid and dot are rendered, svg is dot through Graphviz', () => {
  assert.deepEqual(GRAPH_FORMATS, ['mermaid', 'dot', 'svg']);
});

test('every kind of addressing and hub is drawn, and quotes cannot break out of a label', () => {
  const r = recipeFromText(
    `version: 1
name: kinds
bridges:
  br0: { addresses: [192.0.2.1/24, 2001:db8::1/64] }
networks:
  lan: { bridge: br0, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.110 }
  mv: { parent: eth3, kind: macvlan, subnet: 198.51.100.0/24, vlan: 7 }
  iv: { parent: eth4, kind: ipvlan }
  tagged: { parent: eth5, kind: vlan, vlan: 30 }
containers:
  a-1:
    target: netns:a
    interfaces:
      eth1: { network: lan, address: auto }
      eth2: { network: mv, address: dhcp }
      eth3: { network: iv }
      eth4: { network: tagged }
  b:
    target: '/run/netns/x"y'
links:
  - { a: 'a-1:p0', b: 'b:p0' }
`,
    'x.yaml',
  );
  golden('graph-kinds.mmd', renderGraph(r, 'mermaid'));
  golden('graph-kinds.dot', renderGraph(r, 'dot'));
});
