import type { AddressView, InterfaceView, RouteView, ShowView } from '../model/view.js';
import { buildView } from '../model/view.js';
import { HOST } from '../model/netns.js';
import { parseTargetSpec } from '../model/target.js';
import { observe } from '../observe/snapshot.js';
import type { RunOptions } from './engine.js';
import { requireRoot, resolveAll, runnerOf } from './engine.js';
import { netnsKey } from '../model/netns.js';

export type { AddressView, InterfaceView, RouteView, ShowView };

/**
 * Interfaces, addresses and routes of a target, and which of them pipefitter made.
 * @example (await show('web')).interfaces.filter((i) => i.managed)
 */
export const show = async (target: string, opts: RunOptions = {}): Promise<ShowView> => {
  const spec = parseTargetSpec(target);
  requireRoot();
  const runner = runnerOf(opts);
  // reading the host's namespace changes nothing: no --allow-host-namespace needed
  const [t] = await resolveAll([spec], runner, { docker: opts.docker, allowHostNamespace: true });
  const observed = await observe(runner, [t!.netns, HOST], { firewall: false });
  return buildView(t!, observed.get(netnsKey(t!.netns))!, observed.get('host'));
};
