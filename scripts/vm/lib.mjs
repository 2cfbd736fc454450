// Kernel cache, module resolver and initramfs builder for the VM test lane (scripts/vm/run.mjs).
import { $, fs, path } from 'zx';
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { bootModules, moduleParams, testModules } from './modules.mjs';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const cacheRoot = path.join(repoRoot, '.cache', 'vm');
const here = import.meta.dirname;

/** The pinned kernel package: scripts/vm/kernel.json is the only place it is named. */
export const readPin = async () => {
  const pin = await fs.readJson(path.join(here, 'kernel.json'));
  for (const k of ['package', 'version', 'release']) {
    if (typeof pin[k] !== 'string' || !/^[A-Za-z0-9.+~:-]+$/.test(pin[k])) {
      throw new Error(
        `scripts/vm/kernel.json: "${k}" must be a package-name-like string, got ${JSON.stringify(pin[k])}`,
      );
    }
  }
  return pin;
};

export const kernelDir = (pin) => path.join(cacheRoot, `${pin.release}_${pin.version}`);

/**
 * Downloads the pinned kernel package with apt, extracts it and runs depmod, into
 * .cache/vm/<release>_<version>/ (boot/vmlinuz-*, lib/modules/<release>/). Skipped when that
 * directory is complete. The extraction happens in a sibling directory renamed into place, so an
 * interrupted run leaves nothing that looks complete.
 */
