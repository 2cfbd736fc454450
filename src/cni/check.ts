/**
 * CHECK (SPEC.md section 2): what the `prevResult` says pipefitter made for this attachment,
 * against what the kernel shows. Each difference is one line naming the object and what is
 * wrong; none means the attachment is as ADD left it. Later plugins in a chain may have added
 * routes and addresses: only what is missing or changed counts, never what is extra. Pure.
 */
import { canonicalAddress, parseCidr, parseIp, inSubnet } from '../addr.js';
import type { CniResult } from './types.js';

export interface SeenLink {
  readonly name: string;
  readonly mac?: string | undefined;
  readonly mtu?: number | undefined;
  readonly master?: string | undefined;
  readonly up?: boolean | undefined;
  /** "address/prefix". */
  readonly addrs: readonly string[];
  readonly ifindex?: number | undefined;
  /** `ip`'s info_kind (veth, macvlan, ipvlan, vlan); undefined for a plain device. */
  readonly kind?: string | undefined;
  /** A macvlan's or ipvlan's mode. */
  readonly mode?: string | undefined;
  readonly vlanId?: number | undefined;
  /** The parent's ifindex, when the parent is in another namespace (the host's). */
  readonly parentIndex?: number | undefined;
}

/** What the configuration says the container's interface is. */
export interface ExpectedWay {
  /** The link kind; undefined: any (a host device moved in). */
  readonly kind?: string | undefined;
  /** The host interface it is made on (macvlan, ipvlan, VLAN). */
  readonly parent?: string | undefined;
  readonly mode?: string | undefined;
  readonly vlanId?: number | undefined;
}

export interface SeenRoute {
  /** "default" or a network "a.b.c.d/n". */
  readonly dst: string;
  readonly gateway?: string | undefined;
  readonly dev?: string | undefined;
}

export interface CheckInput {
  readonly ifname: string;
  /** CNI_NETNS. */
  readonly sandbox: string;
  readonly prevResult: CniResult;
  /** A Linux bridge the host end should be a port of, and that host end. */
  readonly bridge?: string | undefined;
  readonly hostIfname?: string | undefined;
  readonly way?: ExpectedWay | undefined;
  readonly container: { readonly links: readonly SeenLink[]; readonly routes: readonly SeenRoute[] };
  readonly host: { readonly links: readonly SeenLink[] };
}

const sameCidr = (a: string, b: string): boolean => {
  const [x, px] = a.split('/');
  const [y, py] = b.split('/');
  return px === py && canonicalAddress(x ?? '') === canonicalAddress(y ?? '');
};

const networkText = (cidr: string): string | undefined => {
  try {
    return parseCidr(cidr, 'route').network;
  } catch {
    return undefined;
  }
};

/** The container interface against the way the configuration attaches it: kind, mode, VLAN, parent. */
const wayProblems = (c: CheckInput, link: SeenLink, where: string): string[] => {
  const w = c.way;
  if (w?.kind === undefined) return [];
  const it = `interface "${c.ifname}" ${where}`;
  if (link.kind !== w.kind)
    return [`${it}: ${link.kind ?? 'a plain device'}, the configuration says ${w.kind}`];
  const out: string[] = [];
  if (w.mode !== undefined && link.mode !== undefined && link.mode !== w.mode)
    out.push(`${it}: ${w.kind} mode ${link.mode}, the configuration says ${w.mode}`);
  if (w.vlanId !== undefined && link.vlanId !== undefined && link.vlanId !== w.vlanId)
    out.push(`${it}: VLAN ${link.vlanId}, the configuration says ${w.vlanId}`);
  if (w.parent !== undefined && link.parentIndex !== undefined) {
    // the parent is known by its index on the host; one gone or renamed is drift too
    const parent = c.host.links.find((l) => l.ifindex === link.parentIndex);
    if (parent?.name !== w.parent)
      out.push(
        `${it}: made on ${parent ? `"${parent.name}"` : `host interface ${link.parentIndex}, which is gone`}, the configuration says "${w.parent}"`,
      );
  }
  return out;
};

/** The differences, one line each; empty when the attachment is as its result says. */
export const checkAttachment = (c: CheckInput): string[] => {
  const problems: string[] = [];
  const where = `in ${c.sandbox}`;
  const ifaces = c.prevResult.interfaces ?? [];
  const index = ifaces.findIndex((i) => i.name === c.ifname && (i.sandbox ?? '') === c.sandbox);
  if (index < 0) return [`prevResult: no interface "${c.ifname}" with sandbox ${c.sandbox}`];
  const expected = ifaces[index]!;
  const link = c.container.links.find((l) => l.name === c.ifname);
  if (!link) return [`interface "${c.ifname}" ${where}: missing`];
  if (
    expected.mac !== undefined &&
    link.mac !== undefined &&
    link.mac.toLowerCase() !== expected.mac.toLowerCase()
  )
    problems.push(`interface "${c.ifname}" ${where}: MAC ${link.mac}, the result says ${expected.mac}`);
  if (expected.mtu !== undefined && link.mtu !== undefined && link.mtu !== expected.mtu)
    problems.push(`interface "${c.ifname}" ${where}: MTU ${link.mtu}, the result says ${expected.mtu}`);
  if (link.up === false) problems.push(`interface "${c.ifname}" ${where}: down`);
  problems.push(...wayProblems(c, link, where));
  const ips = (c.prevResult.ips ?? []).filter((i) => i.interface === index);
  for (const ip of ips)
    if (!link.addrs.some((a) => sameCidr(a, ip.address)))
      problems.push(`address ${ip.address} on "${c.ifname}" ${where}: missing`);
  // routes through a gateway on one of this interface's subnets are this attachment's
  const subnets = ips.flatMap((i) => {
    try {
      return [parseCidr(i.address, 'address')];
    } catch {
      return [];
    }
  });
  for (const r of c.prevResult.routes ?? []) {
    const gwText =
      r.gw ??
      ips.find((i) => i.gateway !== undefined && i.address.includes(':') === r.dst.includes(':'))?.gateway;
    if (gwText === undefined) continue;
    let gw;
    try {
      gw = parseIp(gwText, 'gw');
    } catch {
      continue;
    }
    if (!subnets.some((s) => inSubnet(s, gw))) continue;
    const isDefault = r.dst === '0.0.0.0/0' || r.dst === '::/0';
    const dst = isDefault ? 'default' : networkText(r.dst);
    const found = c.container.routes.some(
      (x) =>
        x.dst === dst &&
        x.gateway !== undefined &&
        canonicalAddress(x.gateway) === canonicalAddress(gw.address) &&
        (x.dev === undefined || x.dev === c.ifname),
    );
    if (!found) problems.push(`route ${r.dst} via ${gwText} ${where}: missing`);
  }
  if (c.bridge !== undefined) {
    const br = c.host.links.find((l) => l.name === c.bridge);
    if (!br) problems.push(`bridge "${c.bridge}" on the host: missing`);
    if (c.hostIfname !== undefined) {
      const end = c.host.links.find((l) => l.name === c.hostIfname);
      if (!end) problems.push(`host end "${c.hostIfname}" of "${c.ifname}": missing`);
      else if (br && end.master !== c.bridge)
        problems.push(
          `host end "${c.hostIfname}" of "${c.ifname}": not a port of bridge "${c.bridge}" (${end.master === undefined ? 'no bridge' : `on "${end.master}"`})`,
        );
    }
  }
  return problems;
};
