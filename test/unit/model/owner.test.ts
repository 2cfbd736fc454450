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

test('the tag format is stable: each field has its short key, as links tagged by earlier versions carry it', () => {
  const every = {
    kind: 'veth' as const,
    target: 't',
    ifname: 'i',
    bridge: 'b',
    parent: 'l',
    origName: 'o',
    prevAlias: 'pa',
    origMtu: 'om',
    origMac: 'oa',
    origUp: 'ou',
    hostAddrs: 'ha',
    hostRoutes: 'hr',
    prevDefault4: 'd4',
    prevDefault6: 'd6',
    peer: 'p',
    peerIfname: 'pi',
    bridgeAddrs: 'ba',
    vlan: 'v',
    trunk: 'tr',
    users: 'u',
    dhcp: 'dh',
    recipe: 'r',
  };
  // each value is its own key, so the encoded text shows key=key for every field
  const s = encodeTag(every);
  assert.equal(
    s,
    'pf1:k=veth&t=t&i=i&b=b&l=l&o=o&pa=pa&om=om&oa=oa&ou=ou&ha=ha&hr=hr&d4=d4&d6=d6&p=p&pi=pi&ba=ba&v=v&tr=tr&u=u&dh=dh&r=r',
  );
  assert.deepEqual(decodeTag(s), every);
  // unset fields are left out, not written empty
  assert.equal(encodeTag({ kind: 'bridge' }), 'pf1:k=bridge');
});

test('every tag kind decodes; anything else (or no kind) is not a tag of ours', () => {
  for (const kind of [
    'bridge',
    'veth',
    'veth-host',
    'macvlan',
    'ipvlan',
    'vlan',
    'phys',
    'pair',
    'vlan-shared',
  ] as const)
    assert.deepEqual(decodeTag(`pf1:k=${kind}&i=eth1`), { kind, ifname: 'eth1' }, kind);
  assert.equal(decodeTag('pf1:i=eth1'), undefined);
  assert.equal(decodeTag('pf1:k='), undefined);
  assert.equal(decodeTag(undefined), undefined);
  assert.equal(decodeTag('pf2:k=veth'), undefined);
});

test('a tag fits the alias when it is at most 255 bytes once encoded', () => {
  // "pf1:k=phys&pa=" is 14 bytes
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'x'.repeat(241) }), true);
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'x'.repeat(242) }), false);
  // "é" is %C3%A9 once encoded: 6 bytes, not 1 character
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'é'.repeat(40) }), true);
  assert.equal(tagFits({ kind: 'phys', prevAlias: 'é'.repeat(41) }), false);
});
