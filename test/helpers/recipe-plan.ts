/**
 * The recipe planner's input for a first apply, from hand-built observed states: namespaces the
 * recipe creates are new, existing named namespaces and processes' are empty (lo only), Docker
 * containers have eth0 on docker0 and its default route, and `auto` addresses are what the API
 * hands out on a first apply. Used by test/unit/plan/recipe.test.ts and the generated recipes'
 * property test (test/unit/property/recipe-valid.property.test.ts).
 */
import type { Cidr } from '../../src/addr.js';
import { parseCidr } from '../../src/addr.js';
import { addressToCidr, allocate, parsePool } from '../../src/ipam/pool.js';
import type { NetnsState } from '../../src/model/observed.js';
import type { Recipe } from '../../src/model/recipe.js';
import { ipamKey } from '../../src/model/recipe.js';
import type { ResolvedTarget } from '../../src/model/target.js';
import type { RecipePlanInput } from '../../src/plan/recipe.js';
import { netnsTarget, nic, nsState, observed, pidTarget, route } from './plan-fixtures.js';

/** A Docker container as targets/ resolves it: its namespace by PID. */
export const dockerTarget = (ref: string, pid: number): ResolvedTarget => ({
  spec: { kind: 'docker', ref },
  id: `docker:${ref}0123456789ab`,
  label: `docker:${ref}`,
  netns: { kind: 'pid', pid },
  pid,
  ownMounts: true,
});

/** A Docker container's namespace: eth0 on docker0 and its default route. */
export const dockerNs = (): NetnsState =>
  nsState(
    [nic('eth0', { kind: 'veth', ifindex: 2, addrs: [] })],
    [route({ dst: 'default', gateway: '172.17.0.1', dev: 'eth0' })],
  );

/** The plan input for a first apply: created namespaces are new, containers as fixtures make them. */
export const firstApply = (
  r: Recipe,
  host: NetnsState = nsState([nic('eth0'), nic('eth1', { ifindex: 11 })]),
) => {
  const targets = new Map<string, ResolvedTarget>();
  const create: string[] = [];
  const others: [ResolvedTarget, NetnsState][] = [];
  r.containers.forEach((c, i) => {
    const t = c.target;
    if (t.kind === 'netns') {
      targets.set(c.name, netnsTarget(t.name));
      if (c.create) create.push(t.name);
      else others.push([netnsTarget(t.name), nsState()]);
    } else if (t.kind === 'docker') {
      const d = dockerTarget(t.ref, 4200 + i);
      targets.set(c.name, d);
      others.push([d, dockerNs()]);
    } else if (t.kind === 'pid') {
      const p = pidTarget(t.pid);
      targets.set(c.name, p);
      others.push([p, nsState()]);
    } else throw new Error(`no fixture for target ${t.kind}`);
  });
  // auto addresses as the API hands them out on a first apply: lowest free, gateway and static ones reserved
  const auto = new Map<string, Cidr>();
  const taken = new Set<string>();
  for (const c of r.containers)
    for (const i of c.interfaces) {
      if (i.addressing.kind !== 'auto') continue;
      const net = r.networks.find((n) => n.name === i.network)!;
      const statics = r.containers.flatMap((x) =>
        x.interfaces.flatMap((y) =>
          y.network === net.name && y.addressing.kind === 'static'
            ? y.addressing.addrs.map((a) => a.address)
            : [],
        ),
      );
      const pool = parsePool(net.pool!, 'pool', net.subnet, [
        ...(net.gateway ? [net.gateway.address] : []),
        ...statics,
      ]);
      const a = allocate(pool, taken)!;
      taken.add(a);
      auto.set(ipamKey(r.name, c.name, i.ifname), parseCidr(addressToCidr(pool, a), 'auto'));
    }
  return {
    recipe: r,
    targets,
    create,
    dropNamespaces: [],
    former: [],
    auto,
    observed: observed(host, ...others),
    nat: { ipForward: false },
  } satisfies RecipePlanInput;
};
