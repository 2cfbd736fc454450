/**
 * Which program was not installed, from how a command failed. A missing tool shows up in
 * several ways, and each names a different program than the one started:
 * - started directly (execa): ENOENT for argv[0];
 * - behind a wrapper that execs it (`nsenter --net=PATH -- nft …`, `unshare --net -- tc …`):
 *   exit 127, `nsenter: failed to execute nft: No such file or directory`;
 * - a shell script (dash) that runs it: exit 127, `sh: 1: nft: not found` (`sh: 5: exec: nft: not found`);
 * - the DHCP runner (libexec/pipefitter-dhcp): exit 3, `pipefitter-dhcp: udhcpc is not installed`
 *   (or no client at all for `dhcp`), exit 4 when unshare is missing.
 */

/** How a command ended, as the runner saw it. */
export interface Ended {
  readonly exitCode: number | undefined;
  readonly stderr: string;
  /** The started file itself was not found (ENOENT). */
  readonly enoent: boolean;
}

const DHCP_CLIENTS = ['udhcpc', 'dhclient', 'dhcpcd'] as const;

/**
 * The programs that were not found (any one of several would have done: `--dhcp` with no client),
 * or undefined when the failure was something else.
 * @example notInstalled(['nsenter', '--net=/proc/1/ns/net', '--', 'nft', 'list'], { exitCode: 127, stderr: 'nsenter: failed to execute nft: No such file or directory', enoent: false }) // ['nft']
 */
export const notInstalled = (argv: readonly string[], e: Ended): string[] | undefined => {
  if (e.enoent) return argv[0] === undefined ? undefined : [argv[0]];
  const s = e.stderr;
  if (e.exitCode === 127) {
    const m =
      // util-linux wrappers (nsenter, unshare, setpriv) and env
      /failed to execute (\S+?): No such file or directory/.exec(s) ??
      /^env: '?([^':\s]+)'?: No such file or directory/m.exec(s) ??
      // bash: "…: line 29: nft: command not found"; dash: "sh: 1: nft: not found"
      /(?:^|: )([^:\s]+): command not found/m.exec(s) ??
      /^[^:\n]*: \d+: (?:exec: )?([^:\s]+): not found$/m.exec(s) ??
      // bash given a path that is not there
      /(?:^|: )(\/[^:\s]+): No such file or directory$/m.exec(s);
    if (m?.[1]) return [m[1]];
  }
  if (argv.some((a) => a.endsWith('/pipefitter-dhcp'))) {
    const one = /^pipefitter-dhcp: (\S+) is not installed$/m.exec(s);
    if (e.exitCode === 3 && one?.[1]) return [one[1]];
    if (e.exitCode === 3 && /^pipefitter-dhcp: no DHCP client installed/m.test(s)) return [...DHCP_CLIENTS];
    if (e.exitCode === 4 && /^pipefitter-dhcp: unshare \(util-linux\) is missing/m.test(s))
      return ['unshare'];
  }
  return undefined;
};
