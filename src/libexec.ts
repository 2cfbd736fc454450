/** Where pipefitter's own helper scripts are (libexec/ at the package root). */
import { fileURLToPath } from 'node:url';

// Set by scripts/bundle.mjs: the CLI bundle sits one directory deeper (dist/cli-bundle/).
declare const __PF_BUNDLED__: boolean | undefined;
const root = typeof __PF_BUNDLED__ !== 'undefined' && __PF_BUNDLED__ ? '../../' : '../';

/** The DHCP runner (libexec/pipefitter-dhcp): runs a client in a private mount namespace. */
export const DHCP_RUNNER = fileURLToPath(new URL(`${root}libexec/pipefitter-dhcp`, import.meta.url));

/**
 * The CNI plugin's entry (src/cni/main.ts, bundled by scripts/bundle.mjs next to the CLI):
 * what the launcher `pipefitter cni install` writes runs.
 */
export const CNI_ENTRY = fileURLToPath(new URL(`${root}dist/cli-bundle/cni.js`, import.meta.url));
