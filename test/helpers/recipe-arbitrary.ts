/**
 * Random VALID recipes (issue 13), within what this host's kernel has: veth pairs, Linux
 * bridges, and macvlan on a host NIC (no 802.1Q, ipvlan or dummy, no bridge VLAN filtering).
 * A topology is drawn as plain data — it shrinks well and prints readably — and rendered with
 * the names of one run (its namespaces, PIDs and NIC) into recipe text, with what the kernel
 * must show once it is applied. Used by test/integration/recipe-roundtrip.property.test.ts (on
 * real namespaces) and test/unit/property/recipe-valid.property.test.ts (every one validates).
 *
 * Everything drawn is valid by construction; where two draws would clash (a second default
 * route of a family in one container, `auto` without a pool), the later one is dropped or
 * turned into its nearest valid form — but for two cases each rendering names, which the tests
 * expect refused: a second gateway kept on purpose (`invalid`: validation refuses it), and an
 * IPv6 gateway the kernel would refuse (`refused`: the planner refuses it). Addresses are
 * documentation ranges only, laid out so that none is given twice:
 *
 *   network k (0-2)  192.0.2.64k/26 and 2001:db8:aK::/64: gateway .1 / ::1 (also the bridge's own
 *                    address), a router for routes .2 / ::2, static addresses from .10 / ::a, pools
 *                    .32/27 or .40-.59 and ::100/120 or ::200-::2ff
 *   link j (0-3)     198.51.100.8j/29 (or /30, /31) and 2001:db8:bJ::/64 (or /127)
 *   route r          203.0.113.16r/28 (or one host in it) and 2001:db8:cR::/64 (or one host)
 *
 * Only bridges' own addresses (192.0.2.x, 2001:db8:aK::1) land in the sandbox, away from what its
 * dressed NIC holds (198.51.100.5/24, 2001:db8:5::5/64, a route to 203.0.113.128/25).
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { pathText } from '../../src/recipe/parse.js';

export type Family = 4 | 6;

export interface DeclaredBridgeGen {
  /** The bridge's own address in each network on it (its .1 / ::1). */
  readonly addr: boolean;
  readonly mtu: number | undefined;
  /** Masquerade the IPv4 network on it (when the bridge's first network is IPv4). */
  readonly nat: boolean;
  /** NAT only out through the host NIC. */
  readonly outInterface: boolean;
  /** A published port to a static IPv4 address on it, when there is one. */
  readonly publish: 'tcp' | 'udp' | undefined;
}

export interface NetworkGen {
  readonly kind: 'bridge' | 'macvlan';
  readonly family: Family;
  readonly gateway: boolean;
  readonly pool: 'none' | 'range' | 'cidr';
  readonly mtu: number | undefined;
  /** macvlan mode; undefined: the default (bridge), and `kind:` left out. */
  readonly mode: 'bridge' | 'private' | 'vepa' | undefined;
  /** A bridge network on the bridge of the bridge network before it (one network per family). */
  readonly sharePrevBridge: boolean;
  /** Declared under `bridges:` (by the first network on the bridge). */
  readonly declare: DeclaredBridgeGen | undefined;
}

export interface RouteGen {
  readonly family: Family;
  readonly via: boolean;
  /** A host route (/32, /128) instead of a network. */
  readonly host: boolean;
  readonly metric: number | undefined;
}

export interface IfaceGen {
  /** Index of its network (modulo their number). */
  readonly net: number;
  /** static: one address of the network's family; dual: and one of the other; other: only the other. */
  readonly addressing: 'none' | 'static' | 'auto' | 'dual' | 'other';
  /** The network-family address written without its prefix (it takes the subnet's). */
  readonly bare: boolean;
  /** 24 random bits of a MAC, or none. */
  readonly mac: number | undefined;
  readonly mtu: number | undefined;
  /** `gateway: true`, or the gateway's address written out. */
  readonly gateway: 'none' | 'true' | 'address';
  readonly routes: readonly RouteGen[];
  /** Which style of interface name. */
  readonly name: number;
}

