/**
 * The floor: the least work that leaves the same state, written by hand. One `ip -batch` in the
 * sandbox creates every veth with its peer already in the container's netns (named eth1) and
 * puts the host ends into the bridge, up; then one `ip -batch` per container (entered with
 * nsenter) adds the address, sets eth1 up and adds the default route. No checks, no undo.
 */
import type { Cmd } from '../lib/proc.js';
import { bridgePorts, deletePortsCmd } from '../lib/verify.js';
import type { Net, Target } from '../lib/types.js';
import type { Tool } from './tool.js';

export const floorCmds = (targets: readonly Target[], net: Net): Cmd[] => [
  {
    file: 'ip',
    args: ['-batch', '-'],
    input: targets
      .map(
        (t) =>
          `link add vf${t.index} type veth peer name eth1 netns ${t.pid}\nlink set vf${t.index} master ${net.bridge} up\n`,
      )
      .join(''),
  },
  ...targets.map((t) => ({
    file: 'nsenter',
    args: [`--net=/proc/${t.pid}/ns/net`, '--', 'ip', '-batch', '-'],
    input: `addr add ${t.address}/${net.prefix} dev eth1\nlink set eth1 up\nroute add default via ${net.gateway}\n`,
  })),
];

export const floor = (): Tool => ({
  name: 'ip -batch floor',
  destroys: true,
  attach: floorCmds,
  teardown: async (_t, net) => [deletePortsCmd((await bridgePorts(net.bridge)).map((p) => p.ifname))],
});
