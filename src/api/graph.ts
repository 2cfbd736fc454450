/** A recipe's topology as a picture: Mermaid and dot are pure text; SVG needs Graphviz's `dot`. */
import { badInput } from '../errors.js';
import { createRunner } from '../exec/runner.js';
import { HOST } from '../model/netns.js';
import type { Recipe } from '../model/recipe.js';
import { renderGraph } from '../recipe/graph.js';
import { missingToolHint } from '../tools.js';

export const graph = async (r: Recipe, format: string): Promise<string> => {
  if (format === 'mermaid' || format === 'dot') return renderGraph(r, format);
  if (format !== 'svg')
    throw badInput(
      'E_BAD_VALUE',
      '--format',
      format,
      'unknown graph format',
      'use one of: mermaid, dot, svg',
    );
  // Graphviz renders dot to SVG; it is a well-kept renderer when installed.
  const dot = await createRunner().run(['dot', '-Tsvg'], { netns: HOST, input: renderGraph(r, 'dot') });
  if (dot.failed)
    throw badInput(
      'E_TOOL_MISSING',
      '--format',
      'svg',
      dot.reason === 'tool-missing' ? 'needs Graphviz (dot)' : dot.stderr.trim(),
      `${missingToolHint(['dot'])}; or use --format dot`,
    );
  return dot.stdout;
};
