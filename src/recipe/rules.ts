/**
 * A shape-checked recipe → a Recipe, checking values with the CLI's own parsers and the
 * cross-references between sections. Every problem is collected with its location.
 */
import { inSubnet, parseCidr, parseHostCidr, parseIp, parseDestination } from '../addr.js';
import type { Cidr, IpAddr } from '../addr.js';
import { isPipefitterError } from '../errors.js';
import { parseTargetSpec } from '../model/target.js';
import { parseIfName } from '../names.js';
import type { IfName } from '../names.js';
import { IPVLAN_MODES, MACVLAN_MODES, parseChoice, parseMac, parseMtu, parseVlanId } from '../values.js';
import type { IpvlanMode, MacvlanMode } from '../values.js';
import type { RouteSpec } from '../model/iface.js';
import type {
  Recipe,
  RecipeAddressing,
  RecipeBridge,
  RecipeContainer,
  RecipeIface,
  RecipeLink,
  RecipeNetwork,
} from '../model/recipe.js';
import type { Issues, ParsedRecipe } from './parse.js';
import { pathText } from './parse.js';
import type { InterfaceDoc, NetworkDoc } from './schema.js';

type Path = (string | number)[];
const list = (x: string | readonly string[] | undefined): readonly string[] =>
  x === undefined ? [] : typeof x === 'string' ? [x] : x;

/** Run a parser; on a PipefitterError record it at `path` and return undefined. */
const check = <T>(
  issues: Issues,
  path: Path,
  fn: () => T,
  which: 'key' | 'value' = 'value',
): T | undefined => {
  try {
    return fn();
  } catch (e) {
    if (!isPipefitterError(e)) throw e;
    // the parsers' messages start with `FIELD "VALUE": `; here the location says which field
    const prefix =
      e.field !== undefined
        ? `${e.field}${e.value !== undefined ? ` ${JSON.stringify(e.value)}` : ''}: `
        : '';
    const msg = prefix && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    issues.add(path, msg, e.hint, which);
    return undefined;
  }
};

