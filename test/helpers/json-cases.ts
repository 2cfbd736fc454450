/**
 * Every command line form, each run with --json once to succeed and once to fail
 * (test/integration/json-output.test.ts): its stdout must be one JSON document, nothing else.
 * test/unit/cli/json-commands.test.ts checks this list names every command commander knows, so a
 * new command without a case here (and so without shown --json support) fails the unit suite.
 */

/** What a case runs in: two sandbox containers, a bridge name and a recipe file. */
export interface JsonCaseContext {
  readonly a: string;
  readonly b: string;
  readonly bridge: string;
  readonly recipe: string;
  /** An empty temporary directory the test removes (`cni install --bin-dir`). */
  readonly dir: string;
}

export interface JsonCase {
  /** The command as commander names it ("ipam ls"), or a form outside commander ("route", "pipework"). */
  readonly command: string;
  readonly ok: (c: JsonCaseContext) => string[];
  readonly fail: (c: JsonCaseContext) => string[];
  /** The exit code of the failing run. @default 2 */
  readonly failCode?: number;
}

/** Forms that are not commander commands: pipework's syntax and the pass-through commands. */
export const NON_COMMANDER = ['route', 'rule', 'tc', 'pipework'] as const;

const NOPID = 'pid:999999999';

/** In order: attach first, detach after the commands that read what it made. */
export const JSON_CASES: readonly JsonCase[] = [
  {
    command: 'attach',
    ok: (c) => ['attach', c.a, '--bridge', c.bridge, '--ip', '192.0.2.10/24'],
    fail: (c) => ['attach', c.a, '--ip', '192.0.2.10/24'],
  },
  {
    command: 'link',
    ok: (c) => ['link', `${c.a}:eth2`, `${c.b}:eth2`, '--ip', '192.0.2.21/30', '--peer-ip', '192.0.2.22/30'],
    fail: (c) => ['link', `${c.a}:eth3`, `${c.a}:eth4`],
  },
  { command: 'show', ok: (c) => ['show', c.a], fail: () => ['show', NOPID] },
  {
    command: 'wait',
    ok: (c) => ['wait', c.a, '-i', 'eth1', '--timeout', '5'],
    fail: () => ['wait', NOPID, '-i', 'eth1', '--timeout', '1'],
  },
  { command: 'route', ok: (c) => ['route', c.a, 'show'], fail: () => ['route', NOPID, 'show'] },
  { command: 'rule', ok: (c) => ['rule', c.a, 'show'], fail: () => ['rule', NOPID, 'show'] },
  { command: 'tc', ok: (c) => ['tc', c.a, 'qdisc', 'show'], fail: () => ['tc', NOPID, 'qdisc', 'show'] },
  {
    command: 'pipework',
    ok: (c) => ['--dry-run', c.bridge, '-i', 'eth5', c.b, '192.0.2.30/24'],
    fail: (c) => [c.bridge, c.b],
  },
  {
    // the attach above is in place: nothing to try (exit 0, one document)
    command: 'try attach',
    ok: (c) => ['try', 'attach', c.a, '--bridge', c.bridge, '--ip', '192.0.2.10/24', '--timeout', '1'],
    fail: (c) => ['try', 'attach', c.a, '--bridge', c.bridge, '--timeout', 'soon'],
  },
  { command: 'detach', ok: (c) => ['detach', c.a], fail: (c) => ['detach', c.a, '--ifname', 'lo'] },
  { command: 'validate', ok: (c) => ['validate', c.recipe], fail: () => ['validate', '/nonexistent.yaml'] },
  { command: 'graph', ok: (c) => ['graph', c.recipe], fail: (c) => ['graph', c.recipe, '--format', 'png'] },
  { command: 'plan', ok: (c) => ['plan', c.recipe], fail: () => ['plan', '/nonexistent.yaml'] },
  { command: 'apply', ok: (c) => ['apply', c.recipe], fail: () => ['apply', '/nonexistent.yaml'] },
  { command: 'status', ok: (c) => ['status', c.recipe], fail: () => ['status', '/nonexistent.yaml'] },
  {
    // applied above: nothing to try
    command: 'try apply',
    ok: (c) => ['try', 'apply', c.recipe, '--timeout', '1'],
    fail: () => ['try', 'apply', '/nonexistent.yaml'],
  },
  { command: 'destroy', ok: (c) => ['destroy', c.recipe], fail: () => ['destroy', '/nonexistent.yaml'] },
  { command: 'ipam ls', ok: () => ['ipam', 'ls'], fail: () => ['ipam', 'ls', 'extra'] },
  {
    command: 'ipam release',
    ok: () => ['ipam', 'release', '--recipe', 'pf-no-such-recipe'],
    fail: () => ['ipam', 'release'],
  },
  { command: 'ipam gc', ok: () => ['ipam', 'gc'], fail: () => ['ipam', 'gc', 'extra'] },
  { command: 'doctor', ok: () => ['doctor'], fail: () => ['doctor', 'extra'] },
  {
    command: 'cni install',
    ok: (c) => ['cni', 'install', '--bin-dir', c.dir],
    fail: () => ['cni', 'install', '--bin-dir', 'relative/dir'],
  },
  {
    // stopped by its idle timeout: one document with what it served
    command: 'cni serve',
    ok: (c) => ['cni', 'serve', '--socket', `${c.dir}/cni.sock`, '--idle-timeout', '200ms'],
    fail: () => ['cni', 'serve', '--socket', 'relative/cni.sock'],
  },
  {
    // --once ends like any command, with one document (running on, it prints one object a line)
    command: 'watch',
    ok: () => ['watch', '--once', '--report-only'],
    fail: () => ['watch', '--interval', 'soon'],
  },
  { command: 'completion', ok: () => ['completion', 'bash'], fail: () => ['completion', 'tcsh'] },
  { command: 'help', ok: () => ['help', 'attach'], fail: () => ['--no-such-flag'] },
];
