import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTag, encodeTag, tagFits } from '../../../src/model/owner.js';

test('tags round-trip and stay free of blanks and "#" (so ip -batch can carry them)', () => {
  const t = {
    kind: 'phys' as const,
    target: 'docker:' + 'a'.repeat(64),
    ifname: 'wan0',
    origName: 'enp5s0f1',
    prevAlias: 'uplink #3 to rack',
  };
  const s = encodeTag(t);
  assert.doesNotMatch(s, /[\s#"']/);
  assert.deepEqual(decodeTag(s), t);
  assert.ok(tagFits(t));
  assert.equal(decodeTag('some admin alias'), undefined);
  assert.equal(decodeTag('pf1:k=unknown'), undefined);
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'x'.repeat(300) }), false);
});