const networkOf = (
  issues: Issues,
  name: string,
  n: NetworkDoc,
  bridges: ReadonlySet<string>,
): RecipeNetwork | undefined => {
  const p: Path = ['networks', name];
  if ((n.bridge === undefined) === (n.parent === undefined)) {
    issues.add(
      p,
      'a network needs exactly one of "bridge" or "parent"',
      'bridge: NAME for a Linux bridge; parent: IFACE for macvlan, ipvlan or vlan',
    );
    return undefined;
  }
  const kind = n.kind ?? (n.bridge !== undefined ? 'bridge' : 'macvlan');
  if (kind === 'bridge' && n.bridge === undefined) {
    issues.add(
      [...p, 'kind'],
      'a bridge network needs "bridge", not "parent"',
      'use kind: macvlan, ipvlan or vlan with parent',
    );
    return undefined;
  }
  if (kind !== 'bridge' && n.parent === undefined) {
    issues.add(
      [...p, 'kind'],
      `a ${kind} network needs "parent", not "bridge"`,
      'name the host interface with parent: IFACE',
    );
    return undefined;
  }
  const subnet =
    n.subnet === undefined
      ? undefined
      : check(issues, [...p, 'subnet'], () => parseCidr(n.subnet as string, 'subnet'));
  if (subnet && subnet.address !== subnet.network.split('/')[0])
    issues.add(
      [...p, 'subnet'],
      `${subnet.text} has host bits set`,
      `write the network address, e.g. ${subnet.network}`,
    );
  const gateway =
    n.gateway === undefined
      ? undefined
      : check(issues, [...p, 'gateway'], () => parseIp(n.gateway as string, 'gateway'));
  if (gateway && subnet && !inSubnet(subnet, gateway))
    issues.add(
      [...p, 'gateway'],
      `${gateway.address} is outside the subnet ${subnet.network}`,
      'give a gateway inside the subnet',
    );
  const vlan =
    n.vlan === undefined
      ? undefined
      : check(issues, [...p, 'vlan'], () => parseVlanId(n.vlan as number, 'vlan'));
  const trunk = (n.trunk ?? [])
    .map((t, i) => check(issues, [...p, 'trunk', i], () => parseVlanId(t, 'trunk')))
    .filter((x) => x !== undefined);
  const mtu =
    n.mtu === undefined ? undefined : check(issues, [...p, 'mtu'], () => parseMtu(n.mtu as number, 'mtu'));
  if (n.pool !== undefined && subnet === undefined)
    issues.add([...p, 'pool'], "a pool needs the network's subnet", 'add subnet: e.g. 192.0.2.0/24');
  const common = { name, subnet, gateway, pool: n.pool, mtu };
  if (kind === 'bridge') {
    const bridge = check(issues, [...p, 'bridge'], () => parseIfName(n.bridge as string, 'bridge'));
    if (n.mode !== undefined)
      issues.add([...p, 'mode'], 'mode applies to macvlan and ipvlan networks', 'remove it');
    if (!bridge) return undefined;
    void bridges;
    return { ...common, kind, bridge, vlan, trunk };
  }
  const parent = check(issues, [...p, 'parent'], () => parseIfName(n.parent as string, 'parent'));
  if (trunk.length) issues.add([...p, 'trunk'], 'trunk applies to bridge networks', 'remove it');
  if (n.inside && kind !== 'vlan')
    issues.add([...p, 'inside'], 'inside applies to vlan networks', 'remove it');
  if (n.hostShim && kind !== 'macvlan')
    issues.add([...p, 'hostShim'], 'hostShim applies to macvlan networks', 'remove it');
  if (!parent) return undefined;
  if (kind === 'macvlan') {
    const mode = check(issues, [...p, 'mode'], () =>
      parseChoice<MacvlanMode>(n.mode ?? 'bridge', MACVLAN_MODES, 'mode', 'macvlan mode'),
    );
    if (n.hostShim && mode !== undefined && mode !== 'bridge')
      issues.add(
        [...p, 'hostShim'],
        `a host shim reaches containers of mode bridge only, not ${mode}`,
        'use mode: bridge, or remove hostShim',
      );
    return mode
      ? { ...common, kind, parent, mode, vlan, ...(n.hostShim ? { hostShim: true } : {}) }
      : undefined;
  }
  if (kind === 'ipvlan') {
    const mode = check(issues, [...p, 'mode'], () =>
      parseChoice<IpvlanMode>(n.mode ?? 'l2', IPVLAN_MODES, 'mode', 'ipvlan mode'),
    );
    return mode ? { ...common, kind, parent, mode, vlan } : undefined;
  }
  if (vlan === undefined) {
    issues.add([...p, 'vlan'], 'a vlan network needs its VLAN id', 'add vlan: N (1-4094)');
    return undefined;
  }
  return { ...common, kind, parent, vlan, inside: n.inside ?? false };
};

