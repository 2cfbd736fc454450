import type { FirewallState } from '../model/observed.js';
import type { NetConf } from './config.js';
import type { CniEnv } from './env.js';
import type { CniResult } from './types.js';

/**
 * What a resident `pipefitter cni serve` shares between the calls it runs (nothing, for the
 * plugin executable's one call).
 */
export interface CniShared {
  /**
   * Where the reading of the host's firewall comes from for an ADD onto this bridge (undefined:
   * another way to attach). @default read afresh
   */
  readonly firewallFor?:
    | ((bridge: string | undefined) => (read: () => Promise<FirewallState>) => Promise<FirewallState>)
    | undefined;
  /** Told when a call may have changed the host's firewall (an accept rule added or removed). */
  readonly firewallTouched?: (() => void) | undefined;
}

/**
 * One operation's effects (api/cni-*.ts, loaded by the entry only for that operation): its
 * result for ADD, nothing for the others. `log` writes a line to stderr.
 */
export type CniVerb = (
  env: CniEnv,
  conf: NetConf,
  log: (line: string) => void,
  shared?: CniShared,
) => Promise<CniResult | undefined>;
