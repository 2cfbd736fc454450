#!/usr/bin/env node
// Runs a command inside a VM that boots the pinned Debian kernel (scripts/vm/kernel.json) under
// qemu TCG, with this machine's root file system mounted read-only over 9p; exits with the
// command's exit code. Used by `npm run test:vm` for what this machine's kernel lacks.
//
//   node scripts/vm/run.mjs [options] [--] <command...>
//
// Options (before the command):
//   --timeout SEC    kill the VM and fail after SEC seconds (default 2400, env PF_VM_TIMEOUT)
//   --mem MIB        guest memory (default 3072)         --smp N   guest CPUs (default 2)
//   --cwd DIR        working directory in the guest (default: the repository root)
//   --env NAME[=V]   pass one more environment variable (repeatable)
//   --9p-cache MODE  cache= option of the 9p root mount (default loose)
//   --cpu MODEL      qemu CPU model (default max)
//   --verbose        show the kernel's boot messages and qemu's command line
//   --prepare        only fetch the kernel and build the initramfs
// Environment: PF_VM_TIMEOUT (seconds), PF_VM_BZIMAGE=1 (boot the bzImage, not the extracted ELF).
//
// How it works, and what the guest looks like: scripts/vm/README.md.
import { $, fs, path, os } from 'zx';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { ensureInitramfs, ensureKernel, ensureVmlinux, repoRoot } from './lib.mjs';

$.verbose = false;

const usage = (msg) => {
  console.error(
    `run.mjs: ${msg}\nusage: node scripts/vm/run.mjs [--timeout SEC] [--mem MIB] [--smp N] [--cwd DIR] [--env NAME[=VALUE]] [--9p-cache MODE] [--cpu MODEL] [--verbose] [--prepare] [--] <command...>`,
  );
  process.exit(2);
};

const opts = {
  timeout: Number(process.env.PF_VM_TIMEOUT ?? 2400),
  mem: 3072,
  smp: 2,
  cwd: repoRoot,
  env: [],
  cache: 'loose',
  cpu: 'max',
  verbose: false,
  prepare: false,
};
const argv = process.argv.slice(2);
let command = [];
while (argv.length) {
  const a = argv.shift();
  const val = () => argv.shift() ?? usage(`${a} needs a value`);
  if (a === '--') {
    command = argv.splice(0);
  } else if (a === '--timeout') opts.timeout = Number(val());
  else if (a === '--mem') opts.mem = Number(val());
  else if (a === '--smp') opts.smp = Number(val());
  else if (a === '--cwd') opts.cwd = path.resolve(val());
  else if (a === '--env') opts.env.push(val());
  else if (a === '--9p-cache') opts.cache = val();
  else if (a === '--cpu') opts.cpu = val();
  else if (a === '--verbose') opts.verbose = true;
  else if (a === '--prepare') opts.prepare = true;
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else command = [a, ...argv.splice(0)];
}
if (!(opts.timeout > 0)) usage('--timeout must be a positive number of seconds');
if (!['loose', 'mmap', 'none', 'fscache'].includes(opts.cache))
  usage('--9p-cache must be loose, mmap, none or fscache');
if (!opts.prepare && command.length === 0) usage('no command given');

const t0 = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const note = (msg) => console.error(`# vm: ${msg}`);

const kernel = await ensureKernel({ log: console.error });
const { initramfs, modules } = await ensureInitramfs(kernel, { log: console.error });
const vmlinux = process.env.PF_VM_BZIMAGE ? undefined : await ensureVmlinux(kernel);
if (opts.prepare) {
  note(`ready: ${path.relative(repoRoot, kernel.dir)} (${modules.length} modules in the initramfs)`);
  process.exit(0);
}
const { pin, dir } = kernel;
const tPrepared = Date.now();

