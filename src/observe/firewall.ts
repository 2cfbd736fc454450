/** br_netfilter and the FORWARD chain, read once for the host (see FirewallState). */
import { readFile } from 'node:fs/promises';
import type { FirewallState } from '../model/observed.js';
import { HOST } from '../model/netns.js';
import type { Runner } from '../exec/runner.js';

const sysctlOn = async (name: string): Promise<boolean> => {
  try {
    return (await readFile(`/proc/sys/net/bridge/${name}`, 'utf8')).trim() === '1';
  } catch {
    return false; // br_netfilter not loaded: bridged frames never see iptables
  }
};

export const BRIDGE_RULE_TAG = 'pf1:bridge=';

/** Parse `iptables -S` output for what matters here. */
export const parseIptablesS = (
  text: string,
  family: 4 | 6,
): Pick<FirewallState, 'bridgeRules'> & { drop: boolean; dockerUser: boolean } => {
  const lines = text.split('\n');
  const rules: FirewallState['bridgeRules'][number][] = [];
  for (const l of lines) {
    const m = /^-A (\S+) .*--comment "?pf1:bridge=([^"\s]+)"?/.exec(l);
    if (m) rules.push({ family, chain: m[1] as string, bridge: m[2] as string });
  }
  return {
    drop: lines.some((l) => /^-P FORWARD (DROP|REJECT)\b/.test(l)),
    dockerUser: lines.some((l) => l === '-N DOCKER-USER'),
    bridgeRules: rules,
  };
};

export const observeFirewall = async (runner: Runner): Promise<FirewallState> => {
  const [v4, v6] = await Promise.all([
    sysctlOn('bridge-nf-call-iptables'),
    sysctlOn('bridge-nf-call-ip6tables'),
  ]);
  const brNetfilter = { 4: v4, 6: v6 };
  const none = { 4: false, 6: false };
  if (!v4 && !v6) return { brNetfilter, forwardDrop: none, dockerUser: none, bridgeRules: [] };
  const read = async (family: 4 | 6) => {
    if (!brNetfilter[family]) return { drop: false, dockerUser: false, bridgeRules: [], failed: undefined };
    const r = await runner.run([family === 4 ? 'iptables' : 'ip6tables', '-w', '-S'], { netns: HOST });
    if (r.failed)
      return {
        drop: false,
        dockerUser: false,
        bridgeRules: [],
        failed: r.stderr.trim().split('\n')[0] ?? 'failed',
      };
    return { ...parseIptablesS(r.stdout, family), failed: undefined };
  };
  const [a, b] = await Promise.all([read(4), read(6)]);
  return {
    brNetfilter,
    forwardDrop: { 4: a.drop, 6: b.drop },
    dockerUser: { 4: a.dockerUser, 6: b.dockerUser },
    bridgeRules: [...a.bridgeRules, ...b.bridgeRules],
    unknown: a.failed ?? b.failed,
  };
};
