/** br_netfilter and the FORWARD chain, read once for the host (see FirewallState). */
import { readFileSync } from 'node:fs';
import type { FirewallState } from '../model/observed.js';
import { HOST } from '../model/netns.js';
import type { Runner } from '../exec/runner.js';

// read synchronously (a /proc/sys file never blocks), so that iptables starts at once
const sysctlOn = (name: string): boolean => {
  try {
    return readFileSync(`/proc/sys/net/bridge/${name}`, 'utf8').trim() === '1';
  } catch {
    return false; // br_netfilter not loaded: bridged frames never see iptables
  }
};

export const BRIDGE_RULE_TAG = 'pf1:bridge=';

/** Parse `iptables -S` output for what matters here. */
export const parseIptablesS = (
  text: string,
  family: 4 | 6,
): Pick<FirewallState, 'bridgeRules'> & {
  drop: boolean;
  dockerUser: boolean;
  natRules: NonNullable<FirewallState['natRules']>[number][];
} => {
  const lines = text.split('\n');
  const rules: FirewallState['bridgeRules'][number][] = [];
  const natRules: NonNullable<FirewallState['natRules']>[number][] = [];
  for (const l of lines) {
    const m = /^-A (\S+) .*--comment "?pf1:bridge=([^"\s]+)"?/.exec(l);
    if (m) rules.push({ family, chain: m[1] as string, bridge: m[2] as string });
    const n = /^-A (\S+) .*--comment "?pf1:nat=([^/"\s]+)\/([^/"\s]+)\/(out|in)"?/.exec(l);
    if (n && family === 4)
      natRules.push({ chain: n[1]!, recipe: n[2]!, bridge: n[3]!, dir: n[4] as 'out' | 'in' });
  }
  return {
    drop: lines.some((l) => /^-P FORWARD (DROP|REJECT)\b/.test(l)),
    dockerUser: lines.some((l) => l === '-N DOCKER-USER'),
    bridgeRules: rules,
    natRules,
  };
};

/** Whether bridged frames pass through ip(6)tables now (br_netfilter's sysctls), by family. */
export const brNetfilterNow = (): Record<4 | 6, boolean> => ({
  4: sysctlOn('bridge-nf-call-iptables'),
  6: sysctlOn('bridge-nf-call-ip6tables'),
});

export const observeFirewall = async (runner: Runner, routed = false): Promise<FirewallState> => {
  const brNetfilter = brNetfilterNow();
  const nothing = { drop: false, dockerUser: false, bridgeRules: [], natRules: [], failed: undefined };
  // With `routed`, IPv4 is read even without br_netfilter: routed traffic (a recipe's NAT) meets
  // the FORWARD policy whatever bridges do. Without iptables, nothing of it drops there.
  const read = async (family: 4 | 6) => {
    if (!brNetfilter[family] && !(routed && family === 4)) return nothing;
    const r = await runner.run([family === 4 ? 'iptables' : 'ip6tables', '-w', '-S'], { netns: HOST });
    if (r.failed) {
      // routed only, and no iptables at all: no iptables FORWARD policy drops anything
      if (!brNetfilter[family] && r.reason === 'tool-missing') return nothing;
      const why = r.reason === 'tool-missing' ? 'not installed' : r.stderr.trim().split('\n')[0] || 'failed';
      return { ...nothing, failed: why };
    }
    return { ...parseIptablesS(r.stdout, family), failed: undefined };
  };
  const [a, b] = await Promise.all([read(4), read(6)]);
  return {
    brNetfilter,
    forwardDrop: { 4: a.drop, 6: b.drop },
    dockerUser: { 4: a.dockerUser, 6: b.dockerUser },
    bridgeRules: [...a.bridgeRules, ...b.bridgeRules],
    natRules: a.natRules,
    ...(a.failed !== undefined || b.failed !== undefined
      ? {
          unknown: {
            ...(a.failed !== undefined ? { 4: a.failed } : {}),
            ...(b.failed !== undefined ? { 6: b.failed } : {}),
          },
        }
      : {}),
  };
};
