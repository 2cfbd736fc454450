/**
 * Recipe text → document: variables (whole values keep their type, keys too, $$ is a dollar),
 * every problem located at file:line:col through anchors and merge keys, the error's one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecipeText, pathText } from '../../../src/recipe/parse.js';
import { recipeFromText } from '../../../src/recipe/load.js';
import { isPipefitterError } from '../../../src/errors.js';

const refused = (text: string, set?: Record<string, string>) => {
  try {
    parseRecipeText(text, 'lab.yaml', set ? { set } : {});
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    return {
      message: e.message,
      hint: e.hint,
      issues: (e.issues ?? []).map((i) => `${i.line}:${i.col} ${i.path} | ${i.message} | ${i.hint ?? ''}`),
    };
  }
  throw new Error('accepted');
};

test('variables: a whole ${name} keeps its type, inside text it is spelled out, $$ is a dollar, --set wins, keys too', () => {
  const { doc } = parseRecipeText(
    `version: 1
vars: { n: 1400, p: lab, on: true }
description: "costs $$5 in \${p}"
bridges:
  \${p}-br: { mtu: "\${n}", vlanFiltering: "\${on}" }
`,
    'lab.yaml',
    { set: { p: 'x' } },
  );
  assert.deepEqual(doc.bridges, { 'x-br': { mtu: 1400, vlanFiltering: true } });
  assert.equal(doc.description, 'costs $5 in x');
  // the vars themselves are kept as written
  assert.deepEqual(doc.vars, { n: 1400, p: 'lab', on: true });
  assert.equal(parseRecipeText('version: 1\n', 'lab.yaml').doc.vars, undefined);
});

test('unknown variables, whole or inside text, each located, all reported', () => {
  const r = refused(`version: 1
description: "a \${x} b"
bridges:
  br0: { mtu: "\${y}" }
`);
  assert.deepEqual(r.issues, [
    '2:14 description | unknown variable ${x} | define it under vars, or pass --set NAME=VALUE',
    '4:15 bridges.br0.mtu | unknown variable ${y} | define it under vars, or pass --set NAME=VALUE',
  ]);
  // the error is the first problem, with how many more
  assert.equal(r.message, 'lab.yaml:2:14: description: unknown variable ${x} (and 1 more)');
  assert.equal(r.hint, 'define it under vars, or pass --set NAME=VALUE');
});

test('shape problems: unknown keys at the key, missing ones at their parent, wrong types with what was expected', () => {
  const r = refused(`version: 1
bridges:
  br0: { mtuu: 1 }
links:
  - { a: x:eth1 }
containers:
  c: { target: 42 }
`);
  assert.deepEqual(r.issues, [
    '3:10 bridges.br0.mtuu | unknown key "mtuu" | remove it or fix its spelling (see recipes/schema.json)',
    // in the schema's order of sections
    '7:16 containers.c.target | expected string, got 42 | ',
    '5:5 links[0].b | "b" is required | add b',
  ]);
  assert.equal(refused('version: 1\nfoo: 1\n').message, 'lab.yaml:2:1: foo: unknown key "foo"');
  assert.deepEqual(refused('[1]\n').issues, [
    '1:1  | a recipe is a mapping with at least "version: 1" | start the file with: version: 1',
  ]);
  assert.equal(refused('[1]\n').message, 'lab.yaml:1:1: a recipe is a mapping with at least "version: 1"');
  assert.deepEqual(refused('').issues, [
    '1:1  | a recipe is a mapping with at least "version: 1" | start the file with: version: 1',
  ]);
});

test('locations through anchors and merge keys: a merged key is found where the anchor wrote it', () => {
  const text = `version: 1
networks:
  lan: { bridge: br0 }
containers:
  a: &c
    target: netns:a
    interfaces: { eth1: { network: lan, mtu: 1 } }
  b:
    <<: *c
    target: netns:b
`;
  try {
    recipeFromText(text, 'lab.yaml');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isPipefitterError(e));
    // both containers' MTU problems point at the one place that sets it
    assert.deepEqual(
      (e.issues ?? []).map((i) => `${i.line}:${i.col} ${i.path}`),
      ['7:46 containers.a.interfaces.eth1.mtu', '7:46 containers.b.interfaces.eth1.mtu'],
    );
  }
});

test('paths are written as a reader would look them up', () => {
  assert.equal(
    pathText(['containers', 'web', 'interfaces', 'eth1', 'address', 0]),
    'containers.web.interfaces.eth1.address[0]',
  );
  assert.equal(pathText(['bridges', 'br.0', 'mtu']), 'bridges["br.0"].mtu');
  assert.equal(pathText(['links', 2]), 'links[2]');
  assert.equal(pathText(['_x', 'a-b_1']), '_x.a-b_1');
  assert.equal(pathText(['1a']), '["1a"]');
  assert.equal(pathText([]), '');
});

test('a kept document (the same text parsed before) gives the same recipe, and problems still their line and column', () => {
  const text = `version: 1
networks:
  lan: { bridge: br-lab, subnet: 192.0.2.0/24 }
containers:
  web: { target: 'netns:web', interfaces: { eth1: { network: lan, address: 192.0.2.10 } } }
`;
  const fresh = recipeFromText(text, 'lab.yaml');
  assert.equal(fresh.source?.kept, false);
  assert.match(fresh.source?.sha256 ?? '', /^[0-9a-f]{64}$/);
  const again = recipeFromText(text, 'lab.yaml', { raw: fresh.source?.raw });
  assert.equal(again.source?.kept, true);
  assert.deepEqual({ ...again, source: undefined }, { ...fresh, source: undefined });
  // a rule broken by --set: located from the text, parsed only now
  const bad = `version: 1
vars: { a: 192.0.2.10 }
networks:
  lan: { bridge: br-lab, subnet: 192.0.2.0/24 }
containers:
  web:
    target: 'netns:web'
    interfaces: { eth1: { network: lan, address: '\${a}' } }
`;
  const raw = recipeFromText(bad, 'lab.yaml').source?.raw;
  const issue = (opts: { raw?: unknown }) => {
    try {
      recipeFromText(bad, 'lab.yaml', { ...opts, set: { a: '198.51.100.300' } });
    } catch (e) {
      if (isPipefitterError(e)) return e.issues?.map((i) => `${i.line}:${i.col} ${i.path}`);
    }
    return 'accepted';
  };
  assert.deepEqual(issue({ raw }), issue({}));
  assert.deepEqual(issue({}), ['8:50 containers.web.interfaces.eth1.address']);
});
