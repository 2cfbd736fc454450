/** Shapes shared by the driver, the in-sandbox runner and the peers. */

/** A container of a scenario: a process in its own netns (plain) or a Docker container. */
export interface Target {
  readonly index: number;
  /** c0, c1, …: the recipe key, the Docker container name, pipework's guest name. */
  readonly name: string;
  /** Host PID of a process in its netns (0 for a named netns: see `netns`). */
  readonly pid: number;
  /** The netns as a path: /proc/PID/ns/net, or /run/netns/NAME for a named one. */
  readonly netns: string;
  /** How pipefitter names it: pid:N or docker:NAME. */
  readonly ref: string;
  /** The eth1 address this container gets, without prefix. */
  readonly address: string;
}

/** Where a scenario attaches: one pre-made bridge with the gateway address on it. */
export interface Net {
  readonly bridge: string;
  readonly subnet: string;
  readonly prefix: number;
  readonly gateway: string;
  /** First address handed out (container 0); CNI's rangeStart. */
  readonly first: string;
  readonly last: string;
}

/** What every tool of a run may use. */
export interface Env {
  readonly id: string;
  readonly tmp: string;
  /** PIPEFITTER_STATE_DIR for pipefitter runs. */
  readonly stateDir: string;
  readonly dockerHost?: string;
  readonly pipework?: string;
}

export interface Timing {
  readonly scenario: string;
  readonly n: number;
  readonly tool: string;
  readonly runsMs: number[];
  medianMs: number;
  readonly note?: string;
}

export interface ProcCount {
  readonly scenario: string;
  readonly n: number;
  readonly tool: string;
  /** Distinct PIDs that called execve, the tool processes themselves included. */
  readonly processes: number;
  /** The same without the tool processes the runner started (what the tool spawned). */
  readonly spawned: number;
  /** pipefitter's own `processes` from --json, when it reports one. */
  readonly selfReported?: number;
  /** Of those, the ones that made the change (`changeProcesses`; the rest observed). */
  readonly selfChange?: number;
}

export interface Memory {
  readonly what: string;
  readonly n: number;
  readonly peakKb: number;
}

export interface Skip {
  readonly scenario: string;
  readonly tool: string;
  readonly reason: string;
}

export interface Results {
  timings: Timing[];
  processes: ProcCount[];
  memory: Memory[];
  skipped: Skip[];
  problems: string[];
}

export interface DockerInfo {
  readonly dockerHost: string;
  readonly dir: string;
  readonly containers: readonly { readonly name: string; readonly pid: number }[];
}

/** What the driver hands to the in-sandbox runner (bench/inner.ts) in a JSON file. */
export interface InnerConfig {
  readonly id: string;
  readonly sandbox: string;
  readonly tmp: string;
  readonly resultsFile: string;
  readonly scenarios: readonly string[];
  readonly quick: boolean;
  readonly pipework: { readonly path: string } | { readonly skip: string };
  readonly docker?: DockerInfo | { readonly skip: string };
}
