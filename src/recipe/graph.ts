/**
 * A recipe as a picture: Mermaid (renders in Markdown on most forges) or Graphviz dot (`dot
 * -Tsvg` for SVG). Containers are boxes, bridges and host parents are ellipses, interfaces
 * are edges labelled with the interface name and its addresses; links are edges between boxes.
 */
import type { Recipe, RecipeIface } from '../model/recipe.js';
import { targetSpecText } from '../model/target.js';

export type GraphFormat = 'mermaid' | 'dot';
export const GRAPH_FORMATS = ['mermaid', 'dot', 'svg'] as const;

const id = (prefix: string, name: string): string => `${prefix}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;

const addrText = (i: RecipeIface): string => {
  const a = i.addressing;
  switch (a.kind) {
    case 'static':
      return a.addrs.map((x) => x.text).join(' ');
    case 'auto':
      return 'auto';
    case 'dhcp':
      return 'dhcp';
    case 'none':
      return '';
  }
};

interface Edge {
  from: string;
  to: string;
  label: string;
}

const model = (r: Recipe) => {
  const hubs = new Map<string, string>(); // node id -> label
  const boxes = new Map<string, string>();
  const edges: Edge[] = [];
  for (const b of r.bridges)
    hubs.set(
      id('br', b.name),
      `${b.name}${b.addrs.length ? `\\n${b.addrs.map((a) => a.text).join(' ')}` : ''}${b.nat ? '\\nNAT' : ''}`,
    );
  for (const c of r.containers) {
    boxes.set(id('c', c.name), `${c.name}\\n${targetSpecText(c.target)}`);
    for (const i of c.interfaces) {
      const net = r.networks.find((n) => n.name === i.network);
      if (!net) continue;
      const hub =
        net.kind === 'bridge'
          ? id('br', net.bridge)
          : id('if', `${net.parent}${'vlan' in net && net.vlan ? `.${net.vlan}` : ''}`);
      if (!hubs.has(hub))
        hubs.set(
          hub,
          net.kind === 'bridge'
            ? net.bridge
            : `${net.parent}${'vlan' in net && net.vlan ? `.${net.vlan}` : ''}\\n(${net.kind})`,
        );
      edges.push({ from: id('c', c.name), to: hub, label: `${i.ifname} ${addrText(i)}`.trim() });
    }
  }
  for (const l of r.links)
    edges.push({
      from: id('c', l.a.container),
      to: id('c', l.b.container),
      label: `${l.a.ifname}${l.a.addr ? ` ${l.a.addr.text}` : ''} — ${l.b.ifname}${l.b.addr ? ` ${l.b.addr.text}` : ''}`,
    });
  return { hubs, boxes, edges };
};

export const renderGraph = (r: Recipe, format: GraphFormat): string => {
  const { hubs, boxes, edges } = model(r);
  if (format === 'mermaid') {
    const q = (s: string): string => `"${s.replaceAll('"', "'").replaceAll('\\n', '<br/>')}"`;
    return [
      'graph LR',
      ...[...boxes].map(([k, v]) => `  ${k}[${q(v)}]`),
      ...[...hubs].map(([k, v]) => `  ${k}((${q(v)}))`),
      ...edges.map((e) => `  ${e.from} ---|${q(e.label)}| ${e.to}`),
      '',
    ].join('\n');
  }
  const q = (s: string): string => `"${s.replaceAll('"', '\\"')}"`;
  return [
    `graph ${q(r.name)} {`,
    '  rankdir=LR;',
    ...[...boxes].map(([k, v]) => `  ${k} [shape=box, label=${q(v)}];`),
    ...[...hubs].map(([k, v]) => `  ${k} [shape=ellipse, label=${q(v)}];`),
    ...edges.map((e) => `  ${e.from} -- ${e.to} [label=${q(e.label)}];`),
    '}',
    '',
  ].join('\n');
};