const addressingOf = (
  issues: Issues,
  p: Path,
  i: InterfaceDoc,
  net: RecipeNetwork | undefined,
): RecipeAddressing => {
  const words = list(i.address);
  if (i.dhcp !== undefined || words.includes('dhcp')) {
    if (words.some((w) => w !== 'dhcp'))
      issues.add(
        [...p, 'address'],
        'DHCP gives the address; no other address can be listed',
        'use address: dhcp alone',
      );
    const d: Partial<NonNullable<InterfaceDoc['dhcp']>> = i.dhcp ?? {};
    return {
      kind: 'dhcp',
      dhcp: {
        client: d.client ?? 'dhcp',
        foreground: d.foreground ?? false,
        options: d.options ?? [],
        hostname: d.hostname,
        dns: d.dns ?? false,
      },
    };
  }
  if (words.includes('auto')) {
    if (words.length > 1) issues.add([...p, 'address'], '"auto" stands alone', 'use address: auto');
    if (!net?.pool)
      issues.add(
        [...p, 'address'],
        `"auto" needs a pool on network "${i.network}"`,
        'add pool: (e.g. 192.0.2.100-192.0.2.199) to the network',
      );
    return { kind: 'auto' };
  }
  if (words.length === 0) return { kind: 'none' };
  const addrs: Cidr[] = [];
  words.forEach((w, k) => {
    const at: Path = typeof i.address === 'string' ? [...p, 'address'] : [...p, 'address', k];
    // an address without a prefix takes the network's
    const text = !w.includes('/') && net?.subnet ? `${w}/${net.subnet.prefix}` : w;
    const c = check(issues, at, () => parseHostCidr(text, 'address'));
    if (!c) return;
    if (
      net?.subnet &&
      c.family === net.subnet.family &&
      !inSubnet(net.subnet, { family: c.family, address: c.address } as never)
    )
      issues.add(
        at,
        `${c.text} is outside the network's subnet ${net.subnet.network}`,
        `use an address in ${net.subnet.network}`,
      );
    addrs.push(c);
  });
  return { kind: 'static', addrs };
};

/**
 * An interface's routes: each parsed where it stands; one per destination and metric (a second
 * would replace the first). `each` is given each route parsed, with the path of its `to`.
 */
const routesOf = (
  issues: Issues,
  at: Path,
  list: readonly {
    readonly to: string;
    readonly via?: string | undefined;
    readonly metric?: number | undefined;
  }[],
  each?: (r: RouteSpec, at: Path) => void,
): RouteSpec[] => {
  const out: RouteSpec[] = [];
  const seen = new Map<string, number>();
  list.forEach((r, k) => {
    const dst = check(issues, [...at, k, 'to'], () => parseDestination(r.to, 'to'));
    const via =
      r.via === undefined
        ? undefined
        : check(issues, [...at, k, 'via'], () => parseIp(r.via as string, 'via'));
    if (!dst) return;
    const key = `${dst === 'default' ? 'default' : dst.text}#${r.metric ?? ''}`;
    const first = seen.get(key);
    if (first !== undefined)
      issues.add(
        [...at, k, 'to'],
        `a second route to ${r.to}${r.metric !== undefined ? ` with metric ${r.metric}` : ''} (the first is routes[${first}])`,
        'give each destination once, or give them different metrics',
      );
    seen.set(key, k);
    out.push({ dst, via, metric: r.metric });
    each?.(out.at(-1)!, [...at, k, 'to']);
  });
  return out;
};

