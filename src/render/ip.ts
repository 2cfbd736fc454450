/**
 * The `ip` (or `bridge`, `sysctl`) command of an operation: what the ip backend runs and what
 * `--dry-run` prints. Pure. The netlink backend sends the same change as one rtnetlink request.
 */
import { assertNever } from '../model/assert-never.js';
import type { LinkPatch, LinkSpec, Op } from '../model/op.js';
import type { ObservedRoute } from '../model/observed.js';
import type { Arg, Command } from '../model/step.js';
import { enterArgv, hostNetnsPath, spellArgs } from './enter.js';
import { shellJoin } from './quote.js';

const opt = (flag: string, v: string | number | undefined): string[] =>
  v === undefined ? [] : [flag, String(v)];

/** The argv tail of `ip route add|del|replace` for a route. */
export const routeArgs = (r: ObservedRoute): string[] => {
  const dst = r.dst === 'default' ? (r.family === 6 ? '::/0' : 'default') : r.dst;
  const a: string[] = [dst];
  if (r.gateway !== undefined) a.push('via', r.gateway);
  if (r.dev !== undefined) a.push('dev', r.dev);
  if (r.protocol !== undefined && r.protocol !== 'boot') a.push('proto', r.protocol);
  if (r.scope !== undefined && r.scope !== 'global' && r.scope !== 'universe') a.push('scope', r.scope);
  if (r.metric !== undefined && r.metric !== 0 && !(r.family === 6 && r.metric === 1024))
    a.push('metric', String(r.metric));
  if (r.prefsrc !== undefined) a.push('src', r.prefsrc);
  if (r.onlink) a.push('onlink');
  return a;
};

const typeArgs = (s: LinkSpec): Arg[] => {
  switch (s.kind) {
    case 'bridge':
      return ['type', 'bridge', ...(s.vlanFiltering ? ['vlan_filtering', '1'] : [])];
    case 'veth':
      return [
        'type',
        'veth',
        'peer',
        'name',
        s.peer.name,
        ...opt('mtu', s.peer.mtu),
        ...opt('address', s.peer.mac),
        ...(s.peer.netns ? ['netns', { netns: s.peer.netns }] : []),
      ];
    case 'macvlan':
      return ['type', 'macvlan', 'mode', s.mode];
    case 'ipvlan':
      return ['type', 'ipvlan', 'mode', s.mode, s.flag];
    case 'vlan':
      return ['type', 'vlan', 'id', String(s.id)];
    default:
      return assertNever(s, 'link kind');
  }
};

const parentOf = (s: LinkSpec): string | undefined =>
  s.kind === 'macvlan' || s.kind === 'ipvlan' || s.kind === 'vlan' ? s.parent : undefined;

const patchArgs = (p: LinkPatch): Arg[] => [
  ...opt('name', p.name),
  ...opt('mtu', p.mtu),
  ...opt('address', p.mac),
  ...(p.master === null ? ['nomaster'] : opt('master', p.master)),
  ...(p.alias !== undefined ? ['alias', p.alias] : []),
  ...(p.netns ? ['netns', { netns: p.netns }] : []),
  ...(p.up === undefined ? [] : [p.up ? 'up' : 'down']),
  ...(p.vlanFiltering === undefined ? [] : ['type', 'bridge', 'vlan_filtering', p.vlanFiltering ? '1' : '0']),
];

/**
 * @example ipArgv({ op: 'addr.add', addr: { dev: 'eth1', family: 4, address: '192.0.2.10', prefix: 24, broadcast: '192.0.2.255' } })
 *   // ['ip', 'addr', 'add', '192.0.2.10/24', 'brd', '192.0.2.255', 'dev', 'eth1']
 */
export const ipArgv = (o: Op): readonly Arg[] => {
  switch (o.op) {
    case 'link.add':
      return [
        'ip',
        'link',
        'add',
        'name',
        o.name,
        ...opt('link', parentOf(o.spec)),
        ...opt('mtu', o.mtu),
        ...opt('address', o.mac),
        ...(o.netns ? ['netns', { netns: o.netns }] : []),
        ...typeArgs(o.spec),
      ];
    case 'link.del':
      return ['ip', 'link', 'del', 'dev', o.name];
    case 'link.set':
      return ['ip', 'link', 'set', 'dev', o.name, ...patchArgs(o.patch)];
    case 'addr.add':
      return [
        'ip',
        'addr',
        'add',
        `${o.addr.address}/${o.addr.prefix}`,
        ...opt('brd', o.addr.broadcast),
        'dev',
        o.addr.dev,
        ...(o.addr.flags ?? []),
      ];
    case 'addr.del':
      return ['ip', 'addr', 'del', `${o.addr.address}/${o.addr.prefix}`, 'dev', o.addr.dev];
    case 'route.add':
    case 'route.replace':
    case 'route.del':
      return ['ip', 'route', o.op.slice('route.'.length), ...routeArgs(o.route)];
    case 'bridge-vlan.add':
      return [
        'bridge',
        'vlan',
        'add',
        'dev',
        o.dev,
        'vid',
        String(o.vid),
        ...(o.access ? ['pvid', 'untagged'] : []),
      ];
    case 'bridge-vlan.del':
      return ['bridge', 'vlan', 'del', 'dev', o.dev, 'vid', String(o.vid)];
    case 'sysctl':
      return [
        'sysctl',
        '-q',
        ...(o.missingOk ? ['-e'] : []),
        '-w',
        ...o.set.map((s) => `${s.key}=${s.value}`),
      ];
    case 'arp.announce':
      return ['arping', '-q', '-U', '-c', '1', '-w', '0', '-i', o.dev, '-S', o.address, o.address];
    case 'exec':
      return o.argv;
    default:
      return assertNever(o, 'operation');
  }
};

/** The argv of a command's operation (what the ip backend runs). */
export const argvOf = (c: Pick<Command, 'op'>): readonly Arg[] => ipArgv(c.op);

/** An `exec` operation: a program run as it is. */
export const exec = (...argv: readonly Arg[]): Op => ({ op: 'exec', argv });

/** One command as the shell line it runs as (inside its namespace): for errors, reports and preflight. */
export const commandText = (c: Command): string =>
  shellJoin(enterArgv(c.netns, spellArgs(argvOf(c), hostNetnsPath())));
