#!/usr/bin/env node
// Bootstrap for a fresh machine, with no dependencies of its own (it runs before `npm ci`):
//   node scripts/ensure.mjs demo|test|bench|vm|ci
//   node scripts/ensure.mjs --list MODE     print the packages MODE needs (JSON), install nothing
// installs the npm dependencies when node_modules is missing, and, when run as root on a
// Debian-like system, the system packages that mode needs. It prints what it installs.
//
// What each mode needs comes from the one tool table, src/tools.json (see docs/ARCHITECTURE.md):
// a mode installs the package of every tool whose `usedBy` names it; `ci` is `test` and `vm`
// together (what .ci/run runs). PF_NO_INSTALL=1 turns installing off: a test that needs a missing
// tool then fails, naming its package.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const listOnly = process.argv[2] === '--list';
const mode = (listOnly ? process.argv[3] : process.argv[2]) ?? 'test';

const MODES = { demo: ['demo'], test: ['test'], bench: ['bench'], vm: ['vm'], ci: ['test', 'vm'] };
const users = MODES[mode];
const say = (s) => process.stderr.write(`ensure: ${s}\n`);
if (!users) {
  say(`unknown mode "${mode}"; use ${Object.keys(MODES).join(', ')}`);
  process.exit(2);
}

const { tools } = JSON.parse(readFileSync(join(root, 'src/tools.json'), 'utf8'));

// Where a command is found: PATH, and the sbin directories a non-root PATH may lack.
const DIRS = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(
  Boolean,
);
const executable = (p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const has = (cmd) => (cmd.startsWith('/') ? executable(cmd) : DIRS.some((d) => executable(join(d, cmd))));

const wanted = tools.filter((t) => t.pkg && (t.usedBy ?? []).some((u) => users.includes(u)));
if (listOnly) {
  process.stdout.write(`${JSON.stringify([...new Set(wanted.map((t) => t.pkg))].sort())}\n`);
  process.exit(0);
}
const missing = wanted.filter((t) => !has(t.cmd));
const packages = [...new Set(missing.map((t) => t.pkg))];
if (packages.length) {
  const what = packages
    .map(
      (p) =>
        `${p} (${missing
          .filter((t) => t.pkg === p)
          .map((t) => t.cmd)
          .join(', ')})`,
    )
    .join(' ');
  const canInstall = process.getuid?.() === 0 && has('apt-get') && process.env.PF_NO_INSTALL !== '1';
  if (canInstall) {
    say(`installing system packages for "${mode}": ${what}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // another apt (unattended upgrades, a second checkout's ensure) may hold dpkg's lock: wait for it
    const lock = ['-o', 'DPkg::Lock::Timeout=300'];
    execFileSync('apt-get', [...lock, 'update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...packages], {
      stdio: 'inherit',
      env,
    });
    const still = missing.filter((t) => !has(t.cmd)).map((t) => t.cmd);
    if (still.length) {
      say(`still missing after apt-get install: ${still.join(' ')}`);
      process.exit(1);
    }
  } else {
    say(
      `missing system packages for "${mode}": ${what}; install them with \`apt-get install ${packages.join(' ')}\` as root` +
        (process.env.PF_NO_INSTALL === '1' ? ' (PF_NO_INSTALL=1)' : '') +
        (mode === 'test' || mode === 'ci' ? '; the tests that start them will fail' : ''),
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