export const buildRecipe = (parsed: ParsedRecipe, issues: Issues, defaultName: string): Recipe => {
  const doc = parsed.doc;
  const bridgeNames = new Set(Object.keys(doc.bridges ?? {}));

  const bridges: RecipeBridge[] = [];
  for (const [name, b] of Object.entries(doc.bridges ?? {})) {
    const p: Path = ['bridges', name];
    const ifname = check(issues, p, () => parseIfName(name, 'bridge name'), 'key');
    const addrs = list(b.addresses)
      .map((a, k) =>
        check(issues, typeof b.addresses === 'string' ? [...p, 'addresses'] : [...p, 'addresses', k], () =>
          parseHostCidr(a, 'address'),
        ),
      )
      .filter((x) => x !== undefined);
    const mtu =
      b.mtu === undefined ? undefined : check(issues, [...p, 'mtu'], () => parseMtu(b.mtu as number, 'mtu'));
    const nat = b.nat
      ? {
          subnet: check(issues, [...p, 'nat', 'subnet'], () =>
            parseCidr(b.nat!.subnet, 'subnet', { family: 4 }),
          ),
          outInterface:
            b.nat.outInterface === undefined
              ? undefined
              : check(issues, [...p, 'nat', 'outInterface'], () =>
                  parseIfName(b.nat!.outInterface!, 'outInterface'),
                ),
        }
      : undefined;
    const publish = (b.publish ?? []).flatMap((x, k) => {
      const at: Path = [...p, 'publish', k];
      const m = /^(.+):(\d{1,5})$/.exec(x.to);
      if (!m) {
        issues.add([...at, 'to'], `"${x.to}" is not ADDRESS:PORT`, 'e.g. to: 192.0.2.10:80');
        return [];
      }
      const address = check(issues, [...at, 'to'], () => parseIp(m[1]!, 'to', { family: 4 }));
      const port = Number(m[2]);
      if (x.port < 1 || x.port > 65535)
        issues.add([...at, 'port'], `port ${x.port} out of range 1-65535`, 'give a TCP/UDP port');
      if (port < 1 || port > 65535)
        issues.add([...at, 'to'], `port ${port} out of range 1-65535`, 'give a TCP/UDP port');
      if (!b.nat)
        issues.add(
          [...at],
          'publishing needs nat on the same bridge',
          'add nat: { subnet: ... } to the bridge',
        );
      return address ? [{ port: x.port, to: { address, port }, proto: x.proto }] : [];
    });
    if (ifname && (nat === undefined || nat.subnet))
      bridges.push({
        name: ifname,
        addrs,
        mtu,
        vlanFiltering: b.vlanFiltering ?? false,
        nat: nat?.subnet ? { subnet: nat.subnet, outInterface: nat.outInterface } : undefined,
        publish,
      });
  }

  const networks = new Map<string, RecipeNetwork>();
  for (const [name, n] of Object.entries(doc.networks ?? {})) {
    const net = networkOf(issues, name, n, bridgeNames);
    if (net) networks.set(name, net);
  }

  // a bridge's own address is taken on that link layer as much as a container's
  const seenAddrs = new Map<string, string>(
    bridges.flatMap((b) => b.addrs.map((a) => [a.address, `bridge ${b.name} (bridges.${b.name}.addresses)`])),
  );
  const containers: RecipeContainer[] = [];
  const targets = new Map<string, string>();
  // one route per destination and metric in a container, across its interfaces and link ends,
  // a gateway being its route to default: a second would replace the first on every apply, and
  // the first the second on the next (never in sync). The same route twice is one route.
  const routeAt = new Map<string, { at: Path; dev: string; via: string | undefined; route: boolean }>();
  const oneRoute = (
    container: string,
    dev: string,
    kind: 'route' | 'gateway',
    r: {
      readonly dst: Cidr | 'default';
      readonly via?: IpAddr | undefined;
      readonly metric?: number | undefined;
    },
    at: Path,
  ): void => {
    const route = kind === 'route';
    const family = r.dst === 'default' ? (r.via?.family ?? 4) : r.dst.family;
    const dst = r.dst === 'default' ? 'default' : r.dst.text;
    const key = `${container}|${family}|${dst}|${r.metric ?? (family === 6 ? 1024 : 0)}`;
    const first = routeAt.get(key);
    if (!first) return void routeAt.set(key, { at, dev, via: r.via?.address, route });
    if (first.dev === dev && first.via === r.via?.address) return;
    // two routes of one interface: routesOf said so already
    if (first.dev === dev && first.route && route) return;
    const gateway = !route;
    issues.add(
      at,
      gateway
        ? `a second IPv${family} gateway in container "${container}" (the first is ${pathText(first.at)})`
        : `a second route to ${dst}${r.metric !== undefined ? ` with metric ${r.metric}` : ''} in container "${container}" (the first is ${pathText(first.at)})`,
      gateway
        ? 'give a container at most one gateway per IP family: its default route goes through one of them'
        : 'give each destination once in a container, or give them different metrics',
    );
  };
  for (const [name, c] of Object.entries(doc.containers ?? {})) {
    const p: Path = ['containers', name];
    const target = check(issues, [...p, 'target'], () => parseTargetSpec(c.target, 'target'));
    if (target) {
      const key = JSON.stringify(target);
      const other = targets.get(key);
      if (other)
        issues.add(
          [...p, 'target'],
          `the same target as container "${other}"`,
          'give each container its own target',
        );
      targets.set(key, name);
      if (c.create && target.kind !== 'netns')
        issues.add(
          [...p, 'create'],
          'only netns:NAME targets can be made',
          'remove create, or use target: netns:NAME',
        );
    }
    const interfaces: RecipeIface[] = [];
    for (const [ifn, i] of Object.entries(c.interfaces ?? {})) {
      const ip: Path = [...p, 'interfaces', ifn];
      const ifname = check(issues, ip, () => parseIfName(ifn, 'interface name'), 'key');
      const net = networks.get(i.network);
      if (!(i.network in (doc.networks ?? {})))
        issues.add(
          [...ip, 'network'],
          `no network "${i.network}"`,
          `declare it under networks, or use one of: ${Object.keys(doc.networks ?? {}).join(', ') || '(none)'}`,
        );
      const addressing = addressingOf(issues, ip, i, net);
      if (addressing.kind === 'static')
        for (const a of addressing.addrs) {
          const owner = seenAddrs.get(a.address);
          if (owner)
            issues.add(
              [...ip, 'address'],
              `${a.address} is also given to ${owner}`,
              'give each interface its own address',
            );
          seenAddrs.set(a.address, `${name}.${ifn}`);
        }
      let gateway;
      if (i.gateway === true) {
        if (!net?.gateway)
          issues.add(
            [...ip, 'gateway'],
            `network "${i.network}" has no gateway`,
            'add gateway: to the network, or give an address here',
          );
        gateway = net?.gateway;
      } else if (typeof i.gateway === 'string')
        gateway = check(issues, [...ip, 'gateway'], () => parseIp(i.gateway as string, 'gateway'));
      if (gateway && addressing.kind === 'dhcp')
        issues.add([...ip, 'gateway'], 'DHCP gives the gateway', 'remove gateway');
      const gw: IpAddr | undefined = gateway;
      // as attach --gateway: a gateway of a family the interface has no address of would be
      // reached onlink only, which is seldom what was meant (an auto address is of the subnet's)
      const families =
        addressing.kind === 'static'
          ? addressing.addrs.map((a) => a.family)
          : addressing.kind === 'auto'
            ? net?.subnet
              ? [net.subnet.family]
              : undefined
            : addressing.kind === 'none'
              ? []
              : undefined;
      if (gw && families && !families.includes(gw.family))
        issues.add(
          [...ip, 'gateway'],
          `IPv${gw.family} gateway but no IPv${gw.family} address on this interface`,
          `give it an IPv${gw.family} address (address:), or drop gateway`,
        );
      if (gw && addressing.kind !== 'dhcp')
        oneRoute(name, ifn, 'gateway', { dst: 'default', via: gw }, [...ip, 'gateway']);
      if (gw && addressing.kind === 'static' && addressing.addrs.some((x) => x.address === gw.address))
        issues.add(
          [...ip, 'gateway'],
          `${gw.address} is this interface's own address`,
          'give the address of the router on this network, or drop gateway',
        );
      const routes = routesOf(issues, [...ip, 'routes'], i.routes ?? [], (r, at) =>
        oneRoute(name, ifn, 'route', r, at),
      );
      const mac =
        i.mac === undefined
          ? undefined
          : check(issues, [...ip, 'mac'], () => parseMac(i.mac as string, 'mac'));
      const mtu =
        i.mtu === undefined
          ? undefined
          : check(issues, [...ip, 'mtu'], () => parseMtu(i.mtu as number, 'mtu'));
      if (ifname)
        interfaces.push({
          ifname,
          network: i.network,
          addressing,
          mac,
          mtu: mtu ?? net?.mtu,
          gateway,
          routes,
        });
    }
    if (target)
      containers.push({
        name,
        target,
        create: c.create ?? false,
        forwarding: c.forwarding ?? false,
        interfaces,
      });
  }

  const links: RecipeLink[] = [];
  // each link's index under links: in the document (a refused link is not in `links`)
  const docIndex: number[] = [];
  (doc.links ?? []).forEach((l, k) => {
    const p: Path = ['links', k];
    const end = (which: 'a' | 'b'): { container: string; ifname: IfName } | undefined => {
      const text = l[which];
      const at = text.lastIndexOf(':');
      if (at <= 0) {
        issues.add([...p, which], `"${text}" is not CONTAINER:IFNAME`, 'e.g. r1:eth2');
        return undefined;
      }
      const container = text.slice(0, at);
      const c = doc.containers?.[container];
      if (!c) {
        issues.add([...p, which], `no container "${container}"`, 'declare it under containers');
        return undefined;
      }
      const ifname = check(issues, [...p, which], () => parseIfName(text.slice(at + 1), 'interface name'));
      if (ifname && c.interfaces && ifname in c.interfaces)
        issues.add(
          [...p, which],
          `${container} already has an interface "${ifname}"`,
          'give the link end another name',
        );
      return ifname ? { container, ifname } : undefined;
    };
    const a = end('a');
    const b = end('b');
    const [aa, ba] = (l.addresses ?? []).map((x, i) =>
      check(issues, [...p, 'addresses', i], () => parseHostCidr(x, 'address')),
    );
    if ((l.addresses ?? []).length > 2)
      issues.add([...p, 'addresses'], 'at most two addresses: [a, b]', 'list the address of a, then of b');
    const mtu =
      l.mtu === undefined ? undefined : check(issues, [...p, 'mtu'], () => parseMtu(l.mtu as number, 'mtu'));
    if (a && b && a.container === b.container)
      issues.add(p, 'both ends are in the same container', 'link two different containers');
    const extra = (which: 'a' | 'b') => {
      const gwText = l.gateway?.[which];
      const gateway =
        gwText === undefined
          ? undefined
          : check(issues, [...p, 'gateway', which], () => parseIp(gwText, 'gateway'));
      const own = which === 'a' ? aa : ba;
      const end = which === 'a' ? a : b;
      if (gateway && end)
        oneRoute(end.container, end.ifname, 'gateway', { dst: 'default', via: gateway }, [
          ...p,
          'gateway',
          which,
        ]);
      if (gateway && own?.address === gateway.address)
        issues.add(
          [...p, 'gateway', which],
          `${gateway.address} is the address of this end itself`,
          'give the address of the other end (or of a router behind it), or drop gateway',
        );
      const routes = routesOf(issues, [...p, 'routes', which], l.routes?.[which] ?? [], (r, at) => {
        if (end) oneRoute(end.container, end.ifname, 'route', r, at);
      });
      return { gateway, routes };
    };
    if (a && b) {
      links.push({ a: { ...a, addr: aa, ...extra('a') }, b: { ...b, addr: ba, ...extra('b') }, mtu });
      docIndex.push(k);
    }
  });
  // two links using the same end
  const ends = new Map<string, number>();
  links.forEach((l, i) =>
    [l.a, l.b].forEach((e) => {
      const key = `${e.container}:${e.ifname}`;
      const k = docIndex[i]!;
      if (ends.has(key))
        issues.add(
          ['links', k],
          `${key} is used by link ${ends.get(key)} too`,
          'give each link end its own interface',
        );
      ends.set(key, k);
    }),
  );

  issues.throwIfAny();
  return {
    name: doc.name ?? defaultName,
    file: parsed.where.file,
    description: doc.description,
    bridges,
    networks: [...networks.values()],
    containers,
    links,
  };
};