// The guest mounts its own empty file systems on these (scripts/vm/init.sh): what the host has
// there is not visible inside. A repository there (a CI clone in /tmp, say) is shared on its own.
const masked = [
  '/tmp',
  '/run',
  '/var/tmp',
  '/var/log',
  '/var/run',
  '/var/lock',
  '/root',
  '/proc',
  '/sys',
  '/dev',
];
const under = (p, d) => p === d || p.startsWith(`${d}/`);
const repoMasked = masked.some((d) => under(repoRoot, d));
if (masked.some((d) => under(opts.cwd, d)) && !(repoMasked && under(opts.cwd, repoRoot))) {
  usage(`--cwd ${opts.cwd}: the guest has its own ${masked.join(', ')}; use a directory elsewhere`);
}
if (/[\s'"\\]/.test(repoRoot))
  usage(`the repository path ${JSON.stringify(repoRoot)} has a space or quote: 9p shares cannot name it`);

// --- the job: a share only this run uses, holding the init's settings and the command ---
const q = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;
const isTty = Boolean(process.stdout.isTTY);
const env = {
  PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  PF_VM: '1',
  PF_VM_KERNEL: pin.release,
};
const passThrough = /^(PF_|PIPEFITTER_)|^(LANG|LC_ALL|TZ|CI|NODE_OPTIONS|NO_COLOR|FORCE_COLOR|DEBUG)$/;
for (const [k, v] of Object.entries(process.env))
  if (passThrough.test(k) && !(k in env) && v !== undefined) env[k] = v;
if (isTty && process.env.TERM) env.TERM = process.env.TERM;
for (const e of opts.env) {
  const i = e.indexOf('=');
  const k = i < 0 ? e : e.slice(0, i);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) usage(`--env ${e}: not a variable name`);
  const v = i < 0 ? process.env[k] : e.slice(i + 1);
  if (v !== undefined) env[k] = v;
}
env.PF_VM = '1';

const nonce = randomBytes(6).toString('hex');
const jobDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pf-vm-'));
const modDir = path.join(dir, 'lib', 'modules', pin.release);
await fs.writeFile(
  path.join(jobDir, 'conf'),
  [
    `PF_9P_CACHE=${q(opts.cache)}`,
    `PF_MODDIR=${q(modDir)}`,
    `PF_TTY=${isTty ? 1 : 0}`,
    `PF_TMP_SIZE=${q(`${Math.max(256, Math.floor(opts.mem / 2))}m`)}`,
    `PF_OVERLAY=${q('etc var/lib')}`,
    `PF_REPO_MOUNT=${repoMasked ? q(repoRoot) : "''"}`,
    '',
  ].join('\n'),
);
await fs.writeFile(
  path.join(jobDir, 'job.sh'),
  [
    `cd ${q(opts.cwd)} || exit 126`,
    ...Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}`),
    `exec ${command.map(q).join(' ')}`,
    '',
  ].join('\n'),
);

const append = [
  'console=ttyS0',
  opts.verbose ? 'loglevel=6' : 'quiet',
  'panic=-1',
  // Under TCG every speculation mitigation is pure cost, and there is nothing to protect.
  'mitigations=off',
  '8250.nr_uarts=1',
  `pf.nonce=${nonce}`,
].join(' ');
// prettier-ignore
const qemuArgs = [
  '-nodefaults', '-no-user-config',
  '-machine', 'pc',
  '-accel', 'tcg,thread=multi',
  '-cpu', opts.cpu,
  '-smp', String(opts.smp),
  '-m', String(opts.mem),
  '-display', 'none',
  '-chardev', 'stdio,id=console,signal=off',
  '-serial', 'chardev:console',
  '-nic', 'none', // no uplink: the guest's only network is what the tests make
  '-no-reboot',
  '-kernel', vmlinux ?? path.join(dir, 'boot', `vmlinuz-${pin.release}`),
  '-initrd', initramfs,
  '-append', append,
  '-device', 'virtio-rng-pci',
  '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
  '-virtfs', `local,path=${jobDir},mount_tag=pfjob,security_model=none`,
  ...(repoMasked ? ['-virtfs', `local,path=${repoRoot},mount_tag=pfrepo,security_model=none,readonly=on,multidevs=remap`] : []),
];
if (opts.verbose) note(`qemu-system-x86_64 ${qemuArgs.map((a) => (/[\s']/.test(a) ? q(a) : a)).join(' ')}`);

// --- boot, stream the console, watch for the markers ---
// stdin is a pipe nobody writes to: qemu leaves the terminal alone and the guest reads nothing.
const qemu = execa('qemu-system-x86_64', qemuArgs, {
  stdin: 'pipe',
  stdout: 'pipe',
  stderr: 'inherit',
  buffer: false,
  reject: false,
});
const tBoot = Date.now();
let tStart;
let tEnd;
let guestStart;
let markerRc;
const stages = []; // [name, guest uptime] from init's "stage" markers
let phase = 'boot'; // boot -> job -> done
let pending = '';
const markerRe = new RegExp(`PF-VM:${nonce}:(start|exit|stage) ?(\\S*) ?(\\S*)`);
const onLine = (line) => {
  const m = markerRe.exec(line);
  if (m?.[1] === 'stage') {
    stages.push([m[2], Number(m[3])]);
    return;
  }
  if (m?.[1] === 'start') {
    phase = 'job';
    tStart = Date.now();
    guestStart = Number(m[2]);
    return;
  }
  if (m?.[1] === 'exit') {
    phase = 'done';
    tEnd = Date.now();
    markerRc = Number(m[2]);
    return;
  }
  // Boot chatter goes to stderr so stdout carries the command's output only; after the exit
  // marker only the power-off message is left.
  if (phase === 'job') process.stdout.write(`${line}\n`);
  else if (phase === 'boot') process.stderr.write(`${line}\n`);
  else if (opts.verbose) process.stderr.write(`${line}\n`);
};
qemu.stdout.setEncoding('utf8'); // a character split across reads stays whole
qemu.stdout.on('data', (chunk) => {
  pending += chunk.replace(/\r+\n/g, '\n');
  let i;
  while ((i = pending.indexOf('\n')) >= 0) {
    onLine(pending.slice(0, i));
    pending = pending.slice(i + 1);
  }
});

let killedFor;
const kill = (why) => {
  killedFor ??= why;
  qemu.kill('SIGTERM');
  setTimeout(() => qemu.kill('SIGKILL'), 5000).unref();
};
const timer = setTimeout(() => kill(`timed out after ${opts.timeout} s`), opts.timeout * 1000);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => kill(`interrupted by ${sig}`));

const result = await qemu;
const [qemuCode, qemuSignal] = [result.exitCode, result.signal];
clearTimeout(timer);
if (pending) onLine(pending);

let rc;
const rcFile = path.join(jobDir, 'rc');
if (await fs.pathExists(rcFile)) rc = Number((await fs.readFile(rcFile, 'utf8')).trim());
rc ??= markerRc;
await fs.remove(jobDir);

const tDone = Date.now();
if (killedFor) {
  note(`VM killed: ${killedFor}`);
  rc = killedFor.startsWith('timed out') ? 124 : 130;
} else if (rc === undefined || Number.isNaN(rc)) {
  note(
    `the VM stopped without reporting an exit code (qemu exit ${qemuCode ?? qemuSignal}, ${phase === 'boot' ? 'during boot' : 'during the command'})`,
  );
  rc = 125;
}
const parts = [`prepare ${secs(tPrepared - t0)}`];
if (tStart) {
  // Guest uptime at each stage of init: kernel until the module loading, then mounts.
  const marks = [...stages, ['start', guestStart]];
  const detail = marks.map(
    (m, i) => `${i ? marks[i - 1][0] : 'kernel'} ${(m[1] - (i ? marks[i - 1][1] : 0)).toFixed(1)}`,
  );
  parts.push(`boot ${secs(tStart - tBoot)} (guest: ${detail.join(', ')})`);
}
if (tStart && tEnd) parts.push(`command ${secs(tEnd - tStart)}`);
parts.push(`total ${secs(tDone - t0)}`);
note(`${parts.join(', ')}; exit ${rc}`);
process.exit(rc);
