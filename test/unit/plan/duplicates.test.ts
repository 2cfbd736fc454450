/**
 * One address on two containers of one bridge (issue 13): refused across separate attaches,
 * from what the host shows (the bridge's addresses, the `a=` of its ports' host-end tags).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../../src/addr.js';
import type { PipefitterError } from '../../../src/errors.js';
import type { Attachment } from '../../../src/model/attachment.js';
import type { ObservedLink } from '../../../src/model/observed.js';
import type { OwnerTag } from '../../../src/model/owner.js';
import { encodeTag, tagFits } from '../../../src/model/owner.js';
import type { ResolvedTarget } from '../../../src/model/target.js';
import type { AttachPlanOptions } from '../../../src/plan/attach.js';
import { planAttach } from '../../../src/plan/attach.js';
import { withAddrs } from '../../../src/plan/duplicates.js';
import { thrown } from '../../helpers/errors.js';
import { lines, netnsTarget, nic, nsState, observed, pidTarget } from '../../helpers/plan-fixtures.js';
import { attachment } from '../../helpers/plan-cases.js';

const a = pidTarget(4242);
const b = pidTarget(5151);
const br = nic('br0', { kind: 'bridge', ifindex: 2 });

const att = attachment;

/** The host end of A's port on br0, tagged as pipefitter writes it now. */
const port = (tag: Partial<OwnerTag> = {}, name = 'veth1pl4242'): ObservedLink =>
  nic(name, {
    kind: 'veth',
    ifindex: 20,
    master: 'br0',
    alias: encodeTag({
      kind: 'veth-host',
      target: 'pid:4242',
      ifname: 'eth1',
      bridge: 'br0',
      addrs: ['198.51.100.10/24'],
      ...tag,
    }),
  });

const plan = (links: ObservedLink[], atts: Attachment[], opts: AttachPlanOptions = {}) =>
  planAttach(
    atts,
    observed(
      nsState(links),
      ...atts.map((x): [ResolvedTarget, ReturnType<typeof nsState>] => [x.target, nsState()]),
    ),
    opts,
  );

/** The E_CONFLICT the planning throws. */
const refusal = (f: () => unknown): PipefitterError => {
  const e = thrown(f);
  assert.equal(e.code, 'E_CONFLICT', e.message);
  return e;
};

test('the address of another attachment on the bridge: E_CONFLICT naming it, the other end and the fix', () => {
  const r = refusal(() => plan([br, port()], [att(b, { bridge: 'br0', ip: '198.51.100.10/24' })]));
  assert.equal(r.field, '--ip');
  assert.equal(
    r.message,
    '--ip "198.51.100.10/24": 198.51.100.10 is already used on bridge "br0" by pid:4242 eth1 (host side "veth1pl4242")',
  );
  assert.equal(
    r.hint,
    'give pid:5151 another address, or detach the other first (pipefitter detach pid:4242 --ifname eth1); --allow-duplicate-address accepts it anyway',
  );
  // the same address with another prefix, or written otherwise (IPv6), is the same address
  refusal(() => plan([br, port()], [att(b, { bridge: 'br0', ip: '198.51.100.10/25' })]));
  refusal(() =>
    plan([br, port({ addrs: ['2001:db8::10/64'] })], [att(b, { bridge: 'br0', ip: '2001:db8:0::0010/64' })]),
  );
  // one of several
  refusal(() =>
    plan(
      [br, port({ addrs: ['192.0.2.10/24', '198.51.100.10/24'] })],
      [att(b, { bridge: 'br0', ip: ['203.0.113.1/24', '198.51.100.10/24'] })],
    ),
  );
});

test('--allow-duplicate-address: planned as asked, with a note naming the other', () => {
  const p = plan([br, port()], [att(b, { bridge: 'br0', ip: '198.51.100.10/24' })], {
    allowDuplicateAddress: true,
  });
  assert.ok(lines(p).some((l) => l.includes('ip addr add 198.51.100.10/24')));
  assert.ok(
    p.notes.includes(
      'pid:5151 eth1: 198.51.100.10 is also used on bridge "br0" by pid:4242 eth1 (host side "veth1pl4242"); accepted (--allow-duplicate-address)',
    ),
    p.notes.join('\n'),
  );
});

