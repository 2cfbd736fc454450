import type { CniVerb } from '../cni/verb.js';
import { CNI_ERROR, CniError } from '../cni/types.js';

/** Not made yet (issue 15): answered as "not available" so that a runtime is not misled. */
export const run: CniVerb = () =>
  Promise.reject(
    new CniError(
      CNI_ERROR.notAvailable,
      'STATUS: not implemented yet by pipefitter',
      'ADD, DEL and VERSION work; see the README section "CNI plugin (work in progress)"',
    ),
  );
