/** The bridge of a veth attachment: made or adopted, up, its addresses and its firewall rule. */
import { refuse } from '../errors.js';
import type { LinkIntent } from '../model/attachment.js';
import { HOST } from '../model/netns.js';
import { decodeTag, encodeTag } from '../model/owner.js';
import { linkAddBridge, linkSetAlias, linkSetDownCmd, linkSetUp, addrAdd, addrDelCmd } from './commands.js';
import type { PlanContext, ProjectedLink } from './context.js';
import { plannedLink } from './context.js';
import { planBridgeFirewall } from './firewall.js';
import { sameAddress } from '../addr.js';

/** Make sure the bridge exists and is up; create it (tagged as pipefitter's) when allowed. */
export const ensureBridge = (
  ctx: PlanContext,
  link: Extract<LinkIntent, { kind: 'bridge' }>,
  label: string,
): ProjectedLink => {
  const br = ctx.link(HOST, link.bridge);
  if (br) {
    if (br.kind !== 'bridge')
      throw refuse(
        'E_CONFLICT',
        `bridge "${link.bridge}"`,
        `a host interface of that name exists and is ${br.kind ? `a ${br.kind}` : 'not a bridge'}`,
        'choose another bridge name',
      );
    if (!br.up) {
      ctx.push(linkSetUp(HOST, link.bridge, br.planned ? 'covered' : linkSetDownCmd(HOST, link.bridge)));
      ctx.updateLink(HOST, link.bridge, { up: true });
    }
    for (const c of link.bridgeAddrs) {
      if (br.addrs.some((o) => o.prefix === c.prefix && sameAddress(o.address, c.address))) continue;
      ctx.push(addrAdd(HOST, link.bridge, c, br.planned ? 'covered' : addrDelCmd(HOST, link.bridge, c.text)));
      ctx.updateLink(HOST, link.bridge, {
        addrs: [...br.addrs, { family: c.family, address: c.address, prefix: c.prefix, scope: 'global' }],
      });
    }
    planBridgeFirewall(ctx, HOST, link.bridge, decodeTag(br.alias)?.kind === 'bridge', label);
    return ctx.link(HOST, link.bridge) ?? br;
  }
  if (!link.create)
    throw refuse(
      'E_NO_HOST_IF',
      `bridge "${link.bridge}"`,
      'does not exist on the host',
      'create it, or leave out --no-create-bridge',
    );
  const alias = encodeTag({ kind: 'bridge' });
  ctx.push(linkAddBridge(HOST, link.bridge));
  ctx.push(linkSetAlias(HOST, link.bridge, alias, 'covered'));
  ctx.putLink(HOST, plannedLink({ name: link.bridge, kind: 'bridge', alias }));
  for (const c of link.bridgeAddrs) ctx.push(addrAdd(HOST, link.bridge, c, 'covered'));
  ctx.push(linkSetUp(HOST, link.bridge, 'covered'));
  ctx.updateLink(HOST, link.bridge, {
    up: true,
    addrs: link.bridgeAddrs.map((c) => ({
      family: c.family,
      address: c.address,
      prefix: c.prefix,
      scope: 'global',
    })),
  });
  ctx.notes.push(`${label}: bridge "${link.bridge}" does not exist and is created`);
  planBridgeFirewall(ctx, HOST, link.bridge, true, label);
  return ctx.link(HOST, link.bridge) as ProjectedLink;
};
