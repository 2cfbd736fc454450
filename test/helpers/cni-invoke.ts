/**
 * The CNI plugin run as a runtime runs it (SPEC.md section 2): the built entry
 * (dist/cli-bundle/cni.js, what `pipefitter cni install` launches) with CNI_* in the environment
 * and the configuration on stdin, the result or error object read from stdout. For the tests
 * that invoke the plugin directly (test/integration/cni.test.ts, cni-ipam.test.ts,
 * cni-kinds.test.ts, test/vm/cni-kinds.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { hostLocalIpam, hostLocalLeases, REFERENCE } from './cni.js';
import { ipJson } from './read-back.js';
import type { Ns } from './read-back.js';
import { runId } from './sandbox.js';
import type { Sandbox } from './sandbox.js';
import { needTools } from './tools.js';

export const ENTRY = resolve(import.meta.dirname, '../../dist/cli-bundle/cni.js');

export interface CniRun {
  readonly code: number;
  /** stdout parsed (undefined when empty). */
  readonly out: Record<string, unknown> | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run the plugin with `env` (variables given as undefined are not set) and `extra`, and nothing
 * else of this process's environment (pass harnessEnv() for the state directory and the backend).
 */
export const runCni = async (
  env: Record<string, string | undefined>,
  stdin: string,
  extra: Record<string, string> = {},
): Promise<CniRun> => {
  assert.ok(existsSync(ENTRY), 'dist/ is missing: run `npm run build` first (npm test does)');
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  const r = await execa('node', [ENTRY], {
    input: stdin,
    env: { ...clean, ...extra },
    extendEnv: false,
    reject: false,
  });
  const stdout = String(r.stdout);
  let out: Record<string, unknown> | undefined;
  if (stdout.trim() !== '') out = JSON.parse(stdout) as Record<string, unknown>; // one document, nothing else
  return { code: r.exitCode ?? -1, out, stdout, stderr: String(r.stderr) };
};

/**
 * An error run: exit non-zero and the spec's error object (cniVersion, `code`, `msg` matching, and
 * the fix in `details` unless `fix` is false) on stdout.
 */
export const expectError = (r: CniRun, code: number, msg: RegExp, what: string, fix = true): void => {
  assert.notEqual(r.code, 0, `${what}: exit non-zero`);
  assert.equal(r.out?.code, code, `${what}: code ${code}: ${r.stdout}\n${r.stderr}`);
  assert.match(String(r.out?.msg), msg, `${what}: ${r.stdout}`);
  assert.equal(typeof r.out?.cniVersion, 'string', what);
  if (fix) assert.ok(r.out?.details, `${what}: a fix is given: ${r.stdout}`);
};

/** A success: exit 0, and the run's output in the message when not. */
export const expectOk = (r: { code: number; stdout: string; stderr: string }, what: string): void =>
  assert.equal(r.code, 0, `${what}: ${r.stdout}\n${r.stderr}`);

/**
 * What the harness gives this process that the plugin needs as well: the state and run
 * directories, the backend of the lane, Open vSwitch's run directory, PATH.
 */
export const harnessEnv = (): Record<string, string | undefined> => ({
  PIPEFITTER_STATE_DIR: process.env.PIPEFITTER_STATE_DIR,
  PIPEFITTER_RUN_DIR: process.env.PIPEFITTER_RUN_DIR,
  PIPEFITTER_BACKEND: process.env.PIPEFITTER_BACKEND,
  OVS_RUNDIR: process.env.OVS_RUNDIR,
  PATH: process.env.PATH,
});

/**
 * A runtime's environment for COMMAND on the attachment (CONTAINERID, eth0) in /run/netns/NETNS
 * (CNI_NETNS unset when undefined), CNI_PATH the reference plugins, with harnessEnv().
 */
export const cniEnv = (
  command: string,
  netns: string | undefined,
  containerId: string,
): Record<string, string | undefined> => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: containerId,
  CNI_NETNS: netns === undefined ? undefined : `/run/netns/${netns}`,
  CNI_IFNAME: 'eth0',
  CNI_PATH: REFERENCE,
  ...harnessEnv(),
});

export interface AddResult {
  cniVersion: string;
  interfaces: { name: string; mac?: string; mtu?: number; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

export interface KindNet {
  readonly name: string;
  readonly dataDir: string;
  /** The configuration: `keys` say how to attach; host-local hands out 198.51.100.0/24. */
  readonly conf: (keys: Record<string, unknown>, extra?: Record<string, unknown>) => string;
  readonly env: (
    command: string,
    netns: string | undefined,
    containerId: string,
  ) => Record<string, string | undefined>;
  readonly leases: () => Promise<string[]>;
}

/** A network for one test: its name, host-local's data directory (removed after the test). */
export const kindNet = async (t: { after: (fn: () => unknown) => void }, sb: Sandbox): Promise<KindNet> => {
  await needTools(`${REFERENCE}/host-local`);
  const dataDir = await mkdtemp(`/tmp/pf-${runId}-cni-ipam-`);
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const name = `pf${sb.id}`;
  return {
    name,
    dataDir,
    conf: (keys, extra = {}) =>
      JSON.stringify({
        cniVersion: '1.1.0',
        name,
        type: 'pipefitter',
        ...keys,
        ipam: hostLocalIpam(dataDir),
        ...extra,
      }),
    env: cniEnv,
    leases: () => hostLocalLeases(dataDir, name),
  };
};

/**
 * DEL of each attachment ([netns, containerId]) with `conf` once the test ends, whatever it
 * left: a failed assertion must not leave leases or links (DEL is idempotent).
 */
export const delAfter = (
  t: { after: (fn: () => unknown) => void },
  n: Pick<KindNet, 'env'>,
  conf: string,
  attachments: readonly (readonly [string | undefined, string])[],
): void => {
  t.after(async () => {
    for (const [ns, id] of attachments) await runCni(n.env('DEL', ns, id), conf);
  });
};

/** ADD of each attachment ([netns, containerId]) with `conf`, each passing; DEL of them after the test. */
export const addAll = async (
  t: { after: (fn: () => unknown) => void },
  n: Pick<KindNet, 'env'>,
  conf: string,
  attachments: readonly (readonly [string, string])[],
): Promise<void> => {
  delAfter(t, n, conf, attachments);
  for (const [ns, id] of attachments) expectOk(await runCni(n.env('ADD', ns, id), conf), `ADD ${id}`);
};

/** One link as `ip -j -d link show` has it, with the fields these tests compare. */
export interface DetailedLink {
  readonly ifname: string;
  readonly ifindex: number;
  readonly mtu: number;
  readonly address: string;
  readonly flags: string[];
  readonly link?: string;
  readonly link_index?: number;
  readonly link_netnsid?: number;
  readonly master?: string;
  readonly linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

/** `ip -j -d link show dev NAME` in `ns`, or undefined when there is no such link. */
export const detailedLink = async (ns: Ns, name: string): Promise<DetailedLink | undefined> => {
  const all = (await ipJson(ns, ['-d', 'link', 'show'])) as DetailedLink[];
  return all.find((l) => l.ifname === name);
};