export const ensureKernel = async ({ log = console.error } = {}) => {
  const pin = await readPin();
  const dir = kernelDir(pin);
  const stamp = path.join(dir, '.complete');
  if (await fs.pathExists(stamp)) return { pin, dir, fetched: false };

  const t0 = Date.now();
  await fs.mkdirp(cacheRoot);
  const tmp = await fs.mkdtemp(path.join(cacheRoot, '.fetch-'));
  try {
    const spec = `${pin.package}=${pin.version}`;
    log(`# vm: fetching ${spec} with apt`);
    const download = () =>
      $({ cwd: tmp, nothrow: true, quiet: true })`apt-get download -q -o APT::Sandbox::User=root ${spec}`;
    let dl = await download();
    if (dl.exitCode !== 0) {
      // A fresh machine may not have package lists yet.
      log('# vm: apt-get download failed; running apt-get update once and retrying');
      await $({ nothrow: true, quiet: true })`apt-get update -q`;
      dl = await download();
    }
    if (dl.exitCode !== 0) {
      const avail = await $({ nothrow: true, quiet: true })`apt-cache madison ${pin.package}`;
      throw new Error(
        `cannot download ${spec}:\n${dl.stderr.trim()}\n` +
          `apt offers for ${pin.package}: ${avail.stdout.trim() || '(nothing)'}\n` +
          "Debian drops superseded kernel ABIs: pick one from `apt-cache search 'linux-image-6.1.*-amd64-unsigned'` " +
          'and update scripts/vm/kernel.json (package, version, release).',
      );
    }
    const deb = (await fs.readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${spec} produced no .deb in ${tmp}`);
    const x = path.join(tmp, 'x');
    await $({ quiet: true })`dpkg-deb -x ${path.join(tmp, deb)} ${x}`;
    const vmlinuz = path.join(x, 'boot', `vmlinuz-${pin.release}`);
    if (!(await fs.pathExists(vmlinuz))) {
      throw new Error(
        `${deb} has no boot/vmlinuz-${pin.release}: does "release" in scripts/vm/kernel.json match the package?`,
      );
    }
    await $({ quiet: true })`depmod -b ${x} ${pin.release}`;
    await fs.remove(path.join(x, 'usr')); // documentation only
    await fs.writeFile(path.join(x, '.complete'), `${spec}\n`);
    await fs.remove(dir);
    await fs.move(x, dir);
    // Older pins and abandoned extractions: hundreds of MB each.
    for (const e of await fs.readdir(cacheRoot)) {
      const p = path.join(cacheRoot, e);
      const stale =
        e.startsWith('.fetch-') && p !== tmp && Date.now() - (await fs.stat(p)).mtimeMs > 3_600_000;
      if (stale || (!e.startsWith('.') && p !== dir && (await fs.pathExists(path.join(p, '.complete'))))) {
        await fs.remove(p);
      }
    }
    log(
      `# vm: kernel ${pin.release} cached in ${path.relative(repoRoot, dir)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  } finally {
    await fs.remove(tmp);
  }
  return { pin, dir, fetched: true };
};

/**
 * The kernel as an uncompressed ELF (boot/vmlinux-<release>), extracted once from the bzImage's
 * xz payload. qemu boots it through its PVH entry point, which skips the in-guest decompressor:
 * under TCG that decompressor alone takes seconds. Returns undefined when it cannot be made
 * (no xz, another compression): run.mjs then boots the bzImage.
 */
export const ensureVmlinux = async ({ dir, pin }) => {
  const out = path.join(dir, 'boot', `vmlinux-${pin.release}`);
  if (await fs.pathExists(out)) return out;
  const b = await fs.readFile(path.join(dir, 'boot', `vmlinuz-${pin.release}`));
  // x86 boot protocol: setup_sects at 0x1f1, payload_offset/length at 0x248/0x24c (from the
  // protected-mode code, which starts after the setup sectors).
  if (b.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const start = ((b[0x1f1] || 4) + 1) * 512 + b.readUInt32LE(0x248);
  const payload = b.subarray(start, start + b.readUInt32LE(0x24c) - 4); // last 4 bytes: the size
  if (!payload.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return undefined;
  const tmp = `${out}.${process.pid}.tmp`;
  const p = await $({ nothrow: true, quiet: true, input: payload })`xz -dc > ${tmp}`.catch(() => undefined);
  const magic = Buffer.alloc(4);
  if (p?.exitCode === 0) {
    const fh = await fs.promises.open(tmp, 'r');
    await fh.read(magic, 0, 4, 0);
    await fh.close();
  }
  if (magic.readUInt32BE(0) !== 0x7f454c46) {
    await fs.remove(tmp);
    return undefined;
  }
  await fs.rename(tmp, out);
  return out;
};

const modName = (s) =>
  path
    .basename(s)
    .replace(/\.ko(\.[a-z]+)?$/, '')
    .replaceAll('-', '_');

/**
 * Resolves module names to .ko paths (relative to lib/modules/<release>) in load order:
 * dependencies from modules.dep and "pre:" soft dependencies from modules.softdep come first.
 * Built-in modules (modules.builtin) are dropped; unknown names are an error.
 */
export const resolveModules = async (modDir, roots) => {
  const byName = new Map(); // name -> { path, deps: [names] }
  for (const line of (await fs.readFile(path.join(modDir, 'modules.dep'), 'utf8')).split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    byName.set(modName(m[1]), { path: m[1], deps: m[2].split(/\s+/).filter(Boolean).map(modName) });
  }
  const builtin = new Set(
    (await fs.readFile(path.join(modDir, 'modules.builtin'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map(modName),
  );
  const softPre = new Map();
  const softFile = path.join(modDir, 'modules.softdep');
  if (await fs.pathExists(softFile)) {
    for (const line of (await fs.readFile(softFile, 'utf8')).split('\n')) {
      // "softdep NAME pre: A B post: C"
      const m = /^softdep\s+(\S+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const pre = /(?:^|\s)pre:\s*(.*?)(?:\s+post:|$)/.exec(m[2]);
      if (pre) softPre.set(modName(m[1]), pre[1].split(/\s+/).filter(Boolean).map(modName));
    }
  }

  // Soft dependencies often name an alias ("crc32c" for crc32c_intel and crc32c_generic).
  const aliases = new Map();
  for (const line of (await fs.readFile(path.join(modDir, 'modules.alias'), 'utf8')).split('\n')) {
    const m = /^alias\s+([^\s*?[]+)\s+(\S+)$/.exec(line);
    if (m) aliases.set(m[1], [...(aliases.get(m[1]) ?? []), modName(m[2])]);
  }

  const order = [];
  const done = new Set();
  const skippedBuiltin = [];
  const missing = [];
  const visit = (name, from, soft) => {
    if (done.has(name)) return;
    done.add(name);
    if (builtin.has(name)) {
      skippedBuiltin.push(name);
      return;
    }
    const mod = byName.get(name);
    if (!mod) {
      // A soft dependency may name an alias or a module this build lacks: not fatal.
      if (!soft) missing.push(from ? `${name} (needed by ${from})` : name);
      return;
    }
    for (const s of softPre.get(name) ?? []) {
      for (const t of byName.has(s) || builtin.has(s) ? [s] : (aliases.get(s) ?? [s])) visit(t, name, true);
    }
    // modules.dep lists every transitive dependency; visiting each keeps their own order.
    for (const d of mod.deps) visit(d, name, false);
    order.push(mod.path);
  };
  for (const r of roots) visit(modName(r), undefined, false);
  if (missing.length) throw new Error(`kernel modules not found in ${modDir}: ${missing.join(', ')}`);
  return { order, builtin: skippedBuiltin };
};

// --- initramfs (cpio "newc", uncompressed: the kernel copies it faster than it inflates it) ---

const pad4 = (n) => (4 - (n % 4)) % 4;

class Cpio {
  chunks = [];
  ino = 1;
  add(name, mode, data = Buffer.alloc(0), { rdevMajor = 0, rdevMinor = 0 } = {}) {
    const nameBuf = Buffer.from(`${name}\0`);
    const fields = [
      this.ino++,
      mode,
      0,
      0,
      mode & 0o040000 ? 2 : 1,
      0,
      data.length,
      0,
      0,
      rdevMajor,
      rdevMinor,
      nameBuf.length,
      0,
    ];
    const header = Buffer.from(
      `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`,
      'ascii',
    );
    this.chunks.push(
      header,
      nameBuf,
      Buffer.alloc(pad4(header.length + nameBuf.length)),
      data,
      Buffer.alloc(pad4(data.length)),
    );
  }
  dir(name) {
    this.add(name, 0o040755);
  }
  file(name, data, exec = false) {
    this.add(name, exec ? 0o100755 : 0o100644, data);
  }
  symlink(name, target) {
    this.add(name, 0o120777, Buffer.from(target));
  }
  chr(name, major, minor) {
    this.add(name, 0o020600, undefined, { rdevMajor: major, rdevMinor: minor });
  }
  finish() {
    this.add('TRAILER!!!', 0);
    const buf = Buffer.concat(this.chunks); // every entry is already 4-byte aligned
    return Buffer.concat([buf, Buffer.alloc((512 - (buf.length % 512)) % 512)]);
  }
}

/** True when the ELF file has no program interpreter, i.e. runs without a dynamic loader. */
const isStaticElf = async (file) => {
  const b = await fs.readFile(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // 64-bit ELF only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  return true;
};

const BUSYBOX = '/bin/busybox';

/**
 * Builds (or reuses) the initramfs for the cached kernel: static busybox and its applet links,
 * /init (scripts/vm/init.sh), the resolved modules with the modules.* index files, and
 * /etc/pf-modules (the load order). Cached next to the kernel under a hash of its inputs.
 */
export const ensureInitramfs = async ({ dir, pin }, { log = console.error } = {}) => {
  const modDir = path.join(dir, 'lib', 'modules', pin.release);
  if (!(await fs.pathExists(BUSYBOX)) || !(await isStaticElf(BUSYBOX))) {
    throw new Error(`${BUSYBOX} is missing or not statically linked: apt-get install busybox-static`);
  }
  const init = await fs.readFile(path.join(here, 'init.sh'));
  const { order, builtin } = await resolveModules(modDir, [...bootModules, ...testModules]);
  const bbStat = await fs.stat(BUSYBOX);
  const key = createHash('sha256')
    .update(init)
    .update(JSON.stringify([order, moduleParams]))
    .update(`${bbStat.size}:${bbStat.mtimeMs}`)
    .update(await fs.readFile(path.join(here, 'lib.mjs')))
    .digest('hex')
    .slice(0, 12);
  const out = path.join(dir, `initramfs-${key}.cpio`);
  if (await fs.pathExists(out)) return { initramfs: out, modules: order, builtin, built: false };

  const t0 = Date.now();
  const c = new Cpio();
  for (const d of [
    'bin',
    'sbin',
    'usr',
    'usr/bin',
    'usr/sbin',
    'etc',
    'proc',
    'sys',
    'dev',
    'tmp',
    'mnt',
    'lib',
    'lib/modules',
    `lib/modules/${pin.release}`,
  ])
    c.dir(d);
  c.chr('dev/console', 5, 1);
  c.chr('dev/null', 1, 3);
  c.file('bin/busybox', await fs.readFile(BUSYBOX), true);
  const applets = (await $({ quiet: true })`${BUSYBOX} --list-full`).stdout.split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'bin/busybox') c.symlink(a, '/bin/busybox');
  c.file('init', init, true);
  const params = (m) => moduleParams[modName(m)] ?? '';
  c.file('etc/pf-modules', Buffer.from(order.map((m) => `${m} ${params(m)}\n`).join('')));
  const madeDirs = new Set();
  for (const m of order) {
    const parts = path.dirname(m).split('/');
    for (let i = 1; i <= parts.length; i++) {
      const d = `lib/modules/${pin.release}/${parts.slice(0, i).join('/')}`;
      if (!madeDirs.has(d)) {
        madeDirs.add(d);
        c.dir(d);
      }
    }
    c.file(`lib/modules/${pin.release}/${m}`, await fs.readFile(path.join(modDir, m)));
  }
  for (const f of await fs.readdir(modDir)) {
    if (f.startsWith('modules.'))
      c.file(`lib/modules/${pin.release}/${f}`, await fs.readFile(path.join(modDir, f)));
  }
  for (const f of await fs.readdir(dir))
    if (/^initramfs-.*\.cpio$/.test(f)) await fs.remove(path.join(dir, f));
  const tmp = `${out}.${process.pid}.tmp`;
  await fs.writeFile(tmp, c.finish());
  await fs.rename(tmp, out);
  const size = (await fs.stat(out)).size;
  log(
    `# vm: initramfs built: ${order.length} modules, ${(size / 1048576).toFixed(1)} MiB (${Date.now() - t0} ms)`,
  );
  return { initramfs: out, modules: order, builtin, built: true };
};
