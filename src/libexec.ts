/** Where pipefitter's own helper scripts are (libexec/ at the package root). */
import { fileURLToPath } from 'node:url';

// Set by scripts/bundle.mjs: the CLI bundle sits one directory deeper (dist/cli-bundle/).
declare const __PF_BUNDLED__: boolean | undefined;
const root = typeof __PF_BUNDLED__ !== 'undefined' && __PF_BUNDLED__ ? '../../' : '../';

/** The DHCP runner (libexec/pipefitter-dhcp): runs a client in a private mount namespace. */
export const DHCP_RUNNER = fileURLToPath(new URL(`${root}libexec/pipefitter-dhcp`, import.meta.url));
