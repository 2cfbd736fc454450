#!/usr/bin/env node
// Bootstrap for a fresh machine, with no dependencies of its own (it runs before `npm ci`):
//   node scripts/ensure.mjs demo|test|ci|bench
// installs the npm dependencies when node_modules is missing, and, when run as root on a
// Debian-like system, the system packages that mode needs. It prints what it installs.
// PF_NO_INSTALL=1 turns installing off (tests that need a missing tool then skip, saying why).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'test';

// command that must exist -> Debian package that provides it
const BASE = { ip: 'iproute2', nsenter: 'util-linux', sysctl: 'procps', arping: 'arping' };
const NEEDS = {
  demo: { ...BASE, ping: 'iputils-ping' },
  test: {
    ...BASE,
    busybox: 'busybox-static',
    iptables: 'iptables',
    dockerd: 'docker.io',
    'iptables-save': 'iptables',
  },
  bench: {
    ...BASE,
    strace: 'strace',
    '/usr/bin/time': 'time',
    '/usr/lib/cni/bridge': 'containernetworking-plugins',
    '/usr/lib/cni/host-local': 'containernetworking-plugins',
    busybox: 'busybox-static',
    dockerd: 'docker.io',
    iptables: 'iptables',
    'iptables-save': 'iptables',
  },
  ci: {
    ...BASE,
    busybox: 'busybox-static',
    iptables: 'iptables',
    dockerd: 'docker.io',
    'qemu-system-x86_64': 'qemu-system-x86',
    'dpkg-deb': 'dpkg',
    depmod: 'kmod',
    xz: 'xz-utils',
    'ovs-vswitchd': 'openvswitch-switch',
  },
};

const say = (s) => process.stderr.write(`ensure: ${s}\n`);
const has = (cmd) =>
  cmd.startsWith('/')
    ? existsSync(cmd)
    : spawnSync('sh', [
        '-c',
        `command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]`,
        'sh',
        cmd,
      ]).status === 0;

const needs = NEEDS[mode];
if (!needs) {
  say(`unknown mode "${mode}"; use demo, test, ci or bench`);
  process.exit(2);
}

const missing = [
  ...new Set(
    Object.entries(needs)
      .filter(([cmd]) => !has(cmd))
      .map(([, pkg]) => pkg),
  ),
];
if (missing.length) {
  const canInstall = process.getuid?.() === 0 && has('apt-get') && process.env.PF_NO_INSTALL !== '1';
  if (canInstall) {
    say(`installing system packages: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      stdio: 'inherit',
      env,
    });
  } else {
    say(
      `missing system packages: ${missing.join(' ')} (install them with apt-get as root; tests that need them will skip)`,
    );
  }
}

if (!existsSync(resolve(root, 'node_modules/.package-lock.json'))) {
  say('installing npm dependencies (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
if (mode === 'demo' && !existsSync(resolve(root, 'dist/cli/main.js'))) {
  say('building (npm run build)');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}
