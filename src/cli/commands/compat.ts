import { parsePipework, PIPEWORK_SYNTAX } from '../../compat/pipework.js';
import { printOutcome, printPassthrough, printWaited } from '../output.js';
import type { GlobalFlags } from '../output.js';
import { unknownCommand } from '../suggest.js';
import type { PipefitterError } from '../../errors.js';

/** Our own flags, accepted anywhere in a pipework-style command line. */
const OWN_FLAGS = new Set([
  '--json',
  '--quiet',
  '-q',
  '--dry-run',
  '--replace',
  '--allow-host-namespace',
  '--allow-duplicate-address',
]);

/** Is this command line a pipework form rather than one of pipefitter's subcommands? */
export const isPipeworkForm = (argv: readonly string[], commands: ReadonlySet<string>): boolean => {
  const first = argv.find((a) => !OWN_FLAGS.has(a));
  if (first === undefined) return false;
  if (first === '--wait' || first === '--direct-phys') return true;
  if (first === 'route' || first === 'rule' || first === 'tc') return true;
  return !first.startsWith('-') && !commands.has(first);
};

/**
 * A line that looks like a pipework form but whose first word is a near miss of a subcommand and
 * that does not parse as pipework: the "did you mean" refusal (see ../suggest.ts).
 */
export const mistypedCommand = (
  argv: readonly string[],
  commands: ReadonlySet<string>,
): PipefitterError | undefined => {
  const first = argv.find((a) => !OWN_FLAGS.has(a));
  if (first === undefined || first === 'route' || first === 'rule' || first === 'tc') return undefined;
  return unknownCommand(
    first,
    argv.filter((a) => !OWN_FLAGS.has(a)),
    commands,
  );
};

export const runCompat = async (argv: readonly string[]): Promise<void> => {
  // After `route|rule|tc GUEST` every word belongs to ip or tc; our flags stand before that.
  const flags: GlobalFlags & {
    dryRun?: boolean;
    replace?: boolean;
    allowHostNamespace?: boolean;
    allowDuplicateAddress?: boolean;
  } = {};
  const rest: string[] = [];
  for (const w of argv) {
    const passthroughTail =
      rest.length >= 2 && (rest[0] === 'route' || rest[0] === 'rule' || rest[0] === 'tc');
    if (!passthroughTail && OWN_FLAGS.has(w)) {
      if (w === '--json') Object.assign(flags, { json: true });
      else if (w === '--quiet' || w === '-q') Object.assign(flags, { quiet: true });
      else if (w === '--dry-run') Object.assign(flags, { dryRun: true });
      else if (w === '--allow-host-namespace') Object.assign(flags, { allowHostNamespace: true });
      else if (w === '--allow-duplicate-address') Object.assign(flags, { allowDuplicateAddress: true });
      else Object.assign(flags, { replace: true });
      continue;
    }
    rest.push(w);
  }
  const cmd = parsePipework(rest);
  if (cmd.kind === 'wait') {
    const { waitForInterface } = await import('../../api/wait.js');
    const r = await waitForInterface({ ifname: cmd.ifname });
    if (flags.json) printWaited(undefined, cmd.ifname, r.waitedMs);
    return;
  }
  const { runPipework } = await import('../../api/compat.js');
  const o = await runPipework(
    cmd,
    {
      dryRun: flags.dryRun,
      replace: flags.replace,
      json: flags.json,
      allowHostNamespace: flags.allowHostNamespace,
      allowDuplicateAddress: flags.allowDuplicateAddress,
    },
    rest,
  );
  if (cmd.kind !== 'attach') return printPassthrough(cmd.kind, o, flags);
  printOutcome('attach', o, flags, `${o.targets[0]?.label ?? ''} ${cmd.request.iface.ifname}`);
};

export const COMPAT_HELP = `pipework forms (run verbatim as "pipefitter <same arguments>") and their explicit equivalents:

  pipefitter br1 web 192.0.2.10/24@192.0.2.1
      = pipefitter attach web --bridge br1 --ip 192.0.2.10/24 --gateway 192.0.2.1
        (an existing bridge, or a missing name starting with "br": veth into the bridge, made if missing;
         the host side is named v<ifname>pl<pid> as pipework did, or -l NAME)
  pipefitter eth3 -i lan0 web 198.51.100.7/24 02:00:00:00:00:07
      = pipefitter attach web --macvlan eth3 --mode bridge --ifname lan0 --ip 198.51.100.7/24 --mac 02:00:00:00:00:07
        (an existing non-bridge interface: macvlan on it)
  pipefitter eth3 web 198.51.100.7/24 U:web@10
      = macvlan on eth3.10 (made if missing, shared), MAC derived from the seed "web" as pipework did
  pipefitter mac:02:aa:bb:cc:dd:ee web 192.0.2.10/24
      = the host interface with that MAC
  pipefitter -a 6 ...            the address must be IPv6 (default: either)
  pipefitter br1 web dhcp | udhcpc[-f][:opts] | dhclient[-f][:opts] | dhcpcd[:opts]
      = pipefitter attach web --bridge br1 --dhcp CLIENT [--dhcp-foreground] [--dhcp-option OPT...]
  pipefitter --direct-phys eth2 web 203.0.113.2/30
      = pipefitter attach web --phys eth2 --ip 203.0.113.2/30
  pipefitter route web add 198.51.100.0/24 via 192.0.2.254     ip route … inside web
  pipefitter rule web add from 192.0.2.10 table 100             ip rule … inside web
  pipefitter tc web qdisc add dev eth1 root tbf rate 1mbit burst 32kbit latency 400ms
  pipefitter route web [show]  |  rule web  |  tc web -s qdisc   print what ip/tc print (--json: their -j output)
      (a read — show, list, ls, get, or no verb — only runs and prints; any other verb is a change:
       all or nothing, an add undone by del; "pipefitter --json route web …", not "… --json")
  pipefitter --wait [-i eth1]
      = pipefitter wait -i eth1 (inside the container: returns once eth1 is up and configured)

Full syntax:
${PIPEWORK_SYNTAX.map((l) => `  ${l}`).join('\n')}

Unlike pipework: bad input exits 2 with the field and the fix, and nothing is touched; a failed
step rolls everything back; re-running is harmless; "detach" undoes; DHCP clients run in a private
mount namespace and never rewrite the host's /etc/resolv.conf; VLANs on Linux bridge ports work.
`;