test("the bridge's own address (the host's) is taken too, also one asked for in the same request", () => {
  const owned = nic('br0', {
    kind: 'bridge',
    addrs: [{ family: 4, address: '198.51.100.1', prefix: 24, scope: 'global' }],
  });
  const r = refusal(() => plan([owned], [att(b, { bridge: 'br0', ip: '198.51.100.1/24' })]));
  assert.match(
    r.message,
    /198\.51\.100\.1 is already used on bridge "br0" by bridge "br0" itself \(the host's address\)/,
  );
  assert.match(r.hint ?? '', /ip addr del 198\.51\.100\.1\/24 dev br0/);
  refusal(() => plan([], [att(b, { bridge: 'br0', bridgeIp: '192.0.2.1/24', ip: '192.0.2.1/24' })]));
});

test('other bridges, other VLANs, other addresses and DHCP are no conflict', () => {
  const free = (links: ObservedLink[], x: Attachment): void =>
    void assert.ok(plan(links, [x]).steps.length > 0);
  free([br, port()], att(b, { bridge: 'br0', ip: '198.51.100.11/24' }));
  free([br, nic('br1', { kind: 'bridge' }), port()], att(b, { bridge: 'br1', ip: '198.51.100.10/24' }));
  // an access port of VLAN 10 and one of VLAN 20 are two link layers; VLAN 10 and 10 one
  const filtering = nic('br0', { kind: 'bridge', vlanFiltering: true });
  free([filtering, port({ vlan: 10 })], att(b, { bridge: 'br0', vlanId: '20', ip: '198.51.100.10/24' }));
  free([filtering, port({ vlan: 10 })], att(b, { bridge: 'br0', ip: '198.51.100.10/24' }));
  refusal(() =>
    plan([filtering, port({ vlan: 10 })], [att(b, { bridge: 'br0', vlanId: '10', ip: '198.51.100.10/24' })]),
  );
  // the bridge's own address is in VLAN 1, not in an access VLAN 30
  const owned = nic('br0', {
    kind: 'bridge',
    vlanFiltering: true,
    addrs: [{ family: 4, address: '198.51.100.1', prefix: 24, scope: 'global' }],
  });
  free([owned], att(b, { bridge: 'br0', vlanId: '30', ip: '198.51.100.1/24' }));
  // a tag that records no addresses (made before tags held them) is not seen
  const old = nic('vold', {
    kind: 'veth',
    master: 'br0',
    alias: encodeTag({ kind: 'veth-host', target: 'pid:4242', ifname: 'eth1', bridge: 'br0' }),
  });
  free([br, old], att(b, { bridge: 'br0', ip: '198.51.100.10/24' }));
  // DHCP: the address is the server's to give; nothing recorded
  const tagged = lines(plan([br], [att(b, { bridge: 'br0', dhcp: 'udhcpc' })])).find((l) =>
    l.includes('master br0 alias'),
  );
  assert.match(tagged ?? '', /alias pf2:k=veth-host&t=pid:5151&i=eth1&b=br0 up$/);
});

test('the same attach again (or drift repaired) is not a conflict with itself; a recipe not with its own', () => {
  const inside = nic('eth1', {
    kind: 'veth',
    alias: encodeTag({ kind: 'veth', target: 'pid:4242', ifname: 'eth1', bridge: 'br0' }),
    addrs: [{ family: 4, address: '198.51.100.10', prefix: 24, scope: 'global' }],
  });
  const again = planAttach(
    [att(a, { bridge: 'br0', ip: '198.51.100.10/24' })],
    observed(nsState([br, port()]), [a, nsState([inside])]),
  );
  assert.deepEqual(again.steps, []);
  // the same addresses given in another order: recorded already, nothing to do
  const two = {
    ...inside,
    addrs: [
      ...inside.addrs,
      { family: 4 as const, address: '198.51.100.11', prefix: 24, scope: 'global' as const },
    ],
  };
  assert.deepEqual(
    planAttach(
      [att(a, { bridge: 'br0', ip: ['198.51.100.11/24', '198.51.100.10/24'] })],
      observed(nsState([br, port({ addrs: ['198.51.100.10/24', '198.51.100.11/24'] })]), [a, nsState([two])]),
    ).steps,
    [],
  );
  // the address removed by hand inside: put back, against its own record
  const drifted = planAttach(
    [att(a, { bridge: 'br0', ip: '198.51.100.10/24' })],
    observed(nsState([br, port()]), [a, nsState([{ ...inside, addrs: [] }])]),
  );
  assert.deepEqual(lines(drifted), ['pid:4242: ip addr add 198.51.100.10/24 brd 198.51.100.255 dev eth1']);

  // two containers of one recipe swapping addresses in one apply: the recipe checks its own file
  const mine = port({ recipe: 'lab' });
  const p = plan([br, mine], [att(b, { bridge: 'br0', ip: '198.51.100.10/24' }, 'lab')]);
  assert.ok(p.steps.length > 0);
  // against an attachment of someone else, a recipe is refused too, naming itself
  const r = refusal(() => plan([br, port()], [att(b, { bridge: 'br0', ip: '198.51.100.10/24' }, 'lab')]));
  assert.match(
    r.message,
    /^pid:5151 eth1 \(recipe "lab"\) address 198\.51\.100\.10\/24: 198\.51\.100\.10 is already used/,
  );
  // and an attach against a recipe's container says where to change it
  const r2 = refusal(() =>
    plan([br, port({ recipe: 'other' })], [att(b, { bridge: 'br0', ip: '198.51.100.10/24' })]),
  );
  assert.match(r2.message, /by pid:4242 eth1 of recipe "other"/);
  assert.match(r2.hint ?? '', /change it in recipe "other"/);
});

test('two attachments of one request with one address on one bridge: the second is refused', () => {
  const r = refusal(() =>
    plan(
      [],
      [att(a, { bridge: 'br0', ip: '198.51.100.10/24' }), att(b, { bridge: 'br0', ip: '198.51.100.10/24' })],
    ),
  );
  assert.match(r.message, /already used on bridge "br0" by pid:4242 eth1 \(host side "veth1pl4242"\)/);
});

test('an address changed in place: checked like a new one, and the host end records the new ones', () => {
  const inside = nic('eth1', {
    kind: 'veth',
    ifindex: 3,
    linkIndex: 20,
    alias: encodeTag({ kind: 'veth', target: 'pid:4242', ifname: 'eth1', bridge: 'br0' }),
    addrs: [{ family: 4, address: '198.51.100.10', prefix: 24, scope: 'global' }],
  });
  const other = port({ target: 'pid:5151', addrs: ['198.51.100.20/24'] }, 'veth1pl5151');
  const hostA = { ...port(), linkIndex: 3 };
  refusal(() =>
    planAttach(
      [att(a, { bridge: 'br0', ip: '198.51.100.20/24' })],
      observed(nsState([br, hostA, other]), [a, nsState([inside])]),
    ),
  );
  const p = planAttach(
    [att(a, { bridge: 'br0', ip: '198.51.100.30/24' })],
    observed(nsState([br, hostA, other]), [a, nsState([inside])]),
  );
  assert.ok(
    lines(p).includes(
      'host: ip link set dev veth1pl4242 alias pf2:k=veth-host&t=pid:4242&i=eth1&b=br0&a=198.51.100.30/24',
    ),
    lines(p).join('\n'),
  );
  // a tag from before addresses were recorded: left alone while nothing changes, written on a change
  const oldTag = {
    ...hostA,
    alias: encodeTag({ kind: 'veth-host', target: 'pid:4242', ifname: 'eth1', bridge: 'br0' }),
  };
  assert.deepEqual(
    planAttach(
      [att(a, { bridge: 'br0', ip: '198.51.100.10/24' })],
      observed(nsState([br, oldTag]), [a, nsState([inside])]),
    ).steps,
    [],
  );
  assert.ok(
    lines(
      planAttach(
        [att(a, { bridge: 'br0', ip: '198.51.100.30/24' })],
        observed(nsState([br, oldTag]), [a, nsState([inside])]),
      ),
    ).some((l) => l.endsWith('&a=198.51.100.30/24')),
  );
});

test('the host end records as many addresses as fit: an attach never fails for want of room', () => {
  const base: OwnerTag = {
    kind: 'veth-host',
    target: `docker:${'f'.repeat(64)}`,
    ifname: 'eth1',
    bridge: 'br-long-name-15',
    recipe: 'r'.repeat(40),
  };
  const many = Array.from({ length: 8 }, (_, i) =>
    parseCidr(`2001:db8:aaaa:bbbb:cccc:dddd:eeee:${i + 1}/64`, 'x'),
  );
  const t = withAddrs(base, many);
  assert.ok(tagFits(t));
  assert.ok((t.addrs?.length ?? 0) > 0 && (t.addrs?.length ?? 0) < many.length, String(t.addrs?.length));
  assert.deepEqual(
    t.addrs,
    many.slice(0, t.addrs?.length).map((c) => c.text),
  );
  // none fits: no field at all; and an old list is replaced, not kept
  const full = { ...base, prevAlias: 'x'.repeat(90) }; // 251 bytes: no room for one more address
  assert.ok(tagFits(full));
  assert.deepEqual(withAddrs(full, many), full);
  assert.deepEqual(withAddrs({ ...base, addrs: ['192.0.2.1/24'] }, []).addrs, undefined);
  // an attach with long names still plans, recording what fits
  const p = plan(
    [],
    [att(netnsTarget('n'.repeat(60)), { bridge: 'br-long-name-15', ip: many.map((c) => c.text) })],
  );
  assert.ok(p.steps.length > 0);
});
