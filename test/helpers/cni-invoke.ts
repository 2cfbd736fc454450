/**
 * The CNI plugin run as a runtime runs it (SPEC.md section 2): the built entry
 * (dist/cli-bundle/cni.js) with CNI_* in the environment and the configuration on stdin, stdout
 * parsed. For tests of the link kinds (test/integration/cni-kinds.test.ts, test/vm/cni-kinds.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { hostLocalLeases, REFERENCE } from './cni.js';
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

/** Run the plugin; variables given as undefined are not set. */
export const runCni = async (env: Record<string, string | undefined>, stdin: string): Promise<CniRun> => {
  assert.ok(existsSync(ENTRY), 'dist/ is missing: run `npm run build` first (npm test does)');
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  const r = await execa('node', [ENTRY], { input: stdin, env: clean, extendEnv: false, reject: false });
  const stdout = String(r.stdout);
  let out: Record<string, unknown> | undefined;
  if (stdout.trim() !== '') out = JSON.parse(stdout) as Record<string, unknown>;
  return { code: r.exitCode ?? -1, out, stdout, stderr: String(r.stderr) };
};

/** An error run: exit non-zero, the spec's error object with `code`, `msg` matching, a fix in `details`. */
export const expectError = (r: CniRun, code: number, msg: RegExp, what: string): void => {
  assert.notEqual(r.code, 0, `${what}: exit non-zero`);
  assert.equal(r.out?.code, code, `${what}: code ${code}: ${r.stdout}\n${r.stderr}`);
  assert.match(String(r.out?.msg), msg, `${what}: ${r.stdout}`);
  assert.equal(typeof r.out?.cniVersion, 'string', what);
  assert.ok(r.out?.details, `${what}: a fix is given: ${r.stdout}`);
};

/** A success: exit 0, and the run's output in the message when not. */
export const expectOk = (r: CniRun, what: string): void =>
  assert.equal(r.code, 0, `${what}: ${r.stdout}\n${r.stderr}`);

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
        ipam: {
          type: 'host-local',
          subnet: '198.51.100.0/24',
          gateway: '198.51.100.1',
          routes: [{ dst: '203.0.113.0/24' }],
          dataDir,
        },
        ...extra,
      }),
    env: (command, netns, containerId) => ({
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: netns === undefined ? undefined : `/run/netns/${netns}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: REFERENCE,
      PIPEFITTER_STATE_DIR: process.env.PIPEFITTER_STATE_DIR,
      PIPEFITTER_RUN_DIR: process.env.PIPEFITTER_RUN_DIR,
      PIPEFITTER_BACKEND: process.env.PIPEFITTER_BACKEND,
      OVS_RUNDIR: process.env.OVS_RUNDIR,
      PATH: process.env.PATH,
    }),
    leases: () => hostLocalLeases(dataDir, name),
  };
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
