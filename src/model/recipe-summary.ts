/**
 * A recipe after apply, per container: its interfaces with their addresses, and whether the apply
 * changed it — what `pipefitter apply` prints as its summary table (RecipeReport.containers).
 * Pure: from the recipe, the targets found, the plan's steps and the auto addresses given.
 */
import type { Cidr } from '../addr.js';
import { netnsKey } from './netns.js';
import type { Recipe } from './recipe.js';
import { ipamKey } from './recipe.js';
import type { Step } from './step.js';
import type { ResolvedTarget } from './target.js';
import { targetSpecText } from './target.js';

/** One container of a recipe after apply, for the summary table. */
export interface ContainerSummary {
  readonly container: string;
  readonly target: string;
  /** changed: a step ran in its namespace; unchanged: already in place; not running: left out. */
  readonly status: 'changed' | 'unchanged' | 'not running';
  readonly interfaces: readonly {
    readonly ifname: string;
    /** The recipe network, or `link to OTHER` for a point-to-point link. */
    readonly network: string;
    /** Static and auto addresses; `dhcp` for a DHCP interface. */
    readonly addresses: readonly string[];
  }[];
}

export interface SummaryInput {
  /** The running containers' targets, by container name. */
  readonly targets: ReadonlyMap<string, ResolvedTarget>;
  /** Containers left out (not running), with the target as written. */
  readonly missing: readonly { readonly container: string; readonly target: string }[];
  /** The plan's steps: a container whose namespace one runs in is changed. */
  readonly steps: readonly Step[];
  /** The auto addresses, by IPAM key (model/recipe.ts ipamKey). */
  readonly auto: ReadonlyMap<string, Cidr>;
}

/**
 * @example summarizeRecipe(recipe, { targets, missing: [], steps: plan.steps, auto })[0].status // 'changed'
 */
export const summarizeRecipe = (r: Recipe, s: SummaryInput): ContainerSummary[] => {
  const touched = new Set(s.steps.map((step) => netnsKey(step.netns)));
  return r.containers.map((c) => {
    const t = s.targets.get(c.name);
    const missing = s.missing.find((m) => m.container === c.name);
    const ifaces = c.interfaces.map((i) => ({
      ifname: i.ifname,
      network: i.network,
      addresses:
        i.addressing.kind === 'static'
          ? i.addressing.addrs.map((a) => a.text)
          : i.addressing.kind === 'auto'
            ? [s.auto.get(ipamKey(r.name, c.name, i.ifname))?.text ?? 'auto']
            : i.addressing.kind === 'dhcp'
              ? ['dhcp']
              : [],
    }));
    const links = r.links.flatMap((l) =>
      [
        [l.a, l.b],
        [l.b, l.a],
      ].flatMap(([me, other]) =>
        me && other && me.container === c.name
          ? [
              {
                ifname: me.ifname,
                network: `link to ${other.container}`,
                addresses: me.addr ? [me.addr.text] : [],
              },
            ]
          : [],
      ),
    );
    return {
      container: c.name,
      target: t?.label ?? missing?.target ?? targetSpecText(c.target),
      status: !t ? 'not running' : touched.has(netnsKey(t.netns)) ? 'changed' : 'unchanged',
      interfaces: [...ifaces, ...links],
    };
  });
};