export interface ContainerGen {
  /** create: netns:NAME made by the recipe; netns: a named namespace that exists; pid: a process's. */
  readonly target: 'create' | 'netns' | 'pid';
  /** For an existing named namespace: `create: true` anyway (it is used, and not removed). */
  readonly create: boolean;
  readonly forwarding: boolean;
  /**
   * An existing namespace (netns, pid) that has an uplink of its own with addresses and default
   * routes of both families, as a real container has: made by the test, not the recipe.
   */
  readonly dressed: boolean;
  readonly ifaces: readonly IfaceGen[];
}

export interface LinkGen {
  readonly a: number;
  readonly b: number;
  readonly addrs: 'none' | 'v4/29' | 'v4/30' | 'v4/31' | 'v6/64' | 'v6/127';
  readonly mtu: number | undefined;
  readonly gateway: 'none' | 'a' | 'b';
  readonly routes: readonly (RouteGen & { readonly end: 'a' | 'b' })[];
  readonly names: readonly [number, number];
}

export interface Topology {
  readonly containers: readonly ContainerGen[];
  readonly networks: readonly NetworkGen[];
  readonly links: readonly LinkGen[];
  /** Names written literally, through `vars:` in the file, or through `--set`. */
  readonly vars: 'none' | 'file' | 'set';
  /** `name:` in the file, or the file's name. */
  readonly named: boolean;
  readonly format: 'yaml' | 'json';
  /**
   * Keep the first second gateway of a family in a container (otherwise left out), or give a
   * route the destination and metric of one on another interface of its container: validation
   * must refuse the recipe there (the second route would replace the first on every apply).
   */
  readonly clash: boolean;
}

/** MTUs drawn; macvlan ones are capped at the NIC's (MACVLAN_PARENT_MTU). */
const MTU = fc.option(fc.constantFrom(1280, 1400, 1450, 1500, 9000), { nil: undefined });
/** The MTU of the sandbox's dressed NIC (sandbox.dressedHostNic): a macvlan cannot exceed it. */
export const MACVLAN_PARENT_MTU = 1450;
const FAMILY = fc.constantFrom<Family>(4, 6);

const routeGen: fc.Arbitrary<RouteGen> = fc.record({
  family: FAMILY,
  via: fc.boolean(),
  host: fc.boolean(),
  metric: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
});

const networkGen: fc.Arbitrary<NetworkGen> = fc.record({
  kind: fc.constantFrom('bridge', 'bridge', 'macvlan'),
  family: FAMILY,
  gateway: fc.boolean(),
  pool: fc.constantFrom('none', 'range', 'cidr'),
  mtu: MTU,
  mode: fc.constantFrom('bridge', 'private', 'vepa', undefined),
  sharePrevBridge: fc.boolean(),
  declare: fc.option(
    fc.record({
      addr: fc.boolean(),
      mtu: MTU,
      nat: fc.boolean(),
      outInterface: fc.boolean(),
      publish: fc.constantFrom('tcp', 'udp', undefined),
    }),
    { nil: undefined },
  ),
});

const ifaceGen: fc.Arbitrary<IfaceGen> = fc.record({
  net: fc.nat({ max: 5 }),
  addressing: fc.constantFrom('none', 'static', 'static', 'auto', 'auto', 'dual', 'other'),
  bare: fc.boolean(),
  mac: fc.option(fc.integer({ min: 0, max: 0xffffff }), { nil: undefined }),
  mtu: MTU,
  gateway: fc.constantFrom('none', 'true', 'address'),
  routes: fc.array(routeGen, { maxLength: 2 }),
  name: fc.nat({ max: 7 }),
});

const containerGen: fc.Arbitrary<ContainerGen> = fc.record({
  target: fc.constantFrom('create', 'create', 'netns', 'pid'),
  create: fc.boolean(),
  forwarding: fc.boolean(),
  dressed: fc.boolean(),
  ifaces: fc.array(ifaceGen, { maxLength: 3 }),
});

