/**
 * The programs pipefitter and its tests start, with their Debian packages: one table,
 * src/tools.json, also read by scripts/ensure.mjs (which installs them) and the tests. Here it
 * gives the "not installed" advice for any tool, and doctor's list.
 */
import table from './tools.json' with { type: 'json' };

/** Who else starts a tool besides pipefitter itself: which `scripts/ensure.mjs` mode installs it. */
export type ToolUser = 'demo' | 'test' | 'bench' | 'vm';

export interface Tool {
  /** The name looked up on PATH, or an absolute path (`/usr/lib/cni/bridge`). */
  readonly cmd: string;
  /** The Debian package that provides it; null for what ensure does not install (node, npm). */
  readonly pkg: string | null;
  /** Set when pipefitter itself may start it: what for. */
  readonly feature?: string | undefined;
  /** pipefitter cannot work without it. @default false */
  readonly required?: boolean | undefined;
  /** In every Debian installation (Essential or required priority): doctor does not list it. @default false */
  readonly base?: boolean | undefined;
  /** Who else starts it. @default [] */
  readonly usedBy?: readonly ToolUser[] | undefined;
}

export const TOOLS: readonly Tool[] = table.tools as readonly Tool[];

const BIN_DIRS = /^\/(?:usr\/)?(?:local\/)?s?bin\//;

/**
 * The table's entry for a command as it was started: by name, by absolute path, or (for a path
 * into a bin directory) by its base name. `/usr/lib/cni/bridge` is not iproute2's `bridge`.
 * @example toolEntry('/usr/sbin/nft')?.pkg // 'nftables'
 */
export const toolEntry = (cmd: string): Tool | undefined =>
  TOOLS.find((t) => t.cmd === cmd) ??
  (BIN_DIRS.test(cmd) ? TOOLS.find((t) => t.cmd === cmd.replace(/^.*\//, '')) : undefined);

/** The tools pipefitter itself may start (those with a feature). */
export const runtimeTools = (): readonly Tool[] => TOOLS.filter((t) => t.feature !== undefined);

/**
 * How to install tools, from the table. Several commands: any one of them would do (`--dhcp`
 * with no client installed).
 * @example installHint(['nft']) // 'apt-get install nftables (needed for recipe NAT and published ports)'
 */
export const installHint = (cmds: readonly string[]): string => {
  const tools = cmds.map((c) => toolEntry(c));
  const pkgs = [...new Set(tools.map((t) => t?.pkg).filter((p): p is string => typeof p === 'string'))];
  // several alternatives: what they are for in common ("DHCP"), without each one's detail
  const features = [
    ...new Set(
      tools
        .map((t) => (cmds.length > 1 ? t?.feature?.replace(/\s*[:(].*$/, '') : t?.feature))
        .filter((f): f is string => f !== undefined),
    ),
  ];
  const [first, ...others] = pkgs;
  const install =
    first === undefined
      ? 'install the package that provides it'
      : `apt-get install ${first}${others.length ? ` (or ${others.join(', or ')})` : ''}`;
  return `${install}${features.length ? ` (needed for ${features.join('; ')})` : ''}`;
};

/**
 * The "not installed" advice: what is missing and its package.
 * @example missingToolHint(['nft']) // 'nft is not installed: apt-get install nftables (needed for recipe NAT and published ports)'
 */
export const missingToolHint = (cmds: readonly string[]): string =>
  `${cmds.length === 1 ? `${cmds[0] ?? '?'} is not installed` : `none of ${cmds.join(', ')} is installed`}: ${installHint(cmds)}`;
