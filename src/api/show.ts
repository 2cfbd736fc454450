import type { AddressView, InterfaceView, RouteView, ShowView } from '../model/view.js';
import { buildView } from '../model/view.js';
import { HOST } from '../model/netns.js';
import type { ResolvedTarget } from '../model/target.js';
import { parseTargetSpec } from '../model/target.js';
import { observe } from '../observe/snapshot.js';
import type { RunOptions } from './engine.js';
import { requireRoot, resolveAll, runnerOf } from './engine.js';
import { netnsKey } from '../model/netns.js';

export type { AddressView, InterfaceView, RouteView, ShowView };

/** The word that names the host's own namespace for `show` (a container called so: docker:host). */
export const HOST_TARGET = 'host';

const hostTarget: ResolvedTarget = {
  spec: { kind: 'bare', name: HOST_TARGET },
  id: HOST_TARGET,
  label: HOST_TARGET,
  netns: HOST,
};

/**
 * Interfaces (state, carrier, operstate), addresses and routes of a target, and which of them
 * pipefitter made. `'host'` reads pipefitter's own namespace — the host's; it only reads.
 * @example (await show('web')).interfaces.filter((i) => i.managed)
 * @example (await show('host')).interfaces.filter((i) => !i.carrier)
 */
export const show = async (target: string, opts: RunOptions = {}): Promise<ShowView> => {
  const spec = target === HOST_TARGET ? undefined : parseTargetSpec(target);
  requireRoot();
  const runner = runnerOf(opts);
  // reading the host's namespace changes nothing: no --allow-host-namespace needed
  const [t] = spec
    ? await resolveAll([spec], runner, { docker: opts.docker, allowHostNamespace: true })
    : [hostTarget];
  const observed = await observe(runner, t!.netns.kind === 'host' ? [HOST] : [t!.netns, HOST], {
    firewall: false,
  });
  return buildView(t!, observed.get(netnsKey(t!.netns))!, observed.get('host'));
};
