/** Where pipefitter's own helper scripts are (libexec/ next to dist/ and src/). */
import { fileURLToPath } from 'node:url';

/** The DHCP runner (libexec/pipefitter-dhcp): runs a client in a private mount namespace. */
export const DHCP_RUNNER = fileURLToPath(new URL('../libexec/pipefitter-dhcp', import.meta.url));

/** pipefitter's state lives under /run (gone at reboot, like the namespaces it describes). */
export const STATE_DIR = '/run/pipefitter';