const linkGen: fc.Arbitrary<LinkGen> = fc.record({
  a: fc.nat({ max: 3 }),
  b: fc.nat({ max: 3 }),
  addrs: fc.constantFrom('none', 'v4/29', 'v4/30', 'v4/31', 'v6/64', 'v6/127'),
  mtu: MTU,
  gateway: fc.constantFrom('none', 'a', 'b'),
  routes: fc.array(
    fc
      .record({ end: fc.constantFrom<'a' | 'b'>('a', 'b') })
      .chain((e) => routeGen.map((r) => ({ ...r, ...e }))),
    {
      maxLength: 2,
    },
  ),
  names: fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 7 })),
});

/** A topology of 1-4 containers, 0-3 networks and 0-3 point-to-point links. */
export const topology: fc.Arbitrary<Topology> = fc.record({
  containers: fc.array(containerGen, { minLength: 1, maxLength: 4 }),
  networks: fc.array(networkGen, { maxLength: 3 }),
  links: fc.array(linkGen, { maxLength: 3 }),
  vars: fc.constantFrom('none', 'file', 'set'),
  named: fc.boolean(),
  format: fc.constantFrom('yaml', 'json'),
  clash: fc.constantFrom(false, false, false, true),
});

/** A container's target in one run: a named namespace (its name after RunNames.nsPrefix) or a PID. */
export type RunTarget = { readonly netns: string } | { readonly pid: number };

export interface RunNames {
  /** The recipe's name (and its file's). */
  readonly recipe: string;
  /** Bridge names are this and `bK`: at most 13 bytes. */
  readonly bridgePrefix: string;
  /** Named namespaces are this and RunTarget.netns. */
  readonly nsPrefix: string;
  /** Per container. */
  readonly targets: readonly RunTarget[];
  /** The host NIC macvlan networks hang on (MTU MACVLAN_PARENT_MTU). */
  readonly nic: string;
}

/** What one interface must look like in the kernel after apply. */
export interface ExpectedIface {
  readonly container: number;
  readonly ifname: string;
  /** Static addresses, as `ip` prints them (ADDR/PREFIX). */
  readonly addrs: readonly string[];
  /** An `auto` address: one in this network, from its pool. */
  readonly auto?: { readonly family: Family; readonly network: number } | undefined;
  readonly mac?: string | undefined;
  readonly mtu?: number | undefined;
  /** Route destinations as `ip -j route` prints them ("default" for a gateway). */
  readonly routes: readonly { readonly family: Family; readonly dst: string }[];
}

