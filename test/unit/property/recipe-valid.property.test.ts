/**
 * The generator of random valid recipes (test/helpers/recipe-arbitrary.ts) draws only valid
 * recipes: each one rendered validates, declares every container and interface drawn, and
 * plans for a first apply — refused (E_CONFLICT, exit 2) exactly when the generator says the
 * kernel would refuse it. The exception it draws on purpose, a second gateway of a family or a
 * second route to a destination in a container, is refused by validation there alone. The integration property test (recipe-roundtrip.property.test.ts)
 * applies a few of them on real namespaces; here many are checked in milliseconds, so a refusal
 * there is pipefitter's or the kernel's, not the generator's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exitCodeFor } from '../../../src/errors.js';
import type { Recipe } from '../../../src/model/recipe.js';
import { planRecipe } from '../../../src/plan/recipe.js';
import { recipeFromText } from '../../../src/recipe/load.js';
import { nic, nsState } from '../../helpers/plan-fixtures.js';
import { FC, onlyPipefitterErrors } from '../../helpers/property.js';
import { MACVLAN_PARENT_MTU, renderRecipe, topology } from '../../helpers/recipe-arbitrary.js';
import { firstApply } from '../../helpers/recipe-plan.js';

const NIC = 'pnab12cdrt';

test('every recipe drawn validates, with the containers and interfaces drawn, and plans (or is refused as predicted)', () => {
  fc.assert(
    fc.property(topology, (t) => {
      const r = renderRecipe(t, {
        recipe: 'rt-x1',
        bridgePrefix: 'pf-ab12cd-zz',
        nsPrefix: 'pf-run-ab12cd-zz',
        targets: t.containers.map((c, i) => (c.target === 'pid' ? { pid: 4000 + i } : { netns: `c${i}` })),
        nic: NIC,
      });
      let recipe: Recipe | undefined;
      const invalid = onlyPipefitterErrors(() => {
        recipe = recipeFromText(r.text, r.file, { set: r.set });
      });
      if (r.invalid !== undefined) {
        // a second gateway of a family, or route to a destination, in one container, on purpose
        assert.ok(invalid, `accepted, but ${r.invalid} is a second gateway\n${r.text}`);
        assert.equal(invalid.code, 'E_RECIPE');
        assert.equal(invalid.issues?.length, 1, invalid.message);
        assert.equal(invalid.issues?.[0]?.path, r.invalid, invalid.message);
        assert.match(
          invalid.issues?.[0]?.message ?? '',
          /^a second (IPv[46] gateway|route to \S+( with metric \d+)?) in container "c\d"/,
        );
        return;
      }
      assert.equal(invalid, undefined, `${invalid?.message ?? ''}\n${r.text}`);
      assert.ok(recipe);
      assert.equal(recipe.name, r.name);
      assert.equal(recipe.containers.length, t.containers.length);
      const ifaces = recipe.containers.reduce((n, c) => n + c.interfaces.length, 0);
      assert.equal(ifaces + 2 * recipe.links.length, r.expect.length, r.text);
      for (const n of recipe.networks) if (n.kind === 'bridge') assert.ok(n.bridge.length <= 15, n.bridge);

      const host = nsState([nic('eth0'), nic(NIC, { ifindex: 11, mtu: MACVLAN_PARENT_MTU })]);
      const planned = recipe;
      const refused = onlyPipefitterErrors(() => planRecipe(firstApply(planned, host)));
      if (r.refused.length === 0) assert.equal(refused, undefined, `${refused?.message ?? ''}\n${r.text}`);
      else {
        assert.ok(refused, `refused: ${JSON.stringify(r.refused)}\n${r.text}`);
        assert.equal(refused.code, 'E_CONFLICT', refused.message);
        assert.equal(exitCodeFor(refused), 2);
        assert.ok(
          r.refused.some((x) => refused.message.includes(`via ${x.via} dev ${x.ifname}`)),
          `${refused.message}\n${JSON.stringify(r.refused)}`,
        );
      }
    }),
    FC,
  );
});
