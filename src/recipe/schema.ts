/**
 * The recipe format, version 1: one valibot schema that both validates recipes and generates
 * the published JSON Schema (recipes/schema.json, checked by a test). Shapes only; values
 * (addresses, names, references) are checked by rules.ts with the same parsers as the CLI.
 */
import * as v from 'valibot';

const d = <T extends v.GenericSchema>(schema: T, text: string) => v.pipe(schema, v.description(text));

const Name = d(
  v.pipe(
    v.string(),
    v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "-" and "." only'),
    v.maxLength(63),
  ),
  'a name: letters, digits, "_", "-", "."',
);
const Strings = v.union([v.string(), v.array(v.string())]);
const Vid = d(v.pipe(v.number(), v.integer()), 'VLAN id, 1-4094');

const RouteSchema = v.strictObject({
  to: d(v.string(), 'destination: a network such as 198.51.100.0/24, or "default"'),
  via: v.optional(d(v.string(), 'gateway address')),
  metric: v.optional(v.pipe(v.number(), v.integer())),
});

const PublishSchema = v.strictObject({
  port: d(v.pipe(v.number(), v.integer()), 'port on the host'),
  to: d(v.string(), 'container address and port, e.g. 192.0.2.10:80'),
  proto: v.optional(v.picklist(['tcp', 'udp']), 'tcp'),
});

export const BridgeSchema = v.strictObject({
  addresses: v.optional(d(Strings, "the bridge's own addresses, e.g. 192.0.2.1/24")),
  mtu: v.optional(v.pipe(v.number(), v.integer())),
  vlanFiltering: v.optional(d(v.boolean(), 'turn on bridge VLAN filtering (implied by a VLAN on any port)')),
  nat: v.optional(
    d(
      v.strictObject({
        subnet: d(v.string(), 'source subnet to masquerade, e.g. 192.0.2.0/24'),
        outInterface: v.optional(
          d(v.string(), 'masquerade only traffic leaving through this host interface'),
        ),
      }),
      'masquerade traffic from this subnet that leaves the host (nftables; IPv4 forwarding is turned on)',
    ),
  ),
  publish: v.optional(
    d(v.array(PublishSchema), 'published ports: DNAT from the host to containers, as Docker does'),
  ),
});

export const NetworkSchema = v.strictObject({
  bridge: v.optional(d(v.string(), 'a bridge (declared under bridges, or made with defaults)')),
  parent: v.optional(d(v.string(), 'a host interface for macvlan, ipvlan or vlan networks')),
  kind: v.optional(v.picklist(['bridge', 'macvlan', 'ipvlan', 'vlan'])),
  mode: v.optional(
    d(v.string(), 'macvlan mode (bridge, private, vepa, passthru) or ipvlan mode (l2, l3, l3s)'),
  ),
  vlan: v.optional(
    d(Vid, 'the VLAN: access VLAN of bridge ports, PARENT.VLAN for macvlan/ipvlan, the id of a vlan network'),
  ),
  trunk: v.optional(d(v.array(Vid), 'bridge ports carry these VLANs tagged')),
  subnet: v.optional(d(v.string(), 'e.g. 192.0.2.0/24; addresses given without a prefix take it')),
  gateway: v.optional(d(v.string(), 'the default gateway of interfaces that ask for one')),
  pool: v.optional(d(v.string(), 'addresses for "auto": a range 192.0.2.100-192.0.2.199 or a CIDR')),
  mtu: v.optional(v.pipe(v.number(), v.integer())),
  inside: v.optional(
    d(v.boolean(), 'for kind vlan: the parent is an interface inside the container (a trunk)'),
    false,
  ),
  hostShim: v.optional(
    d(
      v.boolean(),
      'for kind macvlan (mode bridge): a macvlan of the host on the parent, with a route to each container address, so the host reaches them',
    ),
  ),
});

export const DhcpSchema = v.strictObject({
  client: v.optional(v.picklist(['dhcp', 'udhcpc', 'dhclient', 'dhcpcd']), 'dhcp'),
  foreground: v.optional(d(v.boolean(), 'keep the client running'), false),
  options: v.optional(v.array(v.string())),
  hostname: v.optional(v.string()),
  dns: v.optional(d(v.boolean(), "write the lease's DNS servers into the container's resolv.conf"), false),
});

export const InterfaceSchema = v.strictObject({
  network: d(v.string(), 'the network (under networks) this interface is on'),
  address: v.optional(d(Strings, 'addresses with prefix, "auto" (from the network pool) or "dhcp"')),
  mac: v.optional(v.string()),
  mtu: v.optional(v.pipe(v.number(), v.integer())),
  gateway: v.optional(d(v.union([v.boolean(), v.string()]), 'true: the network gateway; or an address')),
  routes: v.optional(v.array(RouteSchema)),
  dhcp: v.optional(DhcpSchema),
});

export const ContainerSchema = v.strictObject({
  target: d(v.string(), 'docker:NAME, podman:NAME, pid:N, netns:NAME, a namespace path, or a bare name'),
  create: v.optional(
    d(v.boolean(), 'for netns:NAME: make the namespace when missing (and remove it on destroy)'),
    false,
  ),
  forwarding: v.optional(d(v.boolean(), 'turn on IPv4 and IPv6 forwarding inside (a router)'), false),
  interfaces: v.optional(v.record(v.string(), InterfaceSchema)),
});

export const LinkSchema = v.strictObject({
  a: d(v.string(), 'CONTAINER:IFNAME (a key under containers)'),
  b: d(v.string(), 'CONTAINER:IFNAME'),
  addresses: v.optional(d(v.array(v.string()), '[address of a, address of b]')),
  mtu: v.optional(v.pipe(v.number(), v.integer())),
  gateway: v.optional(
    d(
      v.strictObject({ a: v.optional(v.string()), b: v.optional(v.string()) }),
      'default gateway of an end, e.g. { a: 192.0.2.2 }',
    ),
  ),
  routes: v.optional(
    d(
      v.strictObject({ a: v.optional(v.array(RouteSchema)), b: v.optional(v.array(RouteSchema)) }),
      'extra routes of each end',
    ),
  ),
});

export const RecipeSchema = v.strictObject({
  version: d(v.literal(1), 'recipe format version'),
  name: v.optional(d(Name, 'owner name of what the recipe makes (default: the file name)')),
  description: v.optional(v.string()),
  vars: v.optional(
    d(
      v.record(
        v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/)),
        v.union([v.string(), v.number(), v.boolean()]),
      ),
      'values for ${name} in any string; --set name=value overrides',
    ),
  ),
  bridges: v.optional(v.record(v.string(), BridgeSchema)),
  networks: v.optional(v.record(Name, NetworkSchema)),
  containers: v.optional(v.record(Name, ContainerSchema)),
  links: v.optional(v.array(LinkSchema)),
});

export type RecipeDoc = v.InferOutput<typeof RecipeSchema>;
export type BridgeDoc = v.InferOutput<typeof BridgeSchema>;
export type NetworkDoc = v.InferOutput<typeof NetworkSchema>;
export type ContainerDoc = v.InferOutput<typeof ContainerSchema>;
export type InterfaceDoc = v.InferOutput<typeof InterfaceSchema>;
export type LinkDoc = v.InferOutput<typeof LinkSchema>;