export interface Rendered {
  readonly name: string;
  /** The file's name (its base is the recipe's name when the recipe has none). */
  readonly file: string;
  readonly text: string;
  /** --set values to give every command. */
  readonly set: Readonly<Record<string, string>>;
  readonly expect: readonly ExpectedIface[];
  /** Named namespaces the recipe makes (create: true and missing). */
  readonly creates: readonly string[];
  /**
   * Why apply must refuse it (exit 2, nothing touched), when it must: an IPv6 gateway on an
   * interface that has no address in its subnet while another interface of the container has —
   * the kernel takes such a gateway only through that other interface (src/plan/iface.ts).
   */
  readonly refused: readonly { readonly container: number; readonly ifname: string; readonly via: string }[];
  /** Where validation must refuse it (Topology.clash): the path of the second gateway or route. */
  readonly invalid: string | undefined;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const hex = (n: number): string => n.toString(16);
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** Address h of network k, in a family. */
const netAddr = (f: Family, k: number, h: number): string =>
  f === 4 ? `192.0.2.${64 * k + h}` : `2001:db8:a${k}::${hex(h)}`;
const netPrefix = (f: Family): number => (f === 4 ? 26 : 64);
export const subnetOf = (f: Family, k: number): string =>
  f === 4 ? `192.0.2.${64 * k}/26` : `2001:db8:a${k}::/64`;
/** The pool of network k as [first, last] host numbers (for the read-back check). */
export const poolRange = (f: Family, pool: 'range' | 'cidr'): readonly [number, number] =>
  f === 4 ? (pool === 'cidr' ? [32, 63] : [40, 59]) : pool === 'cidr' ? [0x100, 0x1ff] : [0x200, 0x2ff];
const poolText = (f: Family, k: number, pool: 'range' | 'cidr'): string =>
  f === 4
    ? pool === 'cidr'
      ? `192.0.2.${64 * k + 32}/27`
      : `${netAddr(4, k, 40)}-${netAddr(4, k, 59)}`
    : pool === 'cidr'
      ? `2001:db8:a${k}::100/120`
      : `${netAddr(6, k, 0x200)}-${netAddr(6, k, 0x2ff)}`;

/** Interface name styles (all valid: 1-15 bytes, no "/", ":" or whitespace). */
const ifname = (style: number, n: number): string =>
  [`eth${n}`, `net${n}`, `x${n}`, `if_${n}`, `lan-${n}`, `e.${n}`, `veryverylong${n}`, `eth${n}`][style % 8]!;

/**
 * The recipe of a topology, with the names of a run, and what its interfaces must look like.
 * @example renderRecipe(topo, { recipe: 'rt1', bridgePrefix: 'pf-ab12cd-1', nsPrefix: 'pf-run-ab12cd-1', targets: [{ netns: 'c0' }], nic: 'pnab12cdrt' })
 */
export const renderRecipe = (t: Topology, n: RunNames): Rendered => {
  const useVars = t.vars !== 'none';
  const bridgeName = (k: number): string => `${useVars ? '${bp}' : n.bridgePrefix}b${k}`;
  const nsName = (suffix: string): string => `${useVars ? '${ns}' : n.nsPrefix}${suffix}`;
  const expect: ExpectedIface[] = [];
  const creates: string[] = [];
  // IPv6 subnets each interface holds, and the IPv6 gateways of interfaces (for `refused`)
  const held = new Map<string, Set<string>>();
  const gateways: { container: number; ifname: string; via: string; subnet: string }[] = [];

  // networks, and the bridges they are on
  const bridgeOf: (string | undefined)[] = [];
  const bridgeOwner = new Map<string, number>();
  const networks: Record<string, Json> = {};
  const bridges: Record<string, Record<string, Json>> = {};
  t.networks.forEach((g, k) => {
    const doc: Record<string, Json> = {};
    let mtu = g.mtu;
    if (g.kind === 'bridge') {
      const prev = bridgeOf.findLastIndex((b) => b !== undefined);
      const br = g.sharePrevBridge && prev >= 0 ? bridgeOf[prev]! : bridgeName(k);
      bridgeOf.push(br);
      doc.bridge = br;
      if (!bridgeOwner.has(br)) bridgeOwner.set(br, k);
    } else {
      bridgeOf.push(undefined);
      doc.parent = n.nic;
      if (g.mode !== undefined) {
        doc.kind = 'macvlan';
        doc.mode = g.mode;
      }
      if (mtu !== undefined) mtu = Math.min(mtu, MACVLAN_PARENT_MTU);
    }
    doc.subnet = subnetOf(g.family, k);
    if (g.gateway) doc.gateway = netAddr(g.family, k, 1);
    if (g.pool !== 'none') doc.pool = poolText(g.family, k, g.pool);
    if (mtu !== undefined) doc.mtu = mtu;
    networks[`net${k}`] = doc;
  });
  const netMtu = (k: number): number | undefined => (networks[`net${k}`] as { mtu?: number }).mtu;

  // containers and their interfaces
  const names = t.containers.map((_, i) => `c${i}`);
  const gatewayFamilies = t.containers.map(() => new Set<Family>());
  let invalid: string | undefined;
  /** The first route of each family in each container, by `${container}/${family}`. */
  const firstRoute = new Map<string, { to: string; dst: string; metric: number | undefined; dev: string }>();
  /** May container i have a gateway of family f (at path)? One per family, or the second kept once. */
  const mayGateway = (i: number, f: Family, path: (string | number)[]): boolean => {
    if (!gatewayFamilies[i]!.has(f)) {
      gatewayFamilies[i]!.add(f);
      return true;
    }
    if (!t.clash || invalid !== undefined) return false;
    invalid = pathText(path);
    return true;
  };
  const nextIf = t.containers.map(() => 1);
  const nextHost = t.networks.map(() => 10);
  const nextDst = { 4: 0, 6: 0 };
  /** A new route destination of a family, or undefined when the range is used up. */
  const destination = (f: Family, host: boolean): { to: string; dst: string } | undefined => {
    const r = nextDst[f]++;
    if (r >= 8) return undefined;
    if (f === 4)
      return host
        ? { to: `203.0.113.${16 * r + 5}`, dst: `203.0.113.${16 * r + 5}` }
        : { to: `203.0.113.${16 * r}/28`, dst: `203.0.113.${16 * r}/28` };
    return host
      ? { to: `2001:db8:c${r}::5/128`, dst: `2001:db8:c${r}::5` }
      : { to: `2001:db8:c${r}::/64`, dst: `2001:db8:c${r}::/64` };
  };
  const newIfname = (i: number, style: number): string => ifname(style, nextIf[i]!++);
  /** Static IPv4 addresses on each network (for a published port). */
  const staticV4 = t.networks.map(() => [] as string[]);

  const containers: Record<string, Json> = {};
  t.containers.forEach((c, i) => {
    const target = n.targets[i];
    if (target === undefined) throw new Error(`renderRecipe: no target for container ${i}`);
    const doc: Record<string, Json> = {};
    if ('pid' in target) doc.target = `pid:${target.pid}`;
    else {
      doc.target = `netns:${nsName(target.netns)}`;
      if (c.target === 'create' || c.create) doc.create = true;
      if (c.target === 'create') creates.push(`${n.nsPrefix}${target.netns}`);
    }
    if (c.forwarding) doc.forwarding = true;
    const ifaces: Record<string, Json> = {};
    if (t.networks.length > 0)
      for (const g of c.ifaces) {
        const k = g.net % t.networks.length;
        const net = t.networks[k]!;
        const name = newIfname(i, g.name);
        const doc: Record<string, Json> = { network: `net${k}` };
        const e: {
          addrs: string[];
          auto?: ExpectedIface['auto'];
          mac?: string;
          mtu?: number;
          routes: { family: Family; dst: string }[];
        } = { addrs: [], routes: [] };
        const other: Family = net.family === 4 ? 6 : 4;
        const addressing = g.addressing === 'auto' && net.pool === 'none' ? 'static' : g.addressing;
        if (addressing === 'auto') {
          doc.address = 'auto';
          e.auto = { family: net.family, network: k };
        } else if (addressing !== 'none') {
          const h = nextHost[k]!++;
          const words: string[] = [];
          if (addressing !== 'other') {
            const a = netAddr(net.family, k, h);
            words.push(g.bare ? a : `${a}/${netPrefix(net.family)}`);
            e.addrs.push(`${a}/${netPrefix(net.family)}`);
            if (net.family === 4) staticV4[k]!.push(a);
          }
          if (addressing !== 'static') {
            const a = `${netAddr(other, k, h)}/${netPrefix(other)}`;
            words.push(a);
            e.addrs.push(a);
          }
          doc.address = words.length === 1 ? words[0]! : words;
        }
        if (g.mac !== undefined) {
          const m = `02:${hex2(g.mac >> 16)}:${hex2((g.mac >> 8) & 0xff)}:${hex2(g.mac & 0xff)}:${hex2(i)}:${hex2(nextIf[i]!)}`;
          doc.mac = m;
          e.mac = m;
        }
        if (g.mtu !== undefined) {
          const m = net.kind === 'macvlan' ? Math.min(g.mtu, MACVLAN_PARENT_MTU) : g.mtu;
          doc.mtu = m;
          e.mtu = m;
        } else if (netMtu(k) !== undefined) e.mtu = netMtu(k);
        if (
          g.gateway !== 'none' &&
          net.gateway &&
          // a gateway needs an address of its family on the interface (validation refuses it)
          addressing !== 'none' &&
          addressing !== 'other' &&
          mayGateway(i, net.family, ['containers', names[i]!, 'interfaces', name, 'gateway'])
        ) {
          doc.gateway = g.gateway === 'true' ? true : netAddr(net.family, k, 1);
          e.routes.push({ family: net.family, dst: 'default' });
        }
        const routes: Json[] = [];
        for (const r of g.routes) {
          // a clash: the destination and metric of a route on another interface of the container
          const first = firstRoute.get(`${i}/${r.family}`);
          const other = t.clash && invalid === undefined && first?.dev !== name ? first : undefined;
          const d = other ?? destination(r.family, r.host);
          if (!d) continue;
          const metric = other ? other.metric : r.metric;
          if (other)
            invalid = pathText(['containers', names[i]!, 'interfaces', name, 'routes', routes.length, 'to']);
          else if (!first) firstRoute.set(`${i}/${r.family}`, { ...d, metric, dev: name });
          const route: Record<string, Json> = { to: d.to };
          if (r.via) route.via = netAddr(r.family, k, 2);
          if (r.via && r.family === 6)
            gateways.push({ container: i, ifname: name, via: netAddr(6, k, 2), subnet: subnetOf(6, k) });
          if (metric !== undefined) route.metric = metric;
          routes.push(route);
          e.routes.push({ family: r.family, dst: d.dst });
        }
        if (routes.length) doc.routes = routes;
        const v6 =
          net.family === 6
            ? addressing !== 'none' && addressing !== 'other'
            : addressing === 'dual' || addressing === 'other';
        held.set(`${i}/${name}`, new Set(v6 ? [subnetOf(6, k)] : []));
        if (doc.gateway !== undefined && net.family === 6)
          gateways.push({ container: i, ifname: name, via: netAddr(6, k, 1), subnet: subnetOf(6, k) });
        ifaces[name] = doc;
        expect.push({ container: i, ifname: name, ...e });
      }
    if (Object.keys(ifaces).length) doc.interfaces = ifaces;
    containers[names[i]!] = doc;
  });

  // point-to-point links
  const links: Json[] = [];
  if (t.containers.length >= 2)
    t.links.forEach((l, j) => {
      const a = l.a % t.containers.length;
      let b = l.b % t.containers.length;
      if (a === b) b = (a + 1) % t.containers.length;
      const ends = { a, b };
      const ifn = { a: newIfname(a, l.names[0]), b: newIfname(b, l.names[1]) };
      const doc: Record<string, Json> = { a: `${names[a]!}:${ifn.a}`, b: `${names[b]!}:${ifn.b}` };
      const [fam, addrs] = ((): [Family | undefined, { a: string; b: string } | undefined] => {
        switch (l.addrs) {
          case 'none':
            return [undefined, undefined];
          case 'v4/29':
          case 'v4/30':
            return [
              4,
              {
                a: `198.51.100.${8 * j + 1}/${l.addrs.slice(3)}`,
                b: `198.51.100.${8 * j + 2}/${l.addrs.slice(3)}`,
              },
            ];
          case 'v4/31':
            return [4, { a: `198.51.100.${8 * j}/31`, b: `198.51.100.${8 * j + 1}/31` }];
          case 'v6/64':
            return [6, { a: `2001:db8:b${j}::1/64`, b: `2001:db8:b${j}::2/64` }];
          case 'v6/127':
            return [6, { a: `2001:db8:b${j}::2/127`, b: `2001:db8:b${j}::3/127` }];
        }
      })();
      if (addrs) doc.addresses = [addrs.a, addrs.b];
      if (l.mtu !== undefined) doc.mtu = l.mtu;
      const e = {
        a: { addrs: addrs ? [addrs.a] : [], routes: [] as { family: Family; dst: string }[] },
        b: { addrs: addrs ? [addrs.b] : [], routes: [] as { family: Family; dst: string }[] },
      };
      const far = (end: 'a' | 'b'): string | undefined => addrs?.[end === 'a' ? 'b' : 'a'].split('/')[0];
      if (
        l.gateway !== 'none' &&
        fam !== undefined &&
        mayGateway(ends[l.gateway], fam, ['links', links.length, 'gateway', l.gateway])
      ) {
        doc.gateway = { [l.gateway]: far(l.gateway)! };
        e[l.gateway].routes.push({ family: fam, dst: 'default' });
      }
      const routes: { a: Json[]; b: Json[] } = { a: [], b: [] };
      for (const r of l.routes) {
        const f = fam ?? r.family;
        const d = destination(f, r.host);
        if (!d) continue;
        const route: Record<string, Json> = { to: d.to };
        if (r.via && fam !== undefined) route.via = far(r.end)!;
        if (r.metric !== undefined) route.metric = r.metric;
        routes[r.end].push(route);
        e[r.end].routes.push({ family: f, dst: d.dst });
      }
      if (routes.a.length || routes.b.length)
        doc.routes = {
          ...(routes.a.length ? { a: routes.a } : {}),
          ...(routes.b.length ? { b: routes.b } : {}),
        };
      links.push(doc);
      for (const end of ['a', 'b'] as const)
        expect.push({
          container: ends[end],
          ifname: ifn[end],
          ...e[end],
          ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
        });
    });

  // bridges declared by their first network
  for (const [br, k] of bridgeOwner) {
    const g = t.networks[k]!.declare;
    if (!g) continue;
    const doc: Record<string, Json> = {};
    if (g.addr) {
      const own = t.networks.flatMap((x, m) =>
        bridgeOf[m] === br ? [`${netAddr(x.family, m, 1)}/${netPrefix(x.family)}`] : [],
      );
      doc.addresses = own.length === 1 ? own[0]! : own;
    }
    if (g.mtu !== undefined) doc.mtu = g.mtu;
    if (g.nat && t.networks[k]!.family === 4) {
      doc.nat = { subnet: subnetOf(4, k), ...(g.outInterface ? { outInterface: n.nic } : {}) };
      const to = staticV4[k]![0];
      if (g.publish && to) doc.publish = [{ port: 18080 + k, to: `${to}:80`, proto: g.publish }];
    }
    bridges[br] = doc;
  }

  const root: Record<string, Json> = { version: 1 };
  if (t.named) root.name = n.recipe;
  root.description = 'drawn by test/helpers/recipe-arbitrary.ts';
  const set: Record<string, string> = {};
  if (useVars) {
    const real = { bp: n.bridgePrefix, ns: n.nsPrefix };
    root.vars = t.vars === 'file' ? real : { bp: 'unset', ns: 'unset' };
    if (t.vars === 'set') Object.assign(set, real);
  }
  if (Object.keys(bridges).length) root.bridges = bridges;
  if (Object.keys(networks).length) root.networks = networks;
  root.containers = containers;
  if (links.length) root.links = links;
  const text = t.format === 'json' ? `${JSON.stringify(root, null, 2)}\n` : stringify(root);
  const refused = gateways
    .filter(
      (g) =>
        !held.get(`${g.container}/${g.ifname}`)?.has(g.subnet) &&
        [...held].some(([key, subnets]) => key.startsWith(`${g.container}/`) && subnets.has(g.subnet)),
    )
    .map(({ container, ifname, via }) => ({ container, ifname, via }));
  return { name: n.recipe, file: `${n.recipe}.${t.format}`, text, set, expect, creates, refused, invalid };
};
