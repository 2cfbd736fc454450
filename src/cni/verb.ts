import type { NetConf } from './config.js';
import type { CniEnv } from './env.js';
import type { CniResult } from './types.js';

/**
 * One operation's effects (api/cni-*.ts, loaded by the entry only for that operation): its
 * result for ADD, nothing for the others. `log` writes a line to stderr.
 */
export type CniVerb = (
  env: CniEnv,
  conf: NetConf,
  log: (line: string) => void,
) => Promise<CniResult | undefined>;
