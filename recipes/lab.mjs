#!/usr/bin/env zx
// pipefitter from a zx script: the library API, typed, next to the YAML recipes.
// Makes two namespaces, plumbs them with attach, applies a recipe, and cleans everything up.
//   sudo zx recipes/lab.mjs
import { $ } from 'zx';
import { apply, attach, destroy, detach, show } from 'pipefitter';

$.verbose = true;
// names: ZXLAB_PREFIX (namespaces) and ZXLAB_SHORT (bridges, 15 bytes at most) may be set
const prefix = process.env.ZXLAB_PREFIX ?? 'zxlab';
const short = process.env.ZXLAB_SHORT ?? 'zxlab';
const ns = [`${prefix}-a`, `${prefix}-b`];
for (const n of ns) await $`ip netns add ${n}`;
try {
  for (const [i, n] of ns.entries())
    await attach({ target: `netns:${n}`, bridge: `${short}-br`, ip: `192.0.2.${10 + i}/24` });
  console.log((await show(`netns:${ns[0]}`)).interfaces.filter((i) => i.managed));
  await $`ip netns exec ${ns[0]} ping -c 1 192.0.2.11`;
  for (const n of ns) await detach({ target: `netns:${n}` });

  // a recipe from the same script, with its variables set from here
  const r = await apply(new URL('./router.yaml', import.meta.url).pathname, {
    set: { ns: 'zxlab', p: 'zx' },
  });
  console.log(`router recipe: ${r.plan.steps.length} changes`);
  await $`ip netns exec zxlab-alice ping -c 1 198.51.100.10`;
  await destroy(new URL('./router.yaml', import.meta.url).pathname, { set: { ns: 'zxlab', p: 'zx' } });
} finally {
  for (const n of ns) await $`ip netns del ${n}`.nothrow();
}
